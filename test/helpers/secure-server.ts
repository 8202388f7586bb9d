/**
 * `serve` without the device: the same AppServer, SignallingServer, credential store, authenticator
 * and device policy, in-process on a loopback port over TLS from a fresh CA — fast, no GStreamer, no
 * browser. The device is whoever connects with `deviceSecret` (a TestPeer in these tests).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { Authenticator, newDeviceSecret } from "../../src/auth/Authenticator.ts";
import { CredentialStore } from "../../src/auth/CredentialStore.ts";
import { watchRevocations } from "../../src/auth/revocation.ts";
import type { Logger } from "../../src/common/logger.ts";
import { initPki } from "../../src/pki/PkiStore.ts";
import { DevicePolicy } from "../../src/signalling/AccessPolicy.ts";
import { SignallingServer, type SignallingServerOptions } from "../../src/signalling/SignallingServer.ts";
import { loadTlsCredentials } from "../../src/signalling/tls.ts";
import { AppServer } from "../../src/web/AppServer.ts";
import { onCleanup } from "./cleanup.ts";
import { capturedLogger } from "./logs.ts";
import { TestPeer } from "./signalling.ts";

export const WEB_ROOT = fileURLToPath(new URL("../../dist/web", import.meta.url));

export interface SecureServer {
  origin: string;
  wsUrl: string;
  ca: string;
  store: CredentialStore;
  deviceSecret: string;
  signalling: SignallingServer;
  app: AppServer;
  lines: ReturnType<typeof capturedLogger>["lines"];
  /** Opens a WebSocket with these headers (no Origin unless given). */
  connect(headers?: Record<string, string>): Promise<TestPeer>;
  /** The device's producer and consumer, registered like the real device does. */
  device(name?: string): Promise<{ producer: TestPeer; consumer: TestPeer }>;
  /** A browser session cookie of `role`, as pairing would set it. */
  cookie(role: "view" | "talk" | "admin"): string;
  /** A bearer token of `role`. */
  token(role: "view" | "talk" | "admin", expiresInMs?: number | null): { id: string; secret: string };
  /** fetch() with our CA trusted (through undici is not possible without a dispatcher: uses https). */
  request(path: string, init?: RequestInit & { headers?: Record<string, string> }): Promise<HttpResult>;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body's bytes (downloads). */
  raw: Buffer;
}

const PKI_CACHE = new Map<string, string>();

function sharedPki(): string {
  // One CA for every test of the file: RSA key generation is slow.
  const cached = PKI_CACHE.get("pki");
  if (cached) return cached;
  const dir = join(mkdtempSync(join(tmpdir(), "device-rtc-sec-")), "pki");
  initPki(dir, ["localhost", "127.0.0.1"]);
  PKI_CACHE.set("pki", dir);
  return dir;
}

export async function startSecureServer(
  options: { deviceName?: string; signalling?: SignallingServerOptions; logger?: Logger } = {},
): Promise<SecureServer> {
  const { logger, lines } = capturedLogger();
  const pki = sharedPki();
  const tls = loadTlsCredentials({ cert: join(pki, "server-chain.pem"), key: join(pki, "server.key") });
  const ca = readFileSync(join(pki, "ca.crt"), "utf8");
  const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-auth-"));
  const store = CredentialStore.open(join(dataDir, "auth", "credentials.json"));
  const deviceSecret = newDeviceSecret();
  const auth = new Authenticator({ store, secure: true, deviceSecret });
  const deviceName = options.deviceName ?? "Porch";
  const signalling = new SignallingServer({
    logger: options.logger ?? logger,
    authenticate: (request) => auth.upgrade(request),
    policy: new DevicePolicy(deviceName),
    ...options.signalling,
  });
  const app = await AppServer.create({
    host: "127.0.0.1",
    port: 0,
    tls,
    webRoot: WEB_ROOT,
    config: { deviceName },
    caCertificate: ca,
    signalling,
    auth,
    logger: options.logger ?? logger,
  });
  const stopWatching = watchRevocations(store, signalling, logger, 100);
  onCleanup(async () => {
    stopWatching();
    await signalling.close();
    await app.close();
  });
  const origin = `https://127.0.0.1:${app.port}`;
  const wsUrl = `wss://127.0.0.1:${app.port}/`;
  const server: SecureServer = {
    origin,
    wsUrl,
    ca,
    store,
    deviceSecret,
    signalling,
    app,
    lines,
    connect: (headers = {}) => TestPeer.connect(wsUrl, { ca, headers }),
    async device(name = deviceName) {
      const headers = { authorization: `Bearer ${deviceSecret}` };
      const producer = await TestPeer.connect(wsUrl, { ca, headers });
      producer.send(
        `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":${JSON.stringify(name)}},"peerId":"${producer.id}"}`,
      );
      const consumer = await TestPeer.connect(wsUrl, { ca, headers });
      consumer.send(
        `{"type":"setPeerStatus","roles":["consumer"],"meta":{"name":${JSON.stringify(name)}},"peerId":"${consumer.id}"}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      return { producer, consumer };
    },
    cookie(role) {
      const session = store.create({ kind: "session", role, label: "test", expiresInMs: 3_600_000 });
      return `${auth.cookieName}=${session.secret}`;
    },
    token(role, expiresInMs = 3_600_000) {
      const { credential, secret } = store.create({ kind: "token", role, label: "test", expiresInMs });
      return { id: credential.id, secret };
    },
    request: (path, init = {}) => httpsRequest(`${origin}${path}`, ca, init),
  };
  return server;
}

/** An HTTPS request trusting `ca` (Node's fetch cannot take a CA without a dispatcher). */
export async function httpsRequest(
  url: string,
  ca: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<HttpResult> {
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers, ca }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const raw = Buffer.concat(chunks);
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: raw.toString("utf8"),
          raw,
        });
      });
    });
    req.on("error", reject);
    if (typeof init.body === "string") req.write(init.body);
    req.end();
  });
}

/** Whether a WebSocket upgrade is refused, and with which HTTP status. */
export async function upgradeStatus(
  url: string,
  ca: string | undefined,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { ca, headers });
    socket.on("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on("open", () => {
      resolve(101);
      socket.terminate();
    });
    socket.on("error", () => resolve(0));
  });
}
