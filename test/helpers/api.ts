/**
 * A real `device-rtc serve` for the REST API, metrics and page tests: a fresh data directory with a bearer
 * token of each role (made by `device-rtc token create`, as an owner would), the owner password it
 * prints, its CA, and `call()` — real HTTPS against it with a chosen credential.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import type { Role } from "../../src/auth/roles.ts";
import { type Child, startCli } from "./processes.ts";
import { type HttpResult, httpsRequest } from "./secure-server.ts";
import { openServePage, type Served, serveTestDevice } from "./serve.ts";

export interface CallOptions {
  method?: string;
  /** Whose credential: a role's bearer token, a raw Authorization value, a cookie, or none. */
  as?: Role | "none" | { bearer: string } | { cookie: string };
  headers?: Record<string, string>;
  /** A JSON body (sent with Content-Type: application/json), or a raw string as is. */
  json?: unknown;
  body?: string;
}

export interface ApiServe {
  served: Served;
  child: Child;
  port: number;
  dataDir: string;
  origin: string;
  ca: string;
  tokens: Record<Role, { id: string; secret: string }>;
  ownerPassword: string;
  /** HTTPS to the server; the path is sent as is (no normalisation). */
  call(path: string, options?: CallOptions): Promise<HttpResult>;
  /** The path of the pairing link serve printed (an admin browser), after the origin's `/`. */
  pairingPath(): string;
}

/** Runs `device-rtc <args>` to its end and returns what it printed. */
export async function runCli(args: string[]): Promise<string> {
  const child = startCli(args);
  const code = await child.exited();
  if (code !== 0) throw new Error(`device-rtc ${args.join(" ")} exited ${code}:\n${child.output()}`);
  return child.output();
}

/** Creates a token with the CLI; returns its id and secret. */
export async function cliToken(dataDir: string, role: Role): Promise<{ id: string; secret: string }> {
  const output = await runCli(["token", "create", "--role", role, "--data-dir", dataDir]);
  const id = /Created token ([0-9a-f]{8})/.exec(output)?.[1];
  const secret = /\b(drtc_[A-Za-z0-9_-]{43})\b/.exec(output)?.[1];
  if (!id || !secret) throw new Error(`no token in:\n${output}`);
  return { id, secret };
}

/**
 * `serve` with a token of each role made first, on the network test bed when there is one (the device
 * on its own LAN host: test/helpers/serve.ts), else on 127.0.0.1.
 */
export async function startApiServe(extra: string[] = []): Promise<ApiServe> {
  const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-api-"));
  const tokens = {
    view: await cliToken(dataDir, "view"),
    talk: await cliToken(dataDir, "talk"),
    admin: await cliToken(dataDir, "admin"),
  };
  const served = await serveTestDevice(extra, { dataDir });
  const { child, port, ca, origin } = served;
  const ownerPassword = (await child.waitFor(/Owner password[^:]*: (\S+)/))[1] as string;
  return {
    served,
    child,
    port,
    dataDir,
    origin,
    ca,
    tokens,
    ownerPassword,
    call(path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      const as = options.as ?? "admin";
      if (typeof as === "string" && as !== "none") headers.authorization = `Bearer ${tokens[as].secret}`;
      else if (typeof as === "object" && "bearer" in as) headers.authorization = as.bearer;
      else if (typeof as === "object" && "cookie" in as) headers.cookie = as.cookie;
      let body = options.body;
      if (options.json !== undefined) {
        body = JSON.stringify(options.json);
        headers["content-type"] ??= "application/json";
      }
      return httpsRequest(`${origin}${path}`, ca, { method: options.method, headers, body });
    },
    pairingPath() {
      const host = new URL(origin).host.replace(/[.[\]]/g, "\\$&");
      const match = child.output().match(new RegExp(`https://${host}/pair#code=[A-Za-z0-9_%-]+`));
      if (!match) throw new Error(`no pairing link for ${origin} in the output:\n${child.output()}`);
      return match[0].slice(origin.length + 1);
    },
  };
}

/** A browser session cookie from the owner password (POST /auth/login, as the login page does). */
export async function loginCookie(served: ApiServe): Promise<string> {
  const response = await served.call("/auth/login", {
    method: "POST",
    as: "none",
    headers: { origin: served.origin },
    json: { password: served.ownerPassword },
  });
  const setCookie = String(response.headers["set-cookie"] ?? "");
  const cookie = /^([^;]+)/.exec(setCookie)?.[1];
  if (response.status !== 204 || !cookie)
    throw new Error(`login failed: ${response.status} ${response.body}`);
  return cookie;
}

/**
 * Chromium, trusting exactly serve's CA, on the app — logged in by `path` (serve's pairing link, admin,
 * by default; a token's link logs in with its role). On the bed: its own host, media allowed.
 */
export async function openApp(
  api: ApiServe,
  path = api.pairingPath(),
): Promise<{ page: Page; log: string[]; browser: BrowserContext }> {
  const { page, log, browser, grantMedia } = await openServePage(api.served, { path });
  await grantMedia();
  await page.waitForURL(`${api.origin}/`, { timeout: 15_000 });
  return { page, log, browser };
}

/** Polls `check` until it returns a value (not undefined), or fails naming `what`. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * An HTTP request to `http://127.0.0.1:PORT/PATH` as seen from the device's own machine (its network
 * namespace on the bed): how a local Prometheus reaches `--metrics-port`, which binds 127.0.0.1.
 */
export async function localHttp(
  api: ApiServe,
  port: number,
  path: string,
  method = "GET",
): Promise<{ status: number; contentType: string; body: string }> {
  const url = `http://127.0.0.1:${port}${path}`;
  const host = api.served.host;
  if (!host) {
    const response = await fetch(url, { method });
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      body: await response.text(),
    };
  }
  const script = `fetch(${JSON.stringify(url)}, { method: ${JSON.stringify(method)} }).then(async (r) =>
    process.stdout.write(JSON.stringify({ status: r.status, contentType: r.headers.get("content-type") ?? "", body: await r.text() })))`;
  return JSON.parse(host.exec(process.execPath, ["-e", script]));
}
