/**
 * One HTTPS (or HTTP) port for everything a browser needs: the web app's files, its configuration,
 * the CA certificate to download, pairing and login, and — on any path, as with the Rust server — the
 * WebSocket upgrade to the signalling server, so existing GStreamer clients work with `wss://host:8443`.
 *
 * Hardening (docs/SECURITY.md "HTTP"): a strict Content-Security-Policy and the other security headers
 * on every response; files by GET/HEAD only; small header limit and header, request and TLS handshake
 * timeouts against slow clients; TLS 1.2+ with forward-secret AEAD suites.
 */
import { readFile, stat } from "node:fs/promises";
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";
import type { Authenticator } from "../auth/Authenticator.ts";
import type { Credential } from "../auth/CredentialStore.ts";
import { LogBudget } from "../common/LogBudget.ts";
import type { Logger } from "../common/logger.ts";
import type { IceServer } from "../device/webrtc.ts";
import { closeServer, listen } from "../signalling/listen.ts";
import type { SignallingServer } from "../signalling/SignallingServer.ts";
import { HARDENED_TLS, HTTP_LIMITS, type TlsCredentials } from "../signalling/tls.ts";

export interface AppServerOptions {
  host: string;
  port: number;
  tls: TlsCredentials | undefined;
  /** The built web app (dist/web). */
  webRoot: string;
  /** Served as /config.json. */
  config: Record<string, unknown>;
  /**
   * The ICE servers for /config.json, for one browser (`label`: who it is in TURN usernames): TURN
   * credentials minted for each request (src/device/turn.ts), and how long they open new relays.
   */
  iceServers?: ((label: string) => PageIceServers) | undefined;
  /** The CA certificate (PEM), served as /ca.crt. */
  caCertificate?: string | undefined;
  signalling: SignallingServer;
  /** Pairing, login and the credential of every request; undefined: an open server (`--open`). */
  auth?: Authenticator | undefined;
  /** The REST API and `/metrics` (src/api): everything under `/api/`, and `/metrics`. */
  api?: ((request: IncomingMessage, response: ServerResponse) => Promise<void>) | undefined;
  /**
   * Failed pairing or login attempts allowed per address and minute (`--max-failed-logins`). Default
   * {@link DEFAULT_FAILED_LOGINS_PER_MINUTE}.
   */
  loginAttemptsPerMinute?: number;
  logger: Logger;
}

/** What /config.json says about ICE servers: the page hands them to every RTCPeerConnection. */
export interface PageIceServers {
  iceServers: IceServer[];
  /** With minted TURN credentials: how long they open new relays, s (the page fetches new ones at half). */
  iceServersValidSeconds?: number;
}

/**
 * Wrong passwords and pairing codes one address may try per minute: a person mistyping never gets
 * near it, while guessing the generated owner password (about 99 bits) or a 256-bit pairing code stays hopeless
 * (docs/SECURITY.md "Authentication").
 */
export const DEFAULT_FAILED_LOGINS_PER_MINUTE = 10;

/** Largest body of a login or pairing request. */
const MAX_BODY_BYTES = 4096;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

export class AppServer {
  readonly #server: HttpServer | HttpsServer;
  readonly #options: AppServerOptions;
  readonly #root: string;
  readonly #logBudget = new LogBudget();
  /** Failed login/pairing attempts by address: count and the minute they are counted in. */
  readonly #failures = new Map<string, { start: number; count: number }>();
  #closed = false;

