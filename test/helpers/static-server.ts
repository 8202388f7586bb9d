/** A tiny HTTP server for test pages on 127.0.0.1 (a secure context, so getUserMedia works). */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { onCleanup } from "./cleanup.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".map": "application/json",
};

/** The gstwebrtc-api browser bundle from npm, unmodified. */
export const GSTWEBRTC_API_BUNDLE = new URL(
  "../../node_modules/gstwebrtc-api/dist/gstwebrtc-api-3.0.0.min.js",
  import.meta.url,
).pathname;

/**
 * Serves `routes` (path → file path or inline content) on `host` (e.g. a test bed's LAN address);
 * closed after the test.
 */
export async function serveStatic(
  routes: Record<string, { file: string } | { content: string }>,
  host = "127.0.0.1",
): Promise<string> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    const route = routes[path];
    if (!route) {
      response.writeHead(404).end();
      return;
    }
    const body = "file" in route ? readFileSync(route.file) : route.content;
    const extension = path.slice(path.lastIndexOf("."));
    response.writeHead(200, { "content-type": TYPES[extension] ?? "text/html" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}
