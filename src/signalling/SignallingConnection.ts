/**
 * One peer's WebSocket, as the signalling server sees it: text frames in, an ordered and bounded stream
 * of text frames out, and a liveness check.
 *
 * - Bounded output: a peer that does not read is disconnected once too many bytes are waiting for it
 *   (not yet taken by the kernel), so it can never hold up routing for anyone else (the Rust server
 *   awaits a full queue; docs/PROTOCOL.md §8). Bytes, not messages: a burst of thousands of tiny frames in
 *   one event-loop turn is nothing to a reader that keeps up.
 * - Liveness: a WebSocket ping every `pingIntervalMs`; no pong within `pongTimeoutMs` and the peer is
 *   dropped, so a half-open connection is gone within interval + timeout (RFC 6455 §5.5.2/§5.5.3).
 */
import { EventEmitter } from "node:events";
import type { WebSocket } from "ws";

export interface ConnectionLimits {
  /** Bytes buffered for the peer before it is dropped. */
  sendBufferLimit: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
}

export type CloseReason =
  | "closed"
  | "send-queue-overflow"
  | "pong-timeout"
  | "server-closing"
  | "revoked"
  | "error";

interface ConnectionEvents {
  text: [text: string];
  binary: [];
  close: [reason: CloseReason, code: number | undefined];
}

/** WebSocket close codes used here (RFC 6455 §7.4.1). */
const GOING_AWAY = 1001;
const POLICY_VIOLATION = 1008;

export class SignallingConnection extends EventEmitter<ConnectionEvents> {
  readonly peerId: string;
  readonly remoteAddress: string;
  readonly #socket: WebSocket;
  readonly #limits: ConnectionLimits;
  #pingTimer: NodeJS.Timeout | undefined;
  #pongTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #closeReason: CloseReason = "closed";

  constructor(peerId: string, socket: WebSocket, remoteAddress: string, limits: ConnectionLimits) {
    super();
    this.peerId = peerId;
    this.#socket = socket;
    this.remoteAddress = remoteAddress;
    this.#limits = limits;
    socket.on("message", (data, isBinary) => {
      if (this.#closed) return;
      if (isBinary) this.emit("binary");
      else this.emit("text", data.toString("utf8"));
    });
    socket.on("pong", () => this.#clearPongTimer());
    // ws reports protocol violations (oversized or malformed frames) as errors, then closes.
    socket.on("error", () => {
      if (this.#closeReason === "closed") this.#closeReason = "error";
    });
    socket.on("close", (code) => this.#finish(code));
    this.#pingTimer = setInterval(() => this.#ping(), limits.pingIntervalMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes not yet flushed to the peer's socket. */
  get pendingBytes(): number {
    return this.#socket.bufferedAmount;
  }

  /** Queues one text frame. A peer too far behind is disconnected instead. */
  send(text: string): void {
    if (this.#closed) return;
    if (this.#socket.bufferedAmount + text.length > this.#limits.sendBufferLimit) {
      this.#closeReason = "send-queue-overflow";
      this.#socket.terminate();
      this.#finish(undefined);
      return;
    }
    this.#socket.send(text);
  }

  /** Closes the connection; idempotent. */
  close(reason: CloseReason = "server-closing"): void {
    if (this.#closed) return;
    this.#closeReason = reason;
    const code = reason === "server-closing" ? GOING_AWAY : POLICY_VIOLATION;
    this.#socket.close(code);
    // A peer that does not complete the closing handshake is cut off.
    const kill = setTimeout(() => this.#socket.terminate(), 1000);
    kill.unref();
    this.#socket.once("close", () => clearTimeout(kill));
    this.#finish(code);
  }

  #ping(): void {
    if (this.#closed || this.#pongTimer) return;
    this.#pongTimer = setTimeout(() => {
      this.#pongTimer = undefined;
      this.#closeReason = "pong-timeout";
      this.#socket.terminate();
      this.#finish(undefined);
    }, this.#limits.pongTimeoutMs);
    this.#socket.ping();
  }

  #clearPongTimer(): void {
    clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
  }

  /** The one teardown path: stops the timers and tells the owner, once. */
  #finish(code: number | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    this.#clearPongTimer();
    this.emit("close", this.#closeReason, code);
  }
}
