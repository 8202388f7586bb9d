/**
 * What the device's producer and its receiver share as signalling peers (docs/PROTOCOL.md §5–§6): one
 * {@link SignallingClient}, registration under a role on every (re)connection, and a set of sessions
 * that `peer` and `endSession` messages are routed to, ended together when the connection is lost
 * (the server ended them and told the other peers) or the role is closed.
 */
import type { Logger } from "../common/logger.ts";
import { JsonValue, type PeerRole, type ServerMessage } from "../protocol/index.ts";
import type { PeerSession } from "./PeerSession.ts";
import type { SignallingClient } from "./SignallingClient.ts";

export interface SignallingRoleOptions {
  client: SignallingClient;
  /** The `meta` sent at registration (`{"name": …}` plus anything else). */
  meta: Record<string, unknown>;
  logger: Logger;
}

export abstract class SignallingRole<Session extends PeerSession> {
  protected readonly client: SignallingClient;
  protected readonly log: Logger;
  readonly #role: PeerRole;
  readonly #meta: Record<string, unknown>;
  readonly #sessions = new Map<string, Session>();
  #closed = false;

  protected constructor(options: SignallingRoleOptions, role: "producer" | "consumer") {
    this.client = options.client;
    this.log = options.logger;
    this.#role = role;
    this.#meta = options.meta;
    this.client.on("welcome", (peerId) => this.#register(peerId));
    this.client.on("message", (message) => this.#handle(message));
    this.client.on("disconnected", () => {
      // The server ended every session with the connection; it told the other peers itself.
      for (const session of [...this.#sessions.values()]) session.close("signalling-lost");
      this.onDisconnected();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** How many sessions are open. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** The open sessions (a copy). */
  protected get sessions(): Session[] {
    return [...this.#sessions.values()];
  }

  /** Connects to the signalling server (and keeps reconnecting). */
  start(): void {
    this.client.connect();
  }

  /** Ends every session with `endSession`, then leaves the server. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close("closed-by-device");
    await this.onClose();
    await this.client.close();
  }

  /** Whether a session with this id is open. */
  protected hasSession(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  /** Routes the session's messages from now on; forgets it when it closes. */
  protected addSession(session: Session): void {
    this.#sessions.set(session.sessionId, session);
    session.once("closed", () => this.#sessions.delete(session.sessionId));
  }

  /** A message that is not for an open session (`startSession`, `sessionStarted`, `list`…). */
  protected abstract handleMessage(message: ServerMessage): void;

  /** Called after each registration. */
  protected onRegistered(): void {}

  /** Called after the connection was lost and the sessions were ended. */
  protected onDisconnected(): void {}

  /** Called by {@link close} after the sessions were ended, before the connection closes. */
  protected async onClose(): Promise<void> {}

  #register(peerId: string): void {
    this.client.send({
      type: "setPeerStatus",
      roles: [this.#role],
      meta: JsonValue.from(this.#meta),
      peerId,
    });
    this.log.info({ peerId, name: this.#meta.name }, `registered as ${this.#role}`);
    this.onRegistered();
  }

  #handle(message: ServerMessage): void {
    switch (message.type) {
      case "peer":
        void this.#sessions.get(message.sessionId)?.handlePeerMessage(message);
        break;
      case "endSession":
      case "endSessionV1_1":
        this.#sessions.get(message.sessionId)?.close("ended-by-peer");
        break;
      case "error":
        this.log.warn({ details: message.details }, "the signalling server reported an error");
        break;
      default:
        this.handleMessage(message);
    }
  }
}
