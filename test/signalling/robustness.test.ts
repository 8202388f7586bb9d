/**
 * Bad input and misbehaving peers: the server keeps serving everyone else and leaks nothing
 * (sessions, timers, sockets).
 */
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { HOSTILE_NAMES } from "../helpers/hostile.ts";
import { startCli } from "../helpers/processes.ts";
import { eventually, startServer, TestPeer } from "../helpers/signalling.ts";

/** Timers alive in this process (the server runs in-process here). */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((name) => name === "Timeout").length;
}

/** A producer and a listening consumer with a session between them: the "everyone else" to keep serving. */
async function liveSession(url: string) {
  // A webrtcsrc-style consumer (no listener role), so it hears only of its own session.
  const consumer = await TestPeer.connect(url);
  consumer.send(`{"type":"setPeerStatus","roles":[],"meta":null,"peerId":"${consumer.id}"}`);
  const producer = await TestPeer.connect(url);
  producer.send(
    `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"p"},"peerId":"${producer.id}"}`,
  );
  consumer.send(`{"type":"startSession","peerId":"${producer.id}"}`);
  const sessionId = JSON.parse(await consumer.next()).sessionId as string;
  await producer.next();
  /** Proves the session still routes, both ways. */
  const stillRoutes = async () => {
    const ice = `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"candidate:1 1 UDP 1 127.0.0.1 9 typ host","sdpMLineIndex":0}}`;
    producer.send(ice);
    expect(await consumer.next()).toBe(ice);
    consumer.send(ice);
    expect(await producer.next()).toBe(ice);
  };
  return { consumer, producer, sessionId, stillRoutes };
}

describe("bad input is dropped without a reply", () => {
  const garbage: Array<[string, string]> = [
    ["non-JSON", "hello"],
    ["truncated JSON", `{"type":"list"`],
    ["a JSON array", `[{"type":"list"}]`],
    ["a JSON string", `"list"`],
    ["no type", `{"peerId":"x"}`],
    ["an unknown type", `{"type":"subscribe"}`],
    ["a non-string type", `{"type":7}`],
    ["setPeerStatus without roles", `{"type":"setPeerStatus","meta":null}`],
    ["an unknown role", `{"type":"setPeerStatus","roles":["admin"]}`],
    ["roles not an array", `{"type":"setPeerStatus","roles":"producer"}`],
    ["startSession without peerId", `{"type":"startSession"}`],
    ["startSession with a numeric peerId", `{"type":"startSession","peerId":5}`],
    ["peer without payload", `{"type":"peer","sessionId":"s"}`],
    ["peer with a pranswer", `{"type":"peer","sessionId":"s","sdp":{"type":"pranswer","sdp":""}}`],
    [
      "ice with a negative mline",
      `{"type":"peer","sessionId":"s","ice":{"candidate":"","sdpMLineIndex":-1}}`,
    ],
    [
      "ice with a fractional mline",
      `{"type":"peer","sessionId":"s","ice":{"candidate":"","sdpMLineIndex":0.5}}`,
    ],
    ["endSession without sessionId", `{"type":"endSession"}`],
    ["an unknown protocol version", `{"type":"setProtocolVersion","version":"v2_0"}`],
    ["a lone surrogate", `{"type":"setPeerStatus","roles":[],"meta":{"name":"\\ud800"}}`],
    [
      "meta nested deeper than serde_json allows",
      `{"type":"setPeerStatus","roles":["producer"],"meta":${"[".repeat(130)}${"]".repeat(130)}}`,
    ],
  ];

  it.each(garbage)("%s", async (_what, text) => {
    const { url, server } = await startServer();
    const { consumer, producer, stillRoutes } = await liveSession(url);
    const offender = await TestPeer.connect(url);
    offender.send(text);
    await offender.nothing();
    await consumer.nothing(0);
    await producer.nothing(0);
    await stillRoutes();
    expect(server.stats.connections).toBe(3);
  });

  it("ignores binary frames", async () => {
    const { url } = await startServer();
    const { stillRoutes } = await liveSession(url);
    const offender = await TestPeer.connect(url);
    offender.socket.send(Buffer.from(`{"type":"list"}`));
    await offender.nothing();
    await stillRoutes();
  });
});

