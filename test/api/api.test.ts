/**
 * The REST API of a real `device-rtc serve`, over real HTTPS: credentials and roles on every route,
 * the OpenAPI document (valid, and exactly the routes served), hostile input in every parameter,
 * cross-site requests, and tokens made and revoked through it (docs/SECURITY.md "REST API").
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { createApiApp } from "../../src/api/ApiApp.ts";
import { ROUTE_ROLES } from "../../src/api/routes.ts";
import { hasRole, ROLES, type Role } from "../../src/auth/roles.ts";
import { createLogger } from "../../src/common/logger.ts";
import { Recordings } from "../../src/media/Recordings.ts";
import { type ApiServe, loginCookie, pollUntil, runCli, startApiServe } from "../helpers/api.ts";
import { HOSTILE_NAMES } from "../helpers/hostile.ts";
import { upgradeStatus } from "../helpers/secure-server.ts";

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { "x-device-rtc-role"?: Role; parameters?: unknown[] }>>;
}

/** A concrete path for an OpenAPI path: parameters filled with well-formed values that name nothing. */
function concrete(path: string): string {
  return path
    .replace("{sessionId}", "00000000-0000-4000-8000-000000000000")
    .replace("{name}", "2026-01-01T00-00-00Z-nobody.webm")
    .replace("{id}", "00000000");
}

/** Every byte percent-encoded (a lone surrogate becomes U+FFFD, as any client would send it). */
function encodeAll(value: string): string {
  return [...Buffer.from(value, "utf8")].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("");
}

async function document(served: ApiServe): Promise<OpenApiDocument> {
  const response = await served.call("/api/openapi.json", { as: "none" });
  expect(response.status).toBe(200);
  return JSON.parse(response.body) as OpenApiDocument;
}

function operations(doc: OpenApiDocument): Array<{ method: string; path: string; role: Role }> {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      role: operation["x-device-rtc-role"] as Role,
    })),
  );
}

/**
 * POST /api/tokens with a body. The server answers 413 without reading the rest of a body that is too
 * large and closes the connection (RFC 9112 §9.6); a client still writing may then get EPIPE or
 * ECONNRESET before it has read the answer — a race of the client, not the server (CI: "label: 200 kB:
 * write EPIPE"), so the request is made again, up to three times.
 */
async function callWithBody(served: ApiServe, what: string, options: Parameters<ApiServe["call"]>[1]) {
  for (let attempt = 1; ; attempt++) {
    const response = await served.call("/api/tokens", options).catch((error: Error & { code?: string }) => {
      if (attempt < 3 && (error.code === "EPIPE" || error.code === "ECONNRESET")) return undefined;
      throw new Error(`${what}: ${error.message}`);
    });
    if (response) return response;
  }
}

