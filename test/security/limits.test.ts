/**
 * Attack: make the server (and the device behind it) allocate without bound — dozens of never-answered
 * sessions on one connection, many sending sessions, 1 MiB metas amplified into every `list` reply,
 * hundreds of connections from one address. Every limit has a flag, a default, a log line and a test.
 */
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { capturedLogger, jsonLogLines } from "../helpers/logs.ts";
import { httpsRequest } from "../helpers/secure-server.ts";
import { serveTestDevice } from "../helpers/serve.ts";
import { eventually, startServer, startSignallingCli, TestPeer } from "../helpers/signalling.ts";

async function producer(url: string, name = "cam"): Promise<TestPeer> {
  const peer = await TestPeer.connect(url);
  peer.send(`{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"${name}"},"peerId":"${peer.id}"}`);
  return peer;
}

async function consumer(url: string, name = "dev"): Promise<TestPeer> {
  const peer = await TestPeer.connect(url);
  peer.send(`{"type":"setPeerStatus","roles":["consumer"],"meta":{"name":"${name}"},"peerId":"${peer.id}"}`);
  return peer;
}

/** Starts `count` sessions from `from` to `to`; returns the replies `from` got. */
async function startSessions(from: TestPeer, to: TestPeer, count: number): Promise<string[]> {
  const replies: string[] = [];
  for (let i = 0; i < count; i++) {
    from.send(`{"type":"startSession","peerId":"${to.id}"}`);
    replies.push(await from.next());
  }
  return replies;
}

