/**
 * Attack: disconnect every browser at will. 1,500 tiny `setPeerStatus` frames in one write were each
 * broadcast to every listener, whose send queue (counted in messages per event-loop turn) overflowed, so
 * every listener was dropped; each also wrote an info line. Now status broadcasts are rate-limited per
 * peer, a listener's backlog is measured in bytes, and status changes log at debug.
 */
import { describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { SignallingConnection } from "../../src/signalling/SignallingConnection.ts";
import { onCleanup } from "../helpers/cleanup.ts";
import { capturedLogger } from "../helpers/logs.ts";
import { startServer, TestPeer } from "../helpers/signalling.ts";

/** A client-to-server text frame (RFC 6455 §5.2), masked with a zero key. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const length =
    payload.length < 126
      ? Buffer.from([0x80 | payload.length])
      : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([Buffer.from([0x81]), length, Buffer.alloc(4), payload]);
}

async function listeners(url: string, count: number): Promise<TestPeer[]> {
  const peers: TestPeer[] = [];
  for (let i = 0; i < count; i++) {
    const peer = await TestPeer.connect(url);
    peer.send(`{"type":"setPeerStatus","roles":["listener"],"meta":{"name":"l${i}"}}`);
    await peer.next();
    peers.push(peer);
  }
  return peers;
}

/** Reads whatever arrives within `ms`. */
async function drain(peer: TestPeer, ms = 500): Promise<string[]> {
  const got: string[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return got;
    try {
      got.push(await peer.next(left));
    } catch {
      return got;
    }
  }
}

describe("a status flood", () => {
  it("1,500 setPeerStatus frames in one write disconnect no listener and are broadcast at a bounded rate", async () => {
    const { logger, lines } = capturedLogger();
    const { url, server } = await startServer({ logger });
    const watching = await listeners(url, 3);
    const attacker = await TestPeer.connect(url);
    const frames = Array.from(
      { length: 1500 },
      (_, i) => `{"type":"setPeerStatus","roles":["producer"],"meta":{"n":${i}}}`,
    );
    // One WebSocket frame each, all in one socket write.
    const raw = Buffer.concat(frames.map(maskedTextFrame));
    (attacker.socket as unknown as { _socket: { write(bytes: Buffer): void } })._socket.write(raw);
    const received = await drain(watching[0] as TestPeer, 1000);
    for (const listener of watching) {
      listener.send(`{"type":"list"}`);
    }
    // Every listener is still connected and answered.
    for (const listener of watching) {
      const reply = (await drain(listener, 500)).find((text) => text.startsWith(`{"type":"list"`));
      expect(reply).toBeDefined();
    }
    expect(server.stats.connections).toBe(4);
    // The broadcasts of one peer's status changes are bounded (20 per 10 s by default).
    const fromAttacker = received.filter((text) => text.includes(attacker.id));
    expect(fromAttacker.length).toBeGreaterThan(0);
    expect(fromAttacker.length).toBeLessThanOrEqual(20);
    // The flood leaves a handful of log lines above debug, not one per frame.
    const loud = lines.filter((line) => line.level !== "debug");
    expect(loud.length).toBeLessThan(20);
    expect(lines.some((line) => /status changes/.test(line.msg))).toBe(true);
  });
});

describe("a listener's backlog", () => {
  it("is measured in bytes: 5,000 small frames queued in one turn do not drop a reader", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    onCleanup(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    const port = (wss.address() as { port: number }).port;
    const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    client.on("error", () => {});
    onCleanup(() => client.terminate());
    let count = 0;
    client.on("message", () => count++);
    const socket = await accepted;
    const connection = new SignallingConnection("p", socket, "127.0.0.1:1", {
      sendBufferLimit: 16 * 1024 * 1024,
      pingIntervalMs: 60_000,
      pongTimeoutMs: 60_000,
    });
    onCleanup(() => connection.close());
    for (let i = 0; i < 5000; i++) connection.send(`{"type":"peerStatusChanged","n":${i}}`);
    expect(connection.closed).toBe(false);
    const deadline = Date.now() + 5000;
    while (count < 5000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(count).toBe(5000);
  });

  it("still drops a reader whose unsent bytes exceed the limit", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    onCleanup(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    const port = (wss.address() as { port: number }).port;
    const accepted = new Promise<WebSocket>((resolve) => wss.once("connection", resolve));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    client.on("error", () => {});
    onCleanup(() => client.terminate());
    const socket = await accepted;
    client.pause();
    const connection = new SignallingConnection("p", socket, "127.0.0.1:1", {
      sendBufferLimit: 1024 * 1024,
      pingIntervalMs: 60_000,
      pongTimeoutMs: 60_000,
    });
    onCleanup(() => connection.close());
    const big = "x".repeat(64 * 1024);
    for (let i = 0; i < 200 && !connection.closed; i++) connection.send(big);
    expect(connection.closed).toBe(true);
  });
});
