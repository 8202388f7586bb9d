/**
 * `--metrics-port`: the metrics on a plain HTTP listener of their own, for a Prometheus scraper — no
 * credential, so it binds 127.0.0.1 unless `--metrics-host` says otherwise (docs/SECURITY.md "Metrics").
 * GET (and HEAD) `/metrics` only; the same header size and timeouts as the app's server.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../common/logger.ts";
import { closeServer, listen } from "../signalling/listen.ts";
import { HTTP_LIMITS } from "../signalling/tls.ts";
import type { Metrics } from "./Metrics.ts";

export class MetricsServer {
  readonly #server: Server;
  #closed = false;

  private constructor(metrics: Metrics, logger: Logger) {
    this.#server = createServer({ ...HTTP_LIMITS }, (request, response) => {
      const path = (request.url ?? "/").split("?")[0];
      if (path !== "/metrics") {
        response
          .writeHead(404, { "content-type": "text/plain" })
          .end("Not found: the metrics are at /metrics\n");
        return;
      }
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      }
      metrics.scrape().then(
        ({ contentType, body }) => {
          response.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
          response.end(request.method === "HEAD" ? undefined : body);
        },
        (error: Error) => {
          logger.warn({ err: error.message }, "metrics scrape failed");
          response.writeHead(500, { "content-type": "text/plain" }).end("metrics failed\n");
        },
      );
    });
    this.#server.headersTimeout = HTTP_LIMITS.headersTimeout;
    this.#server.requestTimeout = HTTP_LIMITS.requestTimeout;
    this.#server.on("clientError", (_error, socket) => socket.destroy());
  }

  /** Creates the listener on `host`:`port`. */
  static async create(options: {
    host: string;
    port: number;
    metrics: Metrics;
    logger: Logger;
  }): Promise<MetricsServer> {
    const server = new MetricsServer(options.metrics, options.logger);
    await listen(server.#server, { ...options, what: "metrics" }, options.logger);
    options.logger.info(
      { host: options.host, port: server.port },
      `metrics on http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${server.port}/metrics`,
    );
    return server;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeServer(this.#server);
  }
}