  private constructor(options: AppServerOptions) {
    this.#options = options;
    this.#root = resolve(options.webRoot);
    const http = { ...HTTP_LIMITS };
    this.#server = options.tls
      ? createHttpsServer({ ...options.tls, ...HARDENED_TLS, ...http })
      : createHttpServer(http);
    this.#server.headersTimeout = http.headersTimeout;
    this.#server.requestTimeout = http.requestTimeout;
    this.#server.keepAliveTimeout = http.keepAliveTimeout;
    this.#server.on("request", (request, response) => {
      this.#securityHeaders(request, response);
      this.#serve(request, response).catch((error: Error) => {
        this.#logBudget.log(
          options.logger,
          "warn",
          "request-failed",
          { err: error.message, url: request.url?.slice(0, 200) },
          "request failed",
        );
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
    this.#server.on("tlsClientError", () => {});
    // A malformed, oversized or too slow request head gets its status (400, 431, 408) and is closed;
    // anything else (a reset, a TLS handshake that never ends) is just cut.
    this.#server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
      const status =
        error.code === "HPE_HEADER_OVERFLOW"
          ? "431 Request Header Fields Too Large"
          : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
            ? "408 Request Timeout"
            : error.code?.startsWith("HPE_")
              ? "400 Bad Request"
              : undefined;
      if (status === undefined || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    options.signalling.attach(this.#server);
  }

  /** Creates the server, listening on `host`:`port` (the signalling server attached to it). */
  static async create(options: AppServerOptions): Promise<AppServer> {
    const app = new AppServer(options);
    await listen(app.#server, { host: options.host, port: options.port }, options.logger);
    return app;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get secure(): boolean {
    return this.#options.tls !== undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeServer(this.#server);
  }

  /** Headers every response carries (docs/SECURITY.md "HTTP"). */
  #securityHeaders(request: IncomingMessage, response: ServerResponse): void {
    const host = request.headers.host;
    // The signalling WebSocket is on this very origin; CSP 'self' covers ws(s) only in newer browsers.
    const socketOrigin =
      host && /^[A-Za-z0-9.:[\]-]{1,300}$/.test(host) ? ` ${this.secure ? "wss" : "ws"}://${host}` : "";
    response.setHeader(
      "content-security-policy",
      [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        `connect-src 'self'${socketOrigin}`,
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
      ].join("; "),
    );
    response.setHeader("x-content-type-options", "nosniff");
    response.setHeader("x-frame-options", "DENY");
    response.setHeader("referrer-policy", "no-referrer");
    response.setHeader("cross-origin-opener-policy", "same-origin");
    response.setHeader("cross-origin-resource-policy", "same-origin");
    response.setHeader("permissions-policy", "camera=(self), microphone=(self), geolocation=(), usb=()");
    if (this.secure) response.setHeader("strict-transport-security", "max-age=31536000");
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let path: string;
    try {
      path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    } catch {
      response.writeHead(400, { "content-type": "text/plain" }).end("Bad request\n");
      return;
    }
    if (path.startsWith("/auth/")) {
      await this.#authRoute(path, request, response);
      return;
    }
    if (this.#options.api && (path.startsWith("/api/") || path === "/api" || path === "/metrics")) {
      await this.#options.api(request, response);
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/config.json") {
      const who = this.#whoIs(request);
      if (who === null) {
        json(response, 401, { error: "not logged in" });
        return;
      }
      // Only for a browser with a credential (or any on an open server): TURN credentials let their
      // holder relay traffic through the TURN server until they expire (docs/SECURITY.md "TURN").
      const ice = this.#options.iceServers?.(who === "open" ? "web" : `web-${who.id}`) ?? { iceServers: [] };
      json(response, 200, {
        ...this.#options.config,
        ...ice,
        role: who === "open" ? "admin" : who.role,
        open: who === "open",
      });
      return;
    }
    if (path === "/ca.crt" && this.#options.caCertificate) {
      response
        .writeHead(200, {
          "content-type": "application/x-x509-ca-cert",
          "content-disposition": 'attachment; filename="device-rtc-ca.crt"',
        })
        .end(this.#options.caCertificate);
      return;
    }
    // Files of the built app only: no path may leave the web root.
    const page = path === "/" ? "index.html" : path === "/pair" || path === "/login" ? "login.html" : path;
    const file = normalize(join(this.#root, page));
    if (!file.startsWith(this.#root + sep)) {
      response.writeHead(404).end();
      return;
    }
    const found = await stat(file).catch(() => undefined);
    if (!found?.isFile()) {
      response.writeHead(404, { "content-type": "text/plain" }).end("Not found\n");
      return;
    }
    const immutable = path.startsWith("/assets/");
    response.writeHead(200, {
      "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    });
    response.end(request.method === "HEAD" ? undefined : await readFile(file));
  }

  /** The credential of a request; "open" on an open server; null when it has none. */
  #whoIs(request: IncomingMessage): Credential | "open" | null {
    const auth = this.#options.auth;
    if (!auth) return "open";
    return auth.session(request) ?? null;
  }

  /** POST /auth/pair {code}, POST /auth/login {password}, POST /auth/logout. */
  async #authRoute(path: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const auth = this.#options.auth;
    if (!auth) {
      response.writeHead(404, { "content-type": "text/plain" }).end("This server is open: no login\n");
      return;
    }
    if (request.method !== "POST") {
      response.writeHead(405, { allow: "POST" }).end();
      return;
    }
    // Only this origin's pages may post here (no login CSRF): a browser always sends Origin with POST.
    const originProblem = auth.originProblem(request);
    if (request.headers.origin === undefined || originProblem) {
      json(response, 403, { error: originProblem ?? "Origin required" });
      return;
    }
    if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
      json(response, 415, { error: "JSON expected" });
      return;
    }
    const address = request.socket.remoteAddress ?? "";
    if (path === "/auth/logout") {
      const value = auth.cookieValue(request);
      const session = value === undefined ? undefined : auth.store.verify(value, ["session"]);
      if (session) {
        auth.store.revoke(session.id);
        this.#options.signalling.disconnectWhere(
          (identity) => identity.credentialId === session.id,
          "logged out",
        );
      }
      response.writeHead(204, { "set-cookie": auth.clearedCookie() }).end();
      return;
    }
    if (path !== "/auth/pair" && path !== "/auth/login") {
      json(response, 404, { error: "unknown" });
      return;
    }
    if (this.#tooManyFailures(address)) {
      this.#logBudget.log(
        this.#options.logger,
        "warn",
        `login-limit:${address}`,
        { remote: address, how: path.slice(6), limit: this.#loginLimit },
        `too many failed pairing or login attempts from one address (--max-failed-logins ${this.#loginLimit} a minute); refused with 429`,
      );
      json(response, 429, { error: "too many attempts; wait a minute" });
      return;
    }
    const body = await readJsonBody(request);
    const label = `from ${address}`;
    let session: ReturnType<typeof auth.store.pair>;
    auth.store.reload();
    if (path === "/auth/pair") {
      const code = typeof body?.code === "string" ? body.code : "";
      session = auth.store.pair(code, label);
    } else {
      const password = typeof body?.password === "string" ? body.password : "";
      session = auth.store.login(password, label);
    }
    if (!session) {
      this.#countFailure(address);
      this.#logBudget.log(
        this.#options.logger,
        "warn",
        `login-failed:${address}`,
        { remote: address, how: path.slice(6) },
        "a pairing or login attempt failed",
      );
      json(response, 401, {
        error: path === "/auth/pair" ? "invalid or used pairing code" : "wrong password",
      });
      return;
    }
    this.#options.logger.info(
      { remote: address, how: path.slice(6), role: session.credential.role, session: session.credential.id },
      "a browser logged in",
    );
    response.writeHead(204, { "set-cookie": auth.sessionCookie(session), "cache-control": "no-store" }).end();
  }

  #tooManyFailures(address: string): boolean {
    const entry = this.#failures.get(address);
    if (!entry || Date.now() - entry.start > 60_000) return false;
    return entry.count >= this.#loginLimit;
  }

  get #loginLimit(): number {
    return this.#options.loginAttemptsPerMinute ?? DEFAULT_FAILED_LOGINS_PER_MINUTE;
  }

  #countFailure(address: string): void {
    const now = Date.now();
    const entry = this.#failures.get(address);
    if (!entry || now - entry.start > 60_000) this.#failures.set(address, { start: now, count: 1 });
    else entry.count++;
    if (this.#failures.size > 10_000) {
      for (const [key, value] of this.#failures) if (now - value.start > 60_000) this.#failures.delete(key);
    }
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response
    .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
    .end(JSON.stringify(body));
}

/** A small JSON object body, or undefined (too large, not JSON, not an object). */
async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
