/**
 * Authentication and roles of `serve` (in-process, without the device's media: see
 * test/helpers/secure-server.ts). Attacks: use the device with no credential; drive the signalling from
 * another web site (no Origin check); a viewer sending media; a revoked or expired token still working.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { startSecureServer, upgradeStatus } from "../helpers/secure-server.ts";

describe("the WebSocket upgrade", () => {
  it("is refused without a credential (401)", async () => {
    const server = await startSecureServer();
    expect(await upgradeStatus(server.wsUrl, server.ca)).toBe(401);
    expect(await upgradeStatus(server.wsUrl, server.ca, { authorization: "Bearer drtc_nope" })).toBe(401);
    expect(await upgradeStatus(server.wsUrl, server.ca, { authorization: "Basic eDp5" })).toBe(401);
    expect(await upgradeStatus(server.wsUrl, server.ca, { cookie: "__Host-device-rtc=drtcs_nope" })).toBe(
      401,
    );
    expect(server.lines.some((line) => line.msg === "refused a connection" && line.status === 401)).toBe(
      true,
    );
  });

  it("is refused from another web site even with the user's cookie (403): no cross-site WebSocket hijacking", async () => {
    const server = await startSecureServer();
    const cookie = server.cookie("admin");
    expect(await upgradeStatus(server.wsUrl, server.ca, { cookie, origin: "https://evil.example" })).toBe(
      403,
    );
    expect(await upgradeStatus(server.wsUrl, server.ca, { cookie, origin: "null" })).toBe(403);
    // The same cookie from the page's own origin is let in.
    expect(await upgradeStatus(server.wsUrl, server.ca, { cookie, origin: server.origin })).toBe(101);
  });

  it("lets a GStreamer client in with a bearer token and no Origin, and refuses a bearer with a foreign Origin", async () => {
    const server = await startSecureServer();
    const { secret } = server.token("view");
    expect(await upgradeStatus(server.wsUrl, server.ca, { authorization: `Bearer ${secret}` })).toBe(101);
    expect(
      await upgradeStatus(server.wsUrl, server.ca, {
        authorization: `Bearer ${secret}`,
        origin: "https://evil.example",
      }),
    ).toBe(403);
  });

  it("refuses an expired token, a pairing code used as a token, and a session id used as a token", async () => {
    const server = await startSecureServer();
    const expired = server.token("admin", 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await upgradeStatus(server.wsUrl, server.ca, { authorization: `Bearer ${expired.secret}` })).toBe(
      401,
    );
    const pairing = server.store.create({ kind: "pairing", role: "admin", expiresInMs: 60_000 });
    expect(await upgradeStatus(server.wsUrl, server.ca, { authorization: `Bearer ${pairing.secret}` })).toBe(
      401,
    );
  });

  it("a revoked token's live connection ends at once, and it cannot connect again", async () => {
    const server = await startSecureServer();
    const { id, secret } = server.token("talk");
    const peer = await server.connect({ authorization: `Bearer ${secret}` });
    server.store.revoke(id);
    expect((await peer.closedBy(3000)).code).toBe(1008);
    expect(await upgradeStatus(server.wsUrl, server.ca, { authorization: `Bearer ${secret}` })).toBe(401);
  });
});

describe("credentials at rest", () => {
  it("stores only SHA-256 hashes of tokens and an scrypt hash of the password, in a 0600 file in a 0700 dir", async () => {
    const server = await startSecureServer();
    const { secret } = server.token("admin");
    server.store.setPassword("correct horse battery");
    const text = readFileSync(server.store.file, "utf8");
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(5, 30));
    expect(text).not.toContain("correct horse");
    const { createHash } = await import("node:crypto");
    expect(text).toContain(createHash("sha256").update(secret).digest("hex"));
    const { statSync } = await import("node:fs");
    const { dirname } = await import("node:path");
    expect(statSync(server.store.file).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(server.store.file)).mode & 0o777).toBe(0o700);
  });
});

describe("pairing and login", () => {
  const post = (body: unknown, origin?: string) => ({
    method: "POST",
    headers: { "content-type": "application/json", ...(origin ? { origin } : {}) },
    body: JSON.stringify(body),
  });

  it("a pairing code logs one browser in with an HttpOnly, Secure, SameSite=Strict cookie, once", async () => {
    const server = await startSecureServer();
    const { secret } = server.store.create({ kind: "pairing", role: "admin", expiresInMs: 60_000 });
    const first = await server.request("/auth/pair", post({ code: secret }, server.origin));
    expect(first.status).toBe(204);
    const setCookie = String(first.headers["set-cookie"]);
    expect(setCookie).toMatch(/^__Host-device-rtc=drtcs_[A-Za-z0-9_-]{43};/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    const cookie = setCookie.split(";")[0] as string;
    // The cookie opens the signalling and the configuration.
    expect(await upgradeStatus(server.wsUrl, server.ca, { cookie, origin: server.origin })).toBe(101);
    const config = await server.request("/config.json", { headers: { cookie } });
    expect(JSON.parse(config.body)).toMatchObject({ deviceName: "Porch", role: "admin", open: false });
    // The code was used: a second browser cannot use it.
    const second = await server.request("/auth/pair", post({ code: secret }, server.origin));
    expect(second.status).toBe(401);
  });

  it("refuses a pairing or login post from another origin or without one (login CSRF)", async () => {
    const server = await startSecureServer();
    const { secret } = server.store.create({ kind: "pairing", role: "admin", expiresInMs: 60_000 });
    expect((await server.request("/auth/pair", post({ code: secret }, "https://evil.example"))).status).toBe(
      403,
    );
    expect((await server.request("/auth/pair", post({ code: secret }))).status).toBe(403);
    // Still unused.
    expect((await server.request("/auth/pair", post({ code: secret }, server.origin))).status).toBe(204);
  });

  it("logs in with the owner password; wrong passwords are limited to 10 a minute per address", async () => {
    const server = await startSecureServer();
    server.store.setPassword("correct horse battery");
    const ok = await server.request(
      "/auth/login",
      post({ password: "correct horse battery" }, server.origin),
    );
    expect(ok.status).toBe(204);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push(
        (await server.request("/auth/login", post({ password: `guess ${i}` }, server.origin))).status,
      );
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
    // Even the right password waits now.
    const blocked = await server.request(
      "/auth/login",
      post({ password: "correct horse battery" }, server.origin),
    );
    expect(blocked.status).toBe(429);
    expect(server.lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: "too many failed pairing or login attempts from one address (--max-failed-logins 10 a minute); refused with 429",
      }),
    );
  });

  it("a token used as a pairing link logs a browser in with its role until it is revoked", async () => {
    const server = await startSecureServer();
    const { id, secret } = server.token("view");
    const paired = await server.request("/auth/pair", post({ code: secret }, server.origin));
    const cookie = String(paired.headers["set-cookie"]).split(";")[0] as string;
    const config = await server.request("/config.json", { headers: { cookie } });
    expect(JSON.parse(config.body).role).toBe("view");
    const peer = await server.connect({ cookie, origin: server.origin });
    server.store.revoke(id);
    expect((await peer.closedBy(3000)).code).toBe(1008);
    expect((await server.request("/config.json", { headers: { cookie } })).status).toBe(401);
  });

  it("logout ends the session and its connections", async () => {
    const server = await startSecureServer();
    const cookie = server.cookie("talk");
    const peer = await server.connect({ cookie, origin: server.origin });
    const out = await server.request("/auth/logout", {
      method: "POST",
      headers: { cookie, origin: server.origin, "content-type": "application/json" },
      body: "{}",
    });
    expect(out.status).toBe(204);
    expect(String(out.headers["set-cookie"])).toMatch(/Max-Age=0/);
    expect((await peer.closedBy(3000)).code).toBe(1008);
  });

  it("/config.json needs a credential; the app and the login page do not", async () => {
    const server = await startSecureServer();
    expect((await server.request("/config.json")).status).toBe(401);
    expect((await server.request("/")).status).toBe(200);
    const login = await server.request("/pair");
    expect(login.status).toBe(200);
    expect(login.body).toContain("Owner password");
  });
});

describe("roles in the signalling", () => {
  async function withDevice() {
    const server = await startSecureServer();
    const device = await server.device();
    return { server, ...device };
  }

  it("view: may watch the device, may not register as producer or send to the device", async () => {
    const { server, producer, consumer } = await withDevice();
    const viewer = await server.connect({ authorization: `Bearer ${server.token("view").secret}` });
    viewer.send(`{"type":"startSession","peerId":"${producer.id}"}`);
    expect(await viewer.next()).toMatch(/^\{"type":"sessionStarted"/);
    viewer.send(`{"type":"setPeerStatus","roles":["listener","producer"],"meta":{"name":"web-1"}}`);
    expect(await viewer.next()).toBe(
      `{"type":"error","details":"Cannot register peer ${viewer.id}: the view role may not send media (register as producer)"}`,
    );
    viewer.send(`{"type":"startSession","peerId":"${consumer.id}"}`);
    expect(await viewer.next()).toMatch(/the view role may not send media to the device/);
  });

  it("talk: may send to the device's consumer", async () => {
    const { server, consumer } = await withDevice();
    const talker = await server.connect({ cookie: server.cookie("talk"), origin: server.origin });
    talker.send(`{"type":"setPeerStatus","roles":["listener","producer"],"meta":{"name":"web-2"}}`);
    talker.send(`{"type":"startSession","peerId":"${consumer.id}"}`);
    const replies = [await talker.next(), await talker.next()];
    expect(replies.some((text) => text.startsWith(`{"type":"startSession"`))).toBe(true);
  });
});