describe("limits", () => {
  it("closes a connection that sends an oversized frame with 1009, and serves the rest", async () => {
    const { url, server } = await startServer({ maxMessageBytes: 64 * 1024 });
    const { stillRoutes } = await liveSession(url);
    const offender = await TestPeer.connect(url);
    offender.send(`{"type":"list","pad":"${"x".repeat(70 * 1024)}"}`);
    expect((await offender.closedBy()).code).toBe(1009);
    await eventually(() => server.stats.connections === 2, "offender removed");
    await stillRoutes();
  });

  it("accepts a message just under the limit", async () => {
    const { url } = await startServer({ maxMessageBytes: 64 * 1024 });
    const peer = await TestPeer.connect(url);
    peer.send(`{"type":"list","pad":"${"x".repeat(60 * 1024)}"}`);
    expect(await peer.next()).toBe(`{"type":"list","producers":[]}`);
  });

  it("refuses peers beyond --max-peers with HTTP 503 and accepts again once one leaves", async () => {
    const { url, server } = await startServer({ maxPeers: 2 });
    const first = await TestPeer.connect(url);
    await TestPeer.connect(url);
    await expect(TestPeer.connect(url)).rejects.toThrow(/503/);
    first.close();
    await eventually(() => server.stats.connections === 1, "the first peer gone");
    await TestPeer.connect(url);
  });

  it("relays a 2,000-message burst completely and in order", async () => {
    const { url } = await startServer();
    const { consumer, producer, sessionId } = await liveSession(url);
    const sent: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const text = `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"candidate:${i} 1 UDP 1 127.0.0.1 ${i} typ host","sdpMLineIndex":0}}`;
      sent.push(text);
      producer.send(text);
    }
    const received: string[] = [];
    for (let i = 0; i < 2000; i++) received.push(await consumer.next());
    expect(received).toEqual(sent);
  });
});

describe("hostile names (test/helpers/hostile.ts)", () => {
  /**
   * What the server does not keep: a meta over --max-meta-bytes (an error reply), and a lone surrogate,
   * which serde_json cannot hold (the message is dropped without a reply, as every unparseable one).
   */
  const REFUSED: Record<string, string | null> = {
    "200 kB": `{"type":"error","details":"meta is too large: 200011 bytes, the limit is 4096 (--max-meta-bytes)"}`,
    "a lone surrogate": null,
  };

  it("are listed byte-exact as registered (or refused), and the server keeps serving", async () => {
    const { url, server } = await startServer();
    const { producer, stillRoutes } = await liveSession(url);
    const expected = [`{"id":"${producer.id}","meta":{"name":"p"}}`];
    for (const [what, name] of HOSTILE_NAMES) {
      const peer = await TestPeer.connect(url);
      peer.send(`{"type":"setPeerStatus","roles":["producer"],"meta":{"name":${JSON.stringify(name)}}}`);
      // One connection's messages are handled in order: the list reply comes after the registration.
      peer.send(`{"type":"list"}`);
      const refusal = REFUSED[what];
      if (refusal !== undefined) {
        if (refusal !== null) expect(await peer.next(), what).toBe(refusal);
        expect(await peer.next(), what).not.toContain(peer.id);
        continue;
      }
      // serde_json escapes a string exactly as JSON.stringify does (quotes, backslashes, controls as
      // \n or \u00XX, everything else as is), so this is the byte-exact entry.
      const entry = `{"id":"${peer.id}","meta":{"name":${JSON.stringify(name)}}}`;
      expect(await peer.next(), what).toContain(entry);
      expected.push(entry);
    }
    const viewer = await TestPeer.connect(url);
    viewer.send(`{"type":"list"}`);
    const list = await viewer.next();
    for (const entry of expected) expect(list).toContain(entry);
    expect(JSON.parse(list).producers).toHaveLength(expected.length);
    expect(expected).toHaveLength(HOSTILE_NAMES.length + 1 - Object.keys(REFUSED).length);
    await stillRoutes();
    expect(server.stats.peers).toBe(HOSTILE_NAMES.length + 3);
  });
});

