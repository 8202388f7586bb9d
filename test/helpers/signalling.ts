/**
 * A raw signalling client for conformance tests: sends exact text, and reads exact text frames in order.
 */
import WebSocket from "ws";
import { SignallingServer, type SignallingServerOptions } from "../../src/signalling/SignallingServer.ts";
import { onCleanup } from "./cleanup.ts";
import { type Child, startCli } from "./processes.ts";

export class TestPeer {
  readonly socket: WebSocket;
  /** The id the server gave this peer in its welcome. */
  id = "";
  readonly #inbox: string[] = [];
  #wake: (() => void) | undefined;
  #closed: { code: number; reason: string } | undefined;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data, isBinary) => {
      this.#inbox.push(isBinary ? `<binary ${(data as Buffer).length}>` : data.toString());
      this.#wake?.();
    });
    socket.on("close", (code, reason) => {
      this.#closed = { code, reason: reason.toString() };
      this.#wake?.();
    });
    socket.on("error", () => {});
  }

  /** Connects and reads the welcome, which must be exactly `{"type":"welcome","peerId":"<uuid v4>"}`. */
  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestPeer> {
    const socket = new WebSocket(url, options);
    const peer = new TestPeer(socket);
    onCleanup(() => peer.close());
    await new Promise<void>((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const welcome = await peer.next();
    const match = welcome.match(
      /^\{"type":"welcome","peerId":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"\}$/,
    );
    if (!match?.[1]) throw new Error(`expected a welcome, got ${welcome}`);
    peer.id = match[1];
    return peer;
  }

  send(message: string | object): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next text frame, waiting up to `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inbox.length === 0) {
      if (this.#closed)
        throw new Error(`connection closed (${this.#closed.code}) while waiting for a message`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for a message");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.#inbox.shift() as string;
  }

  /** Asserts that nothing arrives for `ms` (after the messages already read). */
  async nothing(ms = 150): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.#inbox.length > 0) throw new Error(`unexpected message: ${this.#inbox[0]}`);
  }

  /** Resolves with the close code once the server has closed the connection. */
  async closedBy(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      if (Date.now() > deadline) throw new Error("connection still open");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.#closed;
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.terminate();
    }
  }
}

/** Starts an in-process signalling server on a free loopback port; closed after the test. */
export async function startServer(
  options: SignallingServerOptions = {},
): Promise<{ server: SignallingServer; url: string }> {
  const server = await SignallingServer.create({ host: "127.0.0.1", port: 0, ...options });
  onCleanup(() => server.close());
  return { server, url: `ws://127.0.0.1:${server.address?.port}` };
}

/**
 * Starts `device-rtc signalling --host 127.0.0.1 --port PORT ARGS…` as a child on a random port and
 * waits until it listens: the server as a user runs it, with its flags and its log.
 */
export async function startSignallingCli(args: string[] = []): Promise<{ child: Child; url: string }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = startCli(["signalling", "--host", "127.0.0.1", "--port", String(port), ...args]);
  await child.waitFor(/listening on/);
  return { child, url: `ws://127.0.0.1:${port}` };
}

/** Waits until `condition` holds (polling), or fails with `what`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
