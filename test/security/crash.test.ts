/**
 * Attack: one frame kills the process. `{"type":"list","x":` + 20,000 `[` + `"\ud800"` + 20,000 `]` + `}`
 * overflowed the stack in the lone-surrogate check, outside any `try`, before any registration — the
 * standalone server, `serve` and everything they carried died. Parsing is now depth-limited and
 * iterative before any walk, and a throw while handling one message drops that message, never the process.
 */
import { describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { createLogger } from "../../src/common/logger.ts";
import { SignallingClient } from "../../src/device/SignallingClient.ts";
import { parseClientMessage, parseServerMessage } from "../../src/protocol/index.ts";
import { onCleanup } from "../helpers/cleanup.ts";
import { startCli } from "../helpers/processes.ts";
import { eventually, startServer, TestPeer } from "../helpers/signalling.ts";

const SURROGATE = "\\ud800";

/** The frame of the report: a deep array holding a lone surrogate, in an ignored field of `list`. */
function deepFrame(depth: number, leaf = `"${SURROGATE}"`, type = "list"): string {
  return `{"type":"${type}","x":${"[".repeat(depth)}${leaf}${"]".repeat(depth)}}`;
}

describe("deep nesting × surrogate escapes (fuzz)", () => {
  const depths = [1, 2, 126, 127, 128, 129, 1000, 20_000, 200_000];
  const leaves = [
    `"${SURROGATE}"`,
    `"\\udfff"`,
    `"\\ud83d\\ude00"`,
    `"ok"`,
    "1",
    "null",
    `{"${SURROGATE}":1}`,
  ];
  const nests = [
    (d: number, leaf: string) => `${"[".repeat(d)}${leaf}${"]".repeat(d)}`,
    (d: number, leaf: string) => `${`{"a":`.repeat(d)}${leaf}${"}".repeat(d)}`,
    (d: number, leaf: string) => `${`[{"${SURROGATE}":`.repeat(d)}${leaf}${"}]".repeat(d)}`,
  ];
  const templates = [
    (value: string) => `{"type":"list","x":${value}}`,
    (value: string) => `{"type":"setPeerStatus","roles":["producer"],"meta":${value}}`,
    (value: string) => `{"type":"peer","sessionId":"s","sdp":{"type":"offer","sdp":"v=0","x":${value}}}`,
    (value: string) => `{"type":"peerStatusChanged","roles":[],"peerId":"p","meta":${value}}`,
    (value: string) => `{"type":"list","producers":[{"id":"p","meta":${value}}]}`,
  ];

  it("parses every combination without throwing, and accepts only what serde_json would", () => {
    let cases = 0;
    for (const depth of depths)
      for (const leaf of leaves)
        for (const nest of nests)
          for (const template of templates) {
            const text = template(nest(depth, leaf));
            const client = parseClientMessage(text);
            const server = parseServerMessage(text);
            cases++;
            // serde_json: at most 127 levels in the whole document (the message object is one).
            const tooDeep = depth >= 200;
            const lone = leaf.includes(SURROGATE) || leaf.includes("udfff") || nest === nests[2];
            if (tooDeep || lone) {
              expect(client.ok, text.slice(0, 80)).toBe(false);
              expect(server.ok, text.slice(0, 80)).toBe(false);
            }
          }
    expect(cases).toBe(depths.length * leaves.length * nests.length * templates.length);
  });

  it("rejects the reported frame with a reason naming the depth", () => {
    const result = parseClientMessage(deepFrame(20_000));
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/nested deeper than 127/) });
  });

  it("still accepts a lone-surrogate-free message at serde_json's depth limit", () => {
    // 1 (message) + 1 (meta object) + 125 arrays = 127 levels: serde_json accepts it.
    const meta = `{"a":${"[".repeat(125)}${"]".repeat(125)}}`;
    const result = parseClientMessage(`{"type":"setPeerStatus","roles":[],"meta":${meta}}`);
    expect(result.ok).toBe(true);
  });
});

describe("mutated messages (fuzz)", () => {
  const corpus = [
    `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"gst-stream","n":[1,2.5,-0,1e400]},"peerId":"p"}`,
    `{"type":"startSession","peerId":"6a4b7c1e-2f3d-4e5a-9b8c-7d6e5f4a3b2c","offer":"v=0\r\n"}`,
    `{"type":"peer","sessionId":"s","ice":{"candidate":"candidate:1 1 UDP 1 127.0.0.1 9 typ host","sdpMLineIndex":0}}`,
    `{"type":"list","producers":[{"id":"p","meta":{"name":"\ud83d\ude00"}}]}`,
    `{"type":"endSessionV1_1","sessionId":"s","error":null}`,
  ];
  /** A deterministic generator, so a failure can be replayed. */
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state / 0x7fffffff;
    };
  }
  const pieces = [
    "[",
    "]",
    "{",
    "}",
    '"',
    "\\",
    "\\ud800",
    "\\u0000",
    ",",
    ":",
    "null",
    "1e999",
    "-",
    "\u202e",
  ];

  it("10,000 mutations (insert, delete, repeat, truncate) never throw in either parser", () => {
    const next = random(8);
    for (let i = 0; i < 10_000; i++) {
      let text = corpus[i % corpus.length] as string;
      for (let m = 0; m < 1 + Math.floor(next() * 4); m++) {
        const at = Math.floor(next() * text.length);
        const op = Math.floor(next() * 4);
        const piece = pieces[Math.floor(next() * pieces.length)] as string;
        if (op === 0) text = text.slice(0, at) + piece + text.slice(at);
        else if (op === 1) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 5));
        else if (op === 2)
          text = text.slice(0, at) + piece.repeat(1 + Math.floor(next() * 300)) + text.slice(at);
        else text = text.slice(0, at);
      }
      expect(() => parseClientMessage(text)).not.toThrow();
      expect(() => parseServerMessage(text)).not.toThrow();
    }
  });
});

