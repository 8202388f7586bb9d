/**
 * HTTP hardening of `serve` (in-process, test/helpers/secure-server.ts): security headers, methods,
 * header size, slow clients, TLS versions, and markup in the page's code.
 */
import { readdirSync, readFileSync } from "node:fs";
import { connect as connectTcp, type Socket } from "node:net";
import { join } from "node:path";
import { type ConnectionOptions, connect as connectTls } from "node:tls";
import { describe, expect, it } from "vitest";
import { startSecureServer } from "../helpers/secure-server.ts";

describe("security headers", () => {
  it("every response carries a strict CSP, nosniff, frame-ancestors 'none', HSTS and no-referrer", async () => {
    const server = await startSecureServer();
    for (const path of ["/", "/pair", "/config.json", "/nope", "/ca.crt"]) {
      const { headers } = await server.request(path);
      const csp = String(headers["content-security-policy"]);
      expect(csp, path).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      expect(headers["x-content-type-options"]).toBe("nosniff");
      expect(headers["referrer-policy"]).toBe("no-referrer");
      expect(headers["x-frame-options"]).toBe("DENY");
      expect(headers["strict-transport-security"]).toBe("max-age=31536000");
    }
  });

  it("the built pages have no inline script or style (the CSP would block them)", () => {
    const root = new URL("../../dist/web/", import.meta.url).pathname;
    for (const page of readdirSync(root).filter((file) => file.endsWith(".html"))) {
      const html = readFileSync(join(root, page), "utf8");
      expect(html, page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(html, page).not.toMatch(/<style/);
      expect(html, page).not.toMatch(/\sstyle=/);
      expect(html, page).not.toMatch(/\son[a-z]+=/);
    }
  });

  it("no markup sinks in the app's code: peer strings are only ever text", () => {
    const root = new URL("../../src/web/app/", import.meta.url).pathname;
    for (const file of readdirSync(root).filter((name) => name.endsWith(".ts"))) {
      const code = readFileSync(join(root, file), "utf8");
      expect(code, file).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
      );
    }
  });
});

describe("methods and sizes", () => {
  it("serves files by GET and HEAD only", async () => {
    const server = await startSecureServer();
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"]) {
      const response = await server.request("/index.html", { method });
      expect(response.status, method).toBe(405);
    }
    expect((await server.request("/index.html", { method: "HEAD" })).status).toBe(200);
    expect((await server.request("/auth/login", { method: "GET" })).status).toBe(405);
  });

  it("refuses a request head over 16 KiB with 431", async () => {
    const server = await startSecureServer();
    const response = await server.request("/", { headers: { "x-pad": "a".repeat(20 * 1024) } });
    expect(response.status).toBe(431);
  });

  it("does not let a path leave the web root", async () => {
    const server = await startSecureServer();
    for (const path of ["/../package.json", "/%2e%2e/package.json", "/assets/../../package.json", "/%00"]) {
      const response = await server.request(path);
      expect(response.status, path).not.toBe(200);
      expect(response.body).not.toContain('"name": "device-rtc"');
    }
  });
});

/**
 * Waits for `socket` to close: `byServer` when the server ended it (its FIN arrived first: this client
 * never ends a connection itself), `error` if it was reset instead.
 */
async function serverClosed(socket: Socket): Promise<{ byServer: boolean; error: string | undefined }> {
  let byServer = false;
  let error: string | undefined;
  socket.once("end", () => {
    byServer = true;
  });
  socket.once("error", (cause: NodeJS.ErrnoException) => {
    error = cause.code ?? cause.message;
  });
  socket.resume();
  await new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { byServer, error };
}

describe("slow clients", () => {
  it("closes a TLS connection that never starts its handshake (handshakeTimeout)", async () => {
    const server = await startSecureServer();
    // A client that connects and says nothing: only the server can end this connection.
    const socket = connectTcp(server.app.port, "127.0.0.1");
    const closed = await serverClosed(socket);
    expect(closed).toEqual({ byServer: true, error: undefined });
  }, 15_000);

  it("closes a connection whose request head trickles in for more than 10 s (slowloris)", async () => {
    const server = await startSecureServer();
    const socket = connectTls({
      port: server.app.port,
      host: "127.0.0.1",
      ca: server.ca,
      servername: "localhost",
    });
    await new Promise<void>((resolve) => socket.once("secureConnect", () => resolve()));
    socket.write("GET / HTTP/1.1\r\nHost: localhost\r\n");
    // One more header line a second, for as long as the server listens: the head never ends.
    const timer = setInterval(() => socket.write("X-Slow: 1\r\n"), 1000);
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
      clearInterval(timer);
    });
    const closed = await serverClosed(socket);
    clearInterval(timer);
    expect(closed).toEqual({ byServer: true, error: undefined });
    // Cut for being slow (headersTimeout), not for anything it sent.
    expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  }, 20_000);
});

describe("TLS", () => {
  async function handshake(options: ConnectionOptions): Promise<string> {
    return new Promise((resolve) => {
      const socket = connectTls(options);
      socket.once("secureConnect", () => {
        resolve(`${socket.getProtocol()} ${socket.getCipher().name}`);
        socket.destroy();
      });
      socket.once("error", (error) => resolve(`error: ${error.message}`));
    });
  }

  it("speaks TLS 1.2 and 1.3 only, with forward-secret AEAD suites", async () => {
    const server = await startSecureServer();
    const base = { port: server.app.port, host: "127.0.0.1", ca: server.ca, servername: "localhost" };
    expect(await handshake({ ...base, maxVersion: "TLSv1.1", minVersion: "TLSv1" })).toMatch(/^error/);
    expect(await handshake({ ...base, maxVersion: "TLSv1.2" })).toMatch(
      /^TLSv1\.2 ECDHE-RSA-(AES\d+-GCM|CHACHA20)/,
    );
    expect(await handshake({ ...base, maxVersion: "TLSv1.2", ciphers: "AES128-SHA:AES256-SHA256" })).toMatch(
      /^error/,
    );
    expect(await handshake(base)).toMatch(/^TLSv1\.3/);
  });
});
