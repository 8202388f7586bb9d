/**
 * A drop-in gst-webrtc-signalling-server: WebSocket (ws:// or wss://) on any path, JSON text frames, the
 * same messages byte for byte. It can listen on its own port or attach to an existing HTTP(S) server
 * (`device-rtc serve` shares one port between the web app and signalling).
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { type Identity, limitGroupOf, OPEN_IDENTITY } from "../auth/roles.ts";
import { LogBudget } from "../common/LogBudget.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import { parseClientMessage, type ServerMessage, serializeServerMessage } from "../protocol/index.ts";
import type { AccessPolicy } from "./AccessPolicy.ts";
import { closeServer, listen } from "./listen.ts";
import { type CloseReason, type ConnectionLimits, SignallingConnection } from "./SignallingConnection.ts";
import { type RouterLimits, type RouterStats, SignallingRouter } from "./SignallingRouter.ts";
import { HARDENED_TLS, HTTP_LIMITS, type TlsCredentials } from "./tls.ts";

export interface SignallingServerOptions {
  /** Largest accepted frame; a larger one closes that connection with 1009. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Connections beyond this are refused with HTTP 503. Default: no limit. */
  maxPeers?: number;
  /** Default 30 s, as the Rust server's keep-alive. */
  pingIntervalMs?: number;
  /** Default 15 s: a half-open peer is removed within 45 s. */
  pongTimeoutMs?: number;
  /**
   * Bytes waiting for a peer (not yet taken by its socket) before it is disconnected
   * (`--max-send-backlog-bytes`). Default {@link DEFAULT_SEND_BACKLOG_BYTES}.
   */
  sendBufferLimit?: number;
  /** Connections from one IP address beyond this are refused with HTTP 429. Default 64. */
  maxConnectionsPerAddress?: number;
  /** Connections of one credential beyond this are refused with HTTP 429. Default 32. */
  maxConnectionsPerCredential?: number;
  /** Session, meta and status-rate limits (defaults: {@link DEFAULT_ROUTER_LIMITS}). */
  limits?: Partial<RouterLimits>;
  /** Who may do what (default: everything, as the drop-in server). */
  policy?: AccessPolicy;
  /**
   * Decides each WebSocket upgrade from its HTTP request (credential, Origin); default: everyone is
   * let in as an open peer.
   */
  authenticate?: (request: IncomingMessage) => UpgradeDecision;
  logger?: Logger;
}

/** Let in with an identity, or refused with an HTTP status and a reason (logged, and sent as the body). */
export type UpgradeDecision =
  | { ok: true; identity: Identity }
  | { ok: false; status: 400 | 401 | 403 | 429; reason: string };

export interface ListenOptions {
  host?: string;
  port?: number;
  tls?: TlsCredentials | undefined;
}

export interface SignallingServerStats extends RouterStats {
  connections: number;
}

interface ServerEvents {
  peerJoined: [peerId: string];
  peerLeft: [peerId: string, reason: CloseReason];
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  429: "Too Many Requests",
  503: "Service Unavailable",
};

/**
 * A listener that stops reading is cut off once this many bytes wait for it: far above any burst a
 * reading peer sees (a `list` of 64 producers with 4 KiB metas is 256 KiB; a few offers with every
 * candidate), yet small enough that a few stalled peers cannot exhaust the device's memory.
 */
export const DEFAULT_SEND_BACKLOG_BYTES = 16 * 1024 * 1024;

/** How long a TLS client may take to finish its handshake (the Rust server's value, commit 63b568f4a). */
const TLS_HANDSHAKE_TIMEOUT_MS = 5000;

