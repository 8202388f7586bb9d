/**
 * One HTTPS (or HTTP) port for everything a browser needs: the web app's files, its configuration,
 * the CA certificate to download, and — on any path, as with the Rust server — the WebSocket upgrade
 * to the signalling server, so existing GStreamer clients work with `wss://host:8443`.
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
import type { Logger } from "../common/logger.ts";
import { ListenError } from "../signalling/errors.ts";
import type { SignallingServer } from "../signalling/SignallingServer.ts";
import type { TlsCredentials } from "../signalling/tls.ts";

export interface AppServerOptions {
  host: string;
  port: number;
  tls: TlsCredentials | undefined;
  /** The built web app (dist/web). */
  webRoot: string;
  /** Served as /config.json. */
  config: Record<string, unknown>;
  /** The CA certificate (PEM), served as /ca.crt. */
  caCertificate?: string | undefined;
  signalling: SignallingServer;
  logger: Logger;
}

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
  #closed = false;

  private constructor(options: AppServerOptions) {
    this.#options = options;
    this.#root = resolve(options.webRoot);
    this.#server = options.tls
      ? createHttpsServer({ ...options.tls, handshakeTimeout: 5000 })
      : createHttpServer();
    this.#server.on("request", (request, response) => {
      this.#serve(request, response).catch((error: Error) => {
        options.logger.warn({ err: error.message, url: request.url }, "request failed");
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
    this.#server.on("tlsClientError", () => {});
    this.#server.on("clientError", (_error, socket) => socket.destroy());
    options.signalling.attach(this.#server);
  }

  static async start(options: AppServerOptions): Promise<AppServer> {
    const app = new AppServer(options);
    await new Promise<void>((resolvePromise, reject) => {
      const onError = (error: NodeJS.ErrnoException) =>
        reject(
          new ListenError(
            `cannot listen on ${options.host}:${options.port}: ${error.code ?? error.message}`,
            { cause: error },
          ),
        );
      app.#server.once("error", onError);
      app.#server.listen(options.port, options.host, () => {
        app.#server.off("error", onError);
        resolvePromise();
      });
    });
    app.#server.on("error", (error) =>
      options.logger.error({ err: error.message }, "accept failed; still serving"),
    );
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
    await new Promise<void>((resolvePromise) => {
      this.#server.close(() => resolvePromise());
      this.#server.closeAllConnections();
    });
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname);
    if (path === "/config.json") {
      response
        .writeHead(200, { "content-type": "application/json", "cache-control": "no-store" })
        .end(JSON.stringify(this.#options.config));
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
    const file = normalize(join(this.#root, path === "/" ? "index.html" : path));
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
      "x-content-type-options": "nosniff",
    });
    response.end(request.method === "HEAD" ? undefined : await readFile(file));
  }
}
