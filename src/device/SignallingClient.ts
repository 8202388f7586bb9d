/**
 * The device's connection to a signalling server: one WebSocket, messages in the protocol module's
 * types, and reconnection with backoff and jitter when the server goes away. Each (re)connection gets a
 * new peer id from the server's `welcome`; owners re-register on every {@link SignallingClient} `welcome`.
 */
import { EventEmitter } from "node:events";
import WebSocket from "ws";
import type { Logger } from "../common/logger.ts";
import {
  type ClientMessage,
  parseServerMessage,
  type ServerMessage,
  serializeClientMessage,
} from "../protocol/index.ts";
import { SIGNALLING_CLOSE_GRACE_MS, SIGNALLING_CONNECT_TIMEOUT_MS } from "./constants.ts";
import { DefaultReconnectPolicy, type ReconnectPolicy } from "./ReconnectPolicy.ts";

export interface SignallingClientOptions {
  /** ws:// or wss:// URL of the signalling server. */
  url: string;
  logger: Logger;
  /** Extra CA certificates (PEM) to trust for wss://. */
  ca?: string | Buffer | undefined;
  /** HTTP headers of the WebSocket upgrade, e.g. `Authorization: Bearer …` (docs/SECURITY.md). */
  headers?: Record<string, string> | undefined;
  reconnectPolicy?: ReconnectPolicy;
}

interface SignallingClientEvents {
  /** Connected and welcomed; `peerId` is this connection's id. */
  welcome: [peerId: string];
  message: [message: ServerMessage];
  /** The connection was lost (a reconnection follows unless the client is closed). */
  disconnected: [reason: string];
}

export class SignallingClient extends EventEmitter<SignallingClientEvents> {
  readonly #options: SignallingClientOptions;
  readonly #log: Logger;
  readonly #policy: ReconnectPolicy;
  #socket: WebSocket | undefined;
  #peerId: string | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryCount = 0;
  #lostAt = 0;
  #closed = false;

  constructor(options: SignallingClientOptions) {
    super();
    this.#options = options;
    this.#log = options.logger;
    this.#policy = options.reconnectPolicy ?? new DefaultReconnectPolicy();
  }

  /** Connected and welcomed. */
  get connected(): boolean {
    return this.#peerId !== undefined;
  }

  /**
   * Starts connecting, and keeps reconnecting until closed: a device started before its server simply
   * waits for it. Every welcome is announced with the `welcome` event.
   */
  connect(): void {
    if (!this.#socket && !this.#retryTimer) this.#open();
  }

  /** Sends a message; false when not connected (it is dropped: sessions end with the connection). */
  send(message: ClientMessage): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || !this.#peerId) return false;
    const text = serializeClientMessage(message);
    this.#log.debug({ message: text }, "signalling send");
    socket.send(text);
    return true;
  }

  /** Closes for good (no reconnection). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    if (!socket) return;
    if (socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => socket.terminate(), SIGNALLING_CLOSE_GRACE_MS);
      socket.once("close", () => {
        clearTimeout(kill);
        resolve();
      });
      socket.close(1000);
    });
  }

  #open(): void {
    if (this.#closed) return;
    const socket = new WebSocket(this.#options.url, {
      ca: this.#options.ca,
      headers: this.#options.headers,
      handshakeTimeout: SIGNALLING_CONNECT_TIMEOUT_MS,
      perMessageDeflate: false,
    });
    this.#socket = socket;
    let failure = "connection closed";
    socket.on("error", (error) => {
      failure = error.message;
    });
    socket.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      this.#log.debug({ message: text }, "signalling receive");
      const parsed = parseServerMessage(text);
      if (!parsed.ok) {
        this.#log.warn(
          { reason: parsed.reason },
          "ignored an unparseable message from the signalling server",
        );
        return;
      }
      if (parsed.message.type === "welcome") {
        this.#peerId = parsed.message.peerId;
        if (this.#retryCount > 0)
          this.#log.info({ peerId: this.#peerId }, "reconnected to the signalling server");
        else
          this.#log.info(
            { peerId: this.#peerId, url: this.#options.url },
            "connected to the signalling server",
          );
        this.#retryCount = 0;
        const peerId = this.#peerId;
        this.#guard(() => this.emit("welcome", peerId));
        return;
      }
      this.#guard(() => this.emit("message", parsed.message));
    });
    socket.on("close", (code) => {
      if (this.#socket !== socket) return;
      const wasConnected = this.#peerId !== undefined;
      this.#peerId = undefined;
      this.#socket = undefined;
      if (this.#closed) return;
      if (wasConnected || this.#retryCount === 0) this.#lostAt = Date.now();
      const reason = code === 1006 || code === 1005 ? failure : `${failure} (${code})`;
      if (wasConnected) this.#log.warn({ reason }, "lost the signalling server");
      else if (this.#retryCount === 1)
        this.#log.warn({ reason, url: this.#options.url }, "cannot reach the signalling server; retrying");
      this.emit("disconnected", reason);
      const delay = this.#policy.nextRetryDelayInMs({
        retryCount: this.#retryCount,
        elapsedMs: Date.now() - this.#lostAt,
      });
      if (delay === null) {
        this.#log.error({ reason }, "gave up reconnecting to the signalling server");
        return;
      }
      this.#retryCount++;
      this.#log.debug({ delay, retry: this.#retryCount }, "reconnecting");
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#open();
      }, delay);
    });
  }

  /** A bug in whoever handles a message costs that message, never the connection or the process. */
  #guard(handle: () => void): void {
    try {
      handle();
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "dropped a message from the signalling server");
    }
  }
}