describe("REST API", () => {
  it("the OpenAPI document is valid and lists exactly the routes served, each with its least role", async () => {
    const served = await startApiServe();
    const doc = await document(served);
    const validator = new Validator();
    const result = await validator.validate(doc as never);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe("3.1.0");

    const documented = operations(doc);
    // Every route the app registers is documented, and every documented route is the app's.
    const app = createApiApp({
      auth: undefined,
      secure: true,
      device: () => undefined,
      recordings: new Recordings("/nonexistent", () => []),
      metrics: undefined,
      logger: createLogger("test"),
    });
    const registered = new Set(
      app.routes
        .filter((route) => route.method !== "ALL" && route.path !== "/api/openapi.json")
        .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    expect(new Set(documented.map((op) => `${op.method} ${op.path}`))).toEqual(registered);
    expect(new Set(ROUTE_ROLES.keys())).toEqual(registered);
    for (const op of documented)
      expect(op.role, `${op.method} ${op.path}`).toBe(ROUTE_ROLES.get(`${op.method} ${op.path}`));
    // What a user can do, in one table (docs/SECURITY.md): status for everyone, the rest for admins.
    expect(documented.filter((op) => op.role !== "admin").map((op) => `${op.method} ${op.path}`)).toEqual([
      "GET /api/status",
    ]);
  });

  it("every route needs a credential, and each role gets exactly what its routes allow", async () => {
    const served = await startApiServe();
    const ops = operations(await document(served));
    const revoked = await runCli(["token", "create", "--role", "admin", "--data-dir", served.dataDir]);
    const revokedSecret = /\b(drtc_[A-Za-z0-9_-]{43})\b/.exec(revoked)?.[1] as string;
    await runCli([
      "token",
      "revoke",
      /Created token ([0-9a-f]{8})/.exec(revoked)?.[1] as string,
      "--data-dir",
      served.dataDir,
    ]);
    for (const op of ops) {
      const path = concrete(op.path);
      const what = `${op.method} ${path}`;
      const json = op.method === "POST" && op.path === "/api/tokens" ? { role: "view" } : undefined;
      // No credential, a made-up one, a revoked one, a pairing-code-shaped one: 401, with JSON.
      for (const as of [
        "none",
        { bearer: "Bearer drtc_made-up" },
        { bearer: `Bearer ${revokedSecret}` },
        { bearer: "Basic YWRtaW46YWRtaW4=" },
        { cookie: "__Host-device-rtc=drtcs_made-up" },
      ] as const) {
        const response = await served.call(path, { method: op.method, as, json });
        expect(response.status, `${what} as ${JSON.stringify(as)}`).toBe(401);
        expect(JSON.parse(response.body).error).toMatch(/credential/);
        expect(response.headers["www-authenticate"]).toBe('Bearer realm="device-rtc"');
      }
      for (const role of ROLES) {
        const response = await served.call(path, { method: op.method, as: role, json });
        if (hasRole(role, op.role)) {
          expect([200, 201, 204, 404], `${what} as ${role}: ${response.body}`).toContain(response.status);
        } else {
          expect(response.status, `${what} as ${role}`).toBe(403);
          expect(JSON.parse(response.body).error).toContain(`needs the ${op.role} role`);
        }
      }
    }
    // What the routes say, on the real thing.
    const status = await served.call("/api/status", { as: "view" });
    const body = JSON.parse(status.body);
    expect(body).toMatchObject({
      name: "Porch",
      role: "view",
      codecs: ["vp8", "opus"],
      viewers: 0,
      senders: 0,
      sources: { video: { kind: "test", state: "live" }, audio: { kind: "test", state: "live" } },
    });
    expect(body.sources.video.description).toBeUndefined();
    expect(body.versions).toMatchObject({
      "device-rtc": expect.any(String),
      gstreamer: expect.stringMatching(/^1\./),
    });
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(body.streams.map((s: { kind: string }) => s.kind)).toEqual(["video", "audio"]);
    const adminStatus = JSON.parse((await served.call("/api/status")).body);
    expect(adminStatus.sources.video.description).toBe("test");
    // Unknown routes and wrong methods, as JSON.
    expect((await served.call("/api/nothing")).status).toBe(404);
    const wrong = await served.call("/api/recordings", { method: "PUT" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe("GET");
    expect(JSON.parse(wrong.body).error).toContain("PUT");
  });

  it("hostile input in every parameter fails cleanly (400/404/413/415/431), and the server keeps serving", async () => {
    const served = await startApiServe();
    const paramRoutes = operations(await document(served)).filter((op) => op.path.includes("{"));
    expect(paramRoutes.length).toBeGreaterThanOrEqual(5);
    const extra: Array<readonly [string, string]> = [
      ["dot dot slash", "../../../../etc/passwd"],
      ["an encoded traversal with a valid tail", "..%2F..%2Fetc%2Fx.webm"],
      ["a valid-looking name with a slash", "a/b.webm"],
      ["an exclamation mark", "a!.webm"],
      ["a leading dot", ".hidden.webm"],
    ];
    for (const op of paramRoutes) {
      for (const [what, value] of [...HOSTILE_NAMES, ...extra]) {
        const path = op.path.replace(/\{[^}]+\}/, encodeAll(value));
        const label = `${op.method} ${op.path} with ${what}`;
        const response = await served.call(path, { method: op.method }).catch((error: Error) => {
          // 600 kB of URL: the server answers 431 and closes while the client is still sending.
          if (value.length > 100_000) return { status: 431, body: "", headers: {}, raw: Buffer.alloc(0) };
          throw new Error(`${label}: ${error.message}`);
        });
        // 200 kB in a URL is more than a request head may be (16 KiB): 431 from the HTTP parser.
        expect([400, 404, 431], `${label}: ${response.status} ${response.body.slice(0, 200)}`).toContain(
          response.status,
        );
        if (response.status !== 431) {
          const error = JSON.parse(response.body).error as string;
          expect(error.length, label).toBeLessThanOrEqual(300);
          expect(error).not.toContain("x".repeat(300));
        }
      }
      // Raw traversal (not encoded): normalised away by the URL parser, so it reaches no route.
      const raw = await served.call(op.path.replace(/\{[^}]+\}/, "../../../etc/passwd"), {
        method: op.method,
      });
      expect([401, 404, 405]).toContain(raw.status);
      expect(raw.body).not.toContain("root:");
    }
    // The token body: each field hostile, wrong types, extra fields, not JSON, too large.
    const bodies: Array<[string, unknown, number]> = [
      ["no role", {}, 400],
      ["an unknown role", { role: "root" }, 400],
      ["the device's role", { role: "device" }, 400],
      ["an extra field", { role: "view", admin: true }, 400],
      ["a negative lifetime", { role: "view", expiresInSeconds: -1 }, 400],
      ["a fractional lifetime", { role: "view", expiresInSeconds: 100.5 }, 400],
      ["a lifetime as text", { role: "view", expiresInSeconds: "7d" }, 400],
      ["an array", [{ role: "view" }], 400],
      ["null", null, 400],
    ];
    for (const [what, label] of HOSTILE_NAMES) {
      const ok = label.length <= 100 && !/[\p{Cc}\p{Cf}\p{Cs}]/u.test(label);
      const body = { role: "view", label };
      // Over the API's 4096-byte body limit: 413 before the label is looked at.
      const tooLarge = Buffer.byteLength(JSON.stringify(body)) > 4096;
      bodies.push([`label: ${what}`, body, ok ? 201 : tooLarge ? 413 : 400]);
    }
    for (const [what, body, status] of bodies) {
      const response = await callWithBody(served, what, { method: "POST", json: body });
      expect(response.status, `${what}: ${response.body.slice(0, 200)}`).toBe(status);
      if (status === 201) {
        // Stored as given, returned as JSON text (never interpreted).
        expect(JSON.parse(response.body).token.label).toBe((body as { label: string }).label);
      }
    }
    for (const [what, headers, body, status] of [
      ["a form", { "content-type": "application/x-www-form-urlencoded" }, "role=admin", 415],
      ["plain text", { "content-type": "text/plain" }, '{"role":"admin"}', 415],
      ["no content type", {}, '{"role":"admin"}', 415],
      ["malformed JSON", { "content-type": "application/json" }, '{"role":', 400],
      [
        "a 200 kB body",
        { "content-type": "application/json" },
        JSON.stringify({ role: "view", label: "x".repeat(200_000) }),
        413,
      ],
    ] as const) {
      const response = await callWithBody(served, what, { method: "POST", headers: { ...headers }, body });
      expect(response.status, `${what}: ${response.body.slice(0, 200)}`).toBe(status);
      expect(JSON.parse(response.body).error).toEqual(expect.any(String));
    }
    // Still serving, and nothing leaked into the log as markup or a forged line.
    expect((await served.call("/api/status")).status).toBe(200);
    expect(served.child.output()).not.toContain('"msg":"forged"');
    expect(served.child.output()).not.toMatch(/API request failed/);
  });

  it("cross-site requests: the cookie changes nothing without the page's Origin; a foreign Origin is refused", async () => {
    const served = await startApiServe();
    const cookie = await loginCookie(served);
    const asCookie = { cookie };
    // Reading with the cookie (a same-site page's fetch or <video>) works without Origin.
    expect((await served.call("/api/recordings", { as: asCookie })).status).toBe(200);
    const create = { method: "POST", json: { role: "admin", label: "csrf" } };
    // A state change with the cookie: refused without Origin, or with another site's.
    const without = await served.call("/api/tokens", { ...create, as: asCookie });
    expect(without.status).toBe(403);
    expect(JSON.parse(without.body).error).toBe("Origin required");
    for (const origin of [
      "https://evil.example",
      "null",
      `${served.origin}.evil.example`,
      "http://127.0.0.1",
    ]) {
      for (const as of [asCookie, "admin"] as const) {
        const response = await served.call("/api/tokens", { ...create, as, headers: { origin } });
        expect(response.status, `${origin} ${JSON.stringify(as)}`).toBe(403);
        expect(JSON.parse(response.body).error).toMatch(/cross-origin/);
        // Reads too: a foreign Origin is refused whatever the method.
        expect((await served.call("/api/status", { as, headers: { origin } })).status).toBe(403);
      }
    }
    const deleteAll = await served.call(`/api/tokens/${served.tokens.view.id}`, {
      method: "DELETE",
      as: asCookie,
    });
    expect(deleteAll.status).toBe(403);
    expect(
      JSON.parse((await served.call("/api/tokens")).body).credentials.some(
        (c: { label: string }) => c.label === "csrf",
      ),
    ).toBe(false);
    // The page's own Origin: allowed.
    const ok = await served.call("/api/tokens", {
      ...create,
      as: asCookie,
      headers: { origin: served.origin },
    });
    expect(ok.status).toBe(201);
    // A bearer client (a script) needs no Origin.
    expect(
      (await served.call(`/api/tokens/${JSON.parse(ok.body).token.id}`, { method: "DELETE" })).status,
    ).toBe(200);
  });

  it("tokens: made through the API they work at once and the CLI lists them; revoked, they stop at once", async () => {
    const served = await startApiServe();
    const made = await served.call("/api/tokens", {
      method: "POST",
      json: { role: "talk", label: "kitchen tablet 😀", expiresInSeconds: 3600 },
    });
    expect(made.status).toBe(201);
    const { token, secret, pairingPath } = JSON.parse(made.body);
    expect(token).toMatchObject({ kind: "token", role: "talk", label: "kitchen tablet 😀", current: false });
    expect(Date.parse(token.expires) - Date.parse(token.created)).toBe(3_600_000);
    expect(secret).toMatch(/^drtc_[A-Za-z0-9_-]{43}$/);
    expect(pairingPath).toBe(`/pair#code=${secret}`);
    // It works now, with its role.
    const asNew = { bearer: `Bearer ${secret}` };
    expect(JSON.parse((await served.call("/api/status", { as: asNew })).body).role).toBe("talk");
    expect(
      await upgradeStatus(`${served.origin.replace("https:", "wss:")}/`, served.ca, {
        authorization: `Bearer ${secret}`,
      }),
    ).toBe(101);
    // The CLI sees the same store; the API marks the caller's own credential.
    expect(await runCli(["token", "list", "--data-dir", served.dataDir])).toMatch(
      new RegExp(`${token.id}\\s+token\\s+talk`),
    );
    const list = JSON.parse((await served.call("/api/tokens")).body).credentials as Array<{
      id: string;
      current: boolean;
    }>;
    expect(list.find((c) => c.id === served.tokens.admin.id)?.current).toBe(true);
    expect(list.find((c) => c.id === token.id)?.current).toBe(false);
    expect(JSON.stringify(list)).not.toContain(secret);
    // Revoked: refused at once, and a live signalling connection made with it is closed.
    const { default: WebSocket } = await import("ws");
    const socket = new WebSocket(`${served.origin.replace("https:", "wss:")}/`, {
      ca: served.ca,
      headers: { authorization: `Bearer ${secret}` },
    });
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
    const revoked = await served.call(`/api/tokens/${token.id}`, { method: "DELETE" });
    expect(revoked.status).toBe(200);
    expect(JSON.parse(revoked.body).revoked).toEqual([token.id]);
    expect((await served.call("/api/status", { as: asNew })).status).toBe(401);
    expect(await closed).toBe(1008);
    expect((await served.call(`/api/tokens/${token.id}`, { method: "DELETE" })).status).toBe(404);
    // An admin may revoke its own credential: it is then logged out.
    expect((await served.call(`/api/tokens/${served.tokens.admin.id}`, { method: "DELETE" })).status).toBe(
      200,
    );
    expect((await served.call("/api/status")).status).toBe(401);
    await pollUntil(
      async () => (served.child.output().includes("credentials revoked (API)") ? true : undefined),
      "log",
    );
  });
});