describe("misbehaving peers", () => {
  it("disconnects a peer that stops reading, without holding up anyone else", async () => {
    const { url, server } = await startServer({ sendBufferLimit: 256 * 1024 });
    const { producer, stillRoutes } = await liveSession(url);
    // A second consumer of the same producer that never reads its socket.
    const stalled = await TestPeer.connect(url);
    stalled.send(`{"type":"startSession","peerId":"${producer.id}"}`);
    const stalledSession = JSON.parse(await stalled.next()).sessionId as string;
    await producer.next();
    stalled.socket.pause();
    const sdp = "a".repeat(256 * 1024);
    for (let i = 0; i < 100; i++) {
      producer.send(`{"type":"peer","sessionId":"${stalledSession}","sdp":{"type":"offer","sdp":"${sdp}"}}`);
    }
    await eventually(() => server.stats.connections === 3, "the stalled peer is disconnected", 10_000);
    // Its session ended at the producer like any disconnect…
    expect(await producer.next()).toBe(`{"type":"endSession","sessionId":"${stalledSession}"}`);
    // …and the other session never stopped routing.
    await stillRoutes();
    expect(server.stats.sessions).toBe(1);
  });

  it("removes a half-open peer that answers no ping", async () => {
    const { url, server } = await startServer({ pingIntervalMs: 200, pongTimeoutMs: 200 });
    const { stillRoutes } = await liveSession(url);
    // ws answers pings automatically; a half-open peer does not.
    await TestPeer.connect(url, { autoPong: false });
    // How fast: `npm run bench:recovery` (ghost).
    await eventually(() => server.stats.connections === 2, "the ghost is removed", 10_000);
    // Peers that answer stay, over three more ping periods (a window in which nothing may happen).
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(server.stats.connections).toBe(2);
    await stillRoutes();
  });

  it("survives abrupt disconnects mid-session and leaks no session, socket or timer", async () => {
    const timersBefore = activeTimers();
    const { url, server } = await startServer({ pingIntervalMs: 60_000 });
    for (let round = 0; round < 20; round++) {
      const { consumer, producer } = await liveSession(url);
      (round % 2 === 0 ? producer : consumer).socket.terminate();
      (round % 2 === 0 ? consumer : producer).close();
    }
    await eventually(() => server.stats.connections === 0, "all connections gone");
    expect(server.stats).toEqual({ peers: 0, sessions: 0, connections: 0 });
    await eventually(() => activeTimers() <= timersBefore, "timers released");
  });
});

describe("accept errors", () => {
  it("keeps serving after running out of file descriptors (the Rust server exits)", async () => {
    // A server with a tiny descriptor limit: the first connections beyond it fail to be accepted.
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = startCli(["signalling", "--host", "127.0.0.1", "--port", String(port)], {});
    await server.waitFor(/listening on/);
    // prlimit lowers the limit of the running server.
    const { execFileSync } = await import("node:child_process");
    const open = Number(execFileSync("sh", ["-c", `ls /proc/${server.process.pid}/fd | wc -l`]).toString());
    const pid = `--pid=${server.process.pid}`;
    const softLimit = execFileSync("prlimit", [pid, "--nofile", "--raw", "--noheadings", "--output=SOFT"])
      .toString()
      .trim();
    execFileSync("prlimit", [pid, `--nofile=${open + 4}:`]);
    const sockets: WebSocket[] = [];
    const opened = await Promise.all(
      Array.from({ length: 12 }, () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`, { handshakeTimeout: 1500 });
        sockets.push(ws);
        return new Promise<boolean>((resolve) => {
          ws.on("open", () => resolve(true));
          ws.on("error", () => resolve(false));
        });
      }),
    );
    // Some connections could not be accepted: the server really ran out of descriptors.
    expect(opened.filter(Boolean).length).toBeLessThan(12);
    for (const ws of sockets) ws.terminate();
    execFileSync("prlimit", [pid, `--nofile=${softLimit}:`]);
    // The server accepts again as soon as descriptors are free: retry until it does.
    let peer: TestPeer | undefined;
    for (let attempt = 0; !peer; attempt++) {
      peer = await TestPeer.connect(`ws://127.0.0.1:${port}`).catch((error: Error) => {
        if (attempt >= 50) throw error;
        return undefined;
      });
      if (!peer) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    peer.send(`{"type":"list"}`);
    expect(await peer.next()).toBe(`{"type":"list","producers":[]}`);
    server.signal("SIGTERM");
    expect(await server.exited()).toBe(0);
  });
});