describe("sessions a peer may have open", () => {
  it("refuses the 17th never-answered viewer session on one connection (--max-sessions-per-peer)", async () => {
    const { logger, lines } = capturedLogger();
    const { url, server } = await startServer({ logger });
    const cam = await producer(url);
    const viewer = await TestPeer.connect(url);
    const replies = await startSessions(viewer, cam, 20);
    expect(replies.filter((text) => text.startsWith(`{"type":"sessionStarted"`))).toHaveLength(16);
    expect(replies[16]).toBe(
      `{"type":"error","details":"Too many sessions: 16 open, the limit is 16 (--max-sessions-per-peer)"}`,
    );
    expect(server.stats.sessions).toBe(16);
    expect(lines.some((line) => /--max-sessions-per-peer/.test(line.msg))).toBe(true);
    // Ending one makes room for one.
    const sessionId = JSON.parse(replies[0] as string).sessionId as string;
    viewer.send(`{"type":"endSession","sessionId":"${sessionId}"}`);
    await eventually(() => server.stats.sessions === 15, "the ended session gone");
    const again = await startSessions(viewer, cam, 1);
    expect(again[0]).toMatch(/^\{"type":"sessionStarted"/);
  });

  it("refuses a third sending session to a passive consumer on one connection (--max-sending-per-peer)", async () => {
    const { url, server } = await startServer();
    const device = await consumer(url);
    const talker = await TestPeer.connect(url);
    const replies = await startSessions(talker, device, 3);
    expect(replies.slice(0, 2).every((text) => text.startsWith(`{"type":"startSession"`))).toBe(true);
    expect(replies[2]).toMatch(/the limit is 2 \(--max-sending-per-peer\)/);
    expect(server.stats.sessions).toBe(2);
  });

  it("counts every connection of one credential together (--max-sessions-per-credential)", async () => {
    // A credential per connection from a test header, as the real authentication sets it.
    const authenticate = (request: IncomingMessage) => ({
      ok: true as const,
      identity: { credentialId: String(request.headers["x-credential"]), role: "admin" as const },
    });
    const { url } = await startServer({ authenticate, limits: { sessionsPerCredential: 5 } });
    const cam = await producer(url);
    const first = await TestPeer.connect(url, { headers: { "x-credential": "token-1" } });
    const second = await TestPeer.connect(url, { headers: { "x-credential": "token-1" } });
    const other = await TestPeer.connect(url, { headers: { "x-credential": "token-2" } });
    await startSessions(first, cam, 3);
    const replies = await startSessions(second, cam, 3);
    expect(replies[2]).toMatch(/the limit is 5 \(--max-sessions-per-credential\)/);
    expect((await startSessions(other, cam, 1))[0]).toMatch(/^\{"type":"sessionStarted"/);
  });
});

describe("meta size", () => {
  it("refuses a 1 MiB meta (--max-meta-bytes, 4 KiB): it never reaches a list reply", async () => {
    const { url } = await startServer({ maxMessageBytes: 2 * 1024 * 1024 });
    const attacker = await TestPeer.connect(url);
    attacker.send(
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"${"x".repeat(1024 * 1024)}"}}`,
    );
    expect(await attacker.next()).toMatch(
      /^\{"type":"error","details":"meta is too large: \d+ bytes, the limit is 4096 \(--max-meta-bytes\)"\}$/,
    );
    const viewer = await TestPeer.connect(url);
    viewer.send(`{"type":"list"}`);
    expect(await viewer.next()).toBe(`{"type":"list","producers":[]}`);
  });

  it("accepts a meta at the limit", async () => {
    const { url } = await startServer();
    const peer = await TestPeer.connect(url);
    const name = "y".repeat(4096 - `{"name":""}`.length);
    peer.send(`{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"${name}"}}`);
    const viewer = await TestPeer.connect(url);
    viewer.send(`{"type":"list"}`);
    expect(await viewer.next()).toContain(name);
  });
});

describe("connections per address", () => {
  it("refuses connections beyond --max-connections-per-address with 429", async () => {
    const { url, server } = await startServer({ maxConnectionsPerAddress: 5 });
    const peers = [];
    for (let i = 0; i < 5; i++) peers.push(await TestPeer.connect(url));
    await expect(TestPeer.connect(url)).rejects.toThrow(/429/);
    peers[0]?.close();
    await eventually(() => server.stats.connections === 4, "the closed connection gone");
    await TestPeer.connect(url);
  });

  it("refuses connections beyond --max-connections-per-credential with 429", async () => {
    const authenticate = () => ({
      ok: true as const,
      identity: { credentialId: "t", role: "view" as const },
    });
    const { url } = await startServer({ authenticate, maxConnectionsPerCredential: 3 });
    for (let i = 0; i < 3; i++) await TestPeer.connect(url);
    await expect(TestPeer.connect(url)).rejects.toThrow(/429/);
  });
});

describe("a peer that stops reading", () => {
  it("is disconnected once --max-send-backlog-bytes wait for it, with a warning; the others go on", async () => {
    const { child: server, url } = await startSignallingCli(["--max-send-backlog-bytes", String(256 * 1024)]);
    const cam = await producer(url);
    const reader = await TestPeer.connect(url);
    reader.send(`{"type":"startSession","peerId":"${cam.id}"}`);
    const readerSession = JSON.parse(await reader.next()).sessionId as string;
    await cam.next();
    const stalled = await TestPeer.connect(url);
    stalled.send(`{"type":"startSession","peerId":"${cam.id}"}`);
    const stalledSession = JSON.parse(await stalled.next()).sessionId as string;
    await cam.next();
    // It stops reading; 25 MiB of offers are sent to it (loopback's socket buffers take a few MiB).
    stalled.socket.pause();
    const sdp = "a".repeat(256 * 1024);
    for (let i = 0; i < 100; i++) {
      cam.send(`{"type":"peer","sessionId":"${stalledSession}","sdp":{"type":"offer","sdp":"${sdp}"}}`);
    }
    expect(await cam.next(10_000)).toBe(`{"type":"endSession","sessionId":"${stalledSession}"}`);
    await server.waitFor(/--max-send-backlog-bytes\); disconnected/);
    expect(jsonLogLines(server.output())).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: "a peer stopped reading: more than 262144 bytes waited for it (--max-send-backlog-bytes); disconnected",
        peerId: stalled.id,
      }),
    );
    // The reading peer's session still routes.
    const ice = `{"type":"peer","sessionId":"${readerSession}","ice":{"candidate":"candidate:1 1 UDP 1 127.0.0.1 9 typ host","sdpMLineIndex":0}}`;
    cam.send(ice);
    expect(await reader.next()).toBe(ice);
  });
});

describe("failed logins", () => {
  it("refuses an address with 429 after --max-failed-logins wrong passwords in a minute, with a warning", async () => {
    const { child, ca, origin } = await serveTestDevice(["--max-failed-logins", "3"], { local: true });
    const password = child.output().match(/Owner password [^:]*: (\S+)/)?.[1];
    expect(password).toBeDefined();
    const login = async (attempt: string) =>
      (
        await httpsRequest(`${origin}/auth/login`, ca, {
          method: "POST",
          headers: { origin, "content-type": "application/json" },
          body: JSON.stringify({ password: attempt }),
        })
      ).status;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await login(`guess ${i}`));
    expect(statuses).toEqual([401, 401, 401, 429]);
    // Even the right password waits now.
    expect(await login(password as string)).toBe(429);
    await child.waitFor(/--max-failed-logins 3 a minute/);
    expect(jsonLogLines(child.output())).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: "too many failed pairing or login attempts from one address (--max-failed-logins 3 a minute); refused with 429",
        remote: "127.0.0.1",
      }),
    );
  });
});