describe("the reported frame against running servers", () => {
  it("an in-process server drops it and keeps serving", async () => {
    const { url, server } = await startServer();
    const listener = await TestPeer.connect(url);
    listener.send(`{"type":"setPeerStatus","roles":["listener"],"meta":null}`);
    await listener.next();
    const attacker = await TestPeer.connect(url);
    attacker.send(deepFrame(20_000));
    attacker.send(deepFrame(200_000, `{"${SURROGATE}":1}`, "setPeerStatus"));
    await attacker.nothing();
    listener.send(`{"type":"list"}`);
    expect(await listener.next()).toBe(`{"type":"list","producers":[]}`);
    expect(server.stats.connections).toBe(2);
  });

  it("`device-rtc signalling` survives it", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = startCli(["signalling", "--host", "127.0.0.1", "--port", String(port)]);
    await server.waitFor(/listening on/);
    const attacker = await TestPeer.connect(`ws://127.0.0.1:${port}`);
    attacker.send(deepFrame(20_000));
    await server.waitFor(/dropped an unparseable message/);
    const peer = await TestPeer.connect(`ws://127.0.0.1:${port}`);
    peer.send(`{"type":"list"}`);
    expect(await peer.next()).toBe(`{"type":"list","producers":[]}`);
    server.signal("SIGTERM");
    expect(await server.exited()).toBe(0);
  });
});

describe("the device's signalling client against a hostile server", () => {
  it("drops a deep frame and a message whose handler throws, and keeps its connection", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    onCleanup(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    const port = (wss.address() as { port: number }).port;
    const peerId = "6a4b7c1e-2f3d-4e5a-9b8c-7d6e5f4a3b2c";
    wss.on("connection", (socket) => {
      socket.send(`{"type":"welcome","peerId":"${peerId}"}`);
      socket.send(deepFrame(20_000, `"${SURROGATE}"`, "error"));
      socket.send(`{"type":"error","details":"boom"}`);
      socket.send(`{"type":"error","details":"after"}`);
    });
    const client = new SignallingClient({
      url: `ws://127.0.0.1:${port}`,
      logger: createLogger("test", { level: "silent" }),
    });
    onCleanup(() => client.close());
    const seen: string[] = [];
    client.on("message", (message) => {
      if (message.type !== "error") return;
      seen.push(message.details);
      if (message.details === "boom") throw new Error("a handler bug");
    });
    client.connect();
    await eventually(() => seen.includes("after"), "the message after the throwing one");
    expect(seen).toEqual(["boom", "after"]);
    expect(client.connected).toBe(true);
  });
});