export class SignallingServer extends EventEmitter<ServerEvents> {
  readonly #log: Logger;
  readonly #logBudget = new LogBudget();
  readonly #limits: ConnectionLimits;
  readonly #maxPeers: number;
  readonly #wss: WebSocketServer;
  readonly #router: SignallingRouter;
  readonly #connections = new Map<string, SignallingConnection>();
  readonly #identities = new Map<string, Identity>();
  readonly #perAddress = new Map<string, number>();
  readonly #maxPerAddress: number;
  readonly #maxPerCredential: number;
  readonly #authenticate: (request: IncomingMessage) => UpgradeDecision;
  readonly #attached = new Map<
    HttpServer | HttpsServer,
    (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  >();
  #ownServer: HttpServer | HttpsServer | undefined;
  #closed = false;

  constructor(options: SignallingServerOptions = {}) {
    super();
    this.#log = options.logger ?? silentLogger;
    this.#maxPeers = options.maxPeers ?? Number.POSITIVE_INFINITY;
    this.#maxPerAddress = options.maxConnectionsPerAddress ?? 64;
    this.#maxPerCredential = options.maxConnectionsPerCredential ?? 32;
    this.#authenticate = options.authenticate ?? (() => ({ ok: true, identity: OPEN_IDENTITY }));
    this.#limits = {
      sendBufferLimit: options.sendBufferLimit ?? DEFAULT_SEND_BACKLOG_BYTES,
      pingIntervalMs: options.pingIntervalMs ?? 30_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 15_000,
    };
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes ?? 1024 * 1024,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#router = new SignallingRouter({
      deliver: (peerId, message) => this.#deliver(peerId, message),
      logger: this.#log,
      policy: options.policy,
      limits: options.limits,
    });
  }

  /**
   * Creates a server listening on its own port (ws://, or wss:// with `tls`). A server that serves on
   * another HTTP(S) server's port (`serve`) is constructed with `new` and {@link SignallingServer.attach}ed.
   */
  static async create(options: ListenOptions & SignallingServerOptions = {}): Promise<SignallingServer> {
    const server = new SignallingServer(options);
    await server.#listen(options);
    return server;
  }

  get stats(): SignallingServerStats {
    return { ...this.#router.stats, connections: this.#connections.size };
  }

  /** The address of the server's own port (after {@link SignallingServer.create}). */
  get address(): AddressInfo | undefined {
    const address = this.#ownServer?.address();
    return address && typeof address === "object" ? address : undefined;
  }

  /** Serves WebSocket upgrades on any path of an existing HTTP(S) server. */
  attach(server: HttpServer | HttpsServer): void {
    if (this.#closed) throw new Error("the signalling server is closed");
    if (this.#attached.has(server)) return;
    const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#upgrade(request, socket, head);
    server.on("upgrade", onUpgrade);
    this.#attached.set(server, onUpgrade);
  }

  /** Disconnects every peer and stops listening. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const [server, onUpgrade] of this.#attached) server.off("upgrade", onUpgrade);
    this.#attached.clear();
    for (const connection of [...this.#connections.values()]) connection.close("server-closing");
    this.#wss.close();
    if (this.#ownServer) {
      await closeServer(this.#ownServer);
      this.#log.info("signalling server stopped");
    }
  }

  async #listen(options: ListenOptions): Promise<void> {
    const host = options.host ?? "0.0.0.0";
    const port = options.port ?? 8443;
    const server = options.tls
      ? createHttpsServer({
          ...options.tls,
          ...HARDENED_TLS,
          ...HTTP_LIMITS,
          handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
        })
      : createHttpServer(HTTP_LIMITS);
    server.headersTimeout = HTTP_LIMITS.headersTimeout;
    server.requestTimeout = HTTP_LIMITS.requestTimeout;
    server.on("request", (_request, response) => {
      response.writeHead(426, { "content-type": "text/plain", upgrade: "websocket", connection: "Upgrade" });
      response.end("This is a WebRTC signalling server: connect with a WebSocket.\n");
    });
    // A TLS client that fails its handshake must not take the server down.
    server.on("tlsClientError", (error, socket) => {
      this.#log.debug({ err: error.message, remote: socket.remoteAddress }, "TLS handshake failed");
    });
    server.on("clientError", (_error, socket) => socket.destroy());
    this.#ownServer = server;
    this.attach(server);
    await listen(server, { host, port }, this.#log);
    const address = this.address;
    this.#log.info(
      { host: address?.address, port: address?.port, tls: options.tls !== undefined },
      `listening on ${options.tls ? "wss" : "ws"}://${host}:${address?.port}`,
    );
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const address = request.socket.remoteAddress ?? "";
    const refuse = (status: number, reason: string, fields: Record<string, unknown> = {}) => {
      this.#logBudget.log(
        this.#log,
        "warn",
        `${address}:refused:${status}`,
        { remote: address, status, reason, ...fields },
        "refused a connection",
      );
      const body = `${reason}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Refused"}\r\nConnection: close\r\n` +
          `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    if (this.#connections.size >= this.#maxPeers) {
      refuse(503, "server full (--max-peers)", { maxPeers: this.#maxPeers });
      return;
    }
    let decision: UpgradeDecision;
    try {
      decision = this.#authenticate(request);
    } catch (error) {
      this.#log.error({ err: (error as Error).message }, "authentication failed");
      decision = { ok: false, status: 401, reason: "authentication failed" };
    }
    if (!decision.ok) {
      refuse(decision.status, decision.reason);
      return;
    }
    const identity = decision.identity;
    const credential = identity.credentialId;
    const group = limitGroupOf(identity);
    // The device's own connections (producer, consumer, one per echo) are not counted against it.
    const isDevice = identity.role === "device";
    if (!isDevice && (this.#perAddress.get(address) ?? 0) >= this.#maxPerAddress) {
      refuse(429, "too many connections from this address (--max-connections-per-address)");
      return;
    }
    if (!isDevice && group !== undefined && this.#countGroup(group) >= this.#maxPerCredential) {
      refuse(429, "too many connections with this credential (--max-connections-per-credential)");
      return;
    }
    this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(address, left);
      else this.#perAddress.delete(address);
    };
    socket.once("close", uncount);
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      if (this.#closed) {
        ws.terminate();
        return;
      }
      const peerId = randomUUID();
      const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      const connection = new SignallingConnection(peerId, ws, remote, this.#limits);
      this.#connections.set(peerId, connection);
      this.#identities.set(peerId, identity);
      connection.on("text", (text) => this.#receive(connection, text));
      connection.on("binary", () =>
        this.#logBudget.log(
          this.#log,
          "warn",
          `${peerId}:binary`,
          { peerId },
          "ignored a binary frame: unsupported message type",
        ),
      );
      connection.on("close", (reason, code) => {
        uncount();
        this.#left(connection, reason, code);
      });
      this.#log.info({ peerId, remote, role: identity.role, credential }, "peer joined");
      this.#router.addPeer(peerId, identity);
      this.emit("peerJoined", peerId);
    });
  }

  #countGroup(group: string): number {
    let count = 0;
    for (const identity of this.#identities.values()) if (limitGroupOf(identity) === group) count++;
    return count;
  }

  /** Disconnects every peer whose identity matches (a revoked or expired credential). */
  disconnectWhere(predicate: (identity: Identity) => boolean, reason = "credential revoked"): number {
    let count = 0;
    for (const [peerId, identity] of this.#identities) {
      if (!predicate(identity)) continue;
      const connection = this.#connections.get(peerId);
      if (!connection) continue;
      this.#log.info({ peerId, credential: identity.credentialId, reason }, "disconnecting a peer");
      connection.close("revoked");
      count++;
    }
    return count;
  }

  #receive(connection: SignallingConnection, text: string): void {
    const peerId = connection.peerId;
    // One message that cannot be handled (bad input, or a bug) is dropped and logged; the process and
    // every other peer go on.
    try {
      this.#log.debug({ peerId, message: text }, "received");
      const parsed = parseClientMessage(text);
      if (!parsed.ok) {
        // As upstream: dropped with a warning, never answered with an error (fatal to GStreamer clients).
        this.#logBudget.log(
          this.#log,
          "warn",
          `${peerId}:unparseable`,
          { peerId, reason: parsed.reason.slice(0, 200), length: text.length },
          "dropped an unparseable message",
        );
        return;
      }
      this.#router.handle(peerId, parsed.message);
    } catch (error) {
      this.#logBudget.log(
        this.#log,
        "error",
        `${peerId}:failed`,
        { peerId, err: (error as Error).message, length: text.length },
        "dropped a message that could not be handled",
      );
    }
  }

  #deliver(peerId: string, message: ServerMessage): void {
    const connection = this.#connections.get(peerId);
    if (!connection) return;
    const text = serializeServerMessage(message);
    this.#log.debug({ peerId, message: text }, "sent");
    connection.send(text);
  }

  #left(connection: SignallingConnection, reason: CloseReason, code: number | undefined): void {
    const peerId = connection.peerId;
    if (this.#connections.get(peerId) !== connection) return;
    this.#connections.delete(peerId);
    this.#identities.delete(peerId);
    this.#logBudget.forget(`${peerId}:`);
    if (reason === "send-queue-overflow") {
      this.#log.warn(
        { peerId, limit: this.#limits.sendBufferLimit },
        `a peer stopped reading: more than ${this.#limits.sendBufferLimit} bytes waited for it (--max-send-backlog-bytes); disconnected`,
      );
    }
    const level = reason === "send-queue-overflow" || reason === "pong-timeout" ? "warn" : "info";
    this.#log[level]({ peerId, reason, code }, "peer left");
    this.#router.removePeer(peerId);
    this.emit("peerLeft", peerId, reason);
  }
}
