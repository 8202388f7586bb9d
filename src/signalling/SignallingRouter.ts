/**
 * The signalling server's state machine: peers, their roles, sessions, and who is told what. It knows
 * nothing of sockets — the transport feeds it parsed messages and delivers what it emits — so every
 * sequence of docs/PROTOCOL.md §6 (A–I) can be exercised directly.
 *
 * It follows gst-plugins-rs `net/webrtc/signalling/src/handlers/mod.rs` message for message, error
 * string for error string (docs/PROTOCOL.md §7, 0.14+/0.15 wording), except where that server is fragile
 * (docs/PROTOCOL.md §11); each such departure is marked "Sturdier:" below.
 */
import { randomUUID } from "node:crypto";
import { type Identity, limitGroupOf, OPEN_IDENTITY } from "../auth/roles.ts";
import { LogBudget } from "../common/LogBudget.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import {
  type ClientMessage,
  hasRole,
  type Meta,
  metaName,
  type PeerInfo,
  type PeerMessage,
  type PeerRole,
  type ProtocolVersion,
  type ServerMessage,
  type SetPeerStatusMessage,
} from "../protocol/index.ts";
import { type AccessPolicy, OPEN_POLICY, type PeerView } from "./AccessPolicy.ts";

interface PeerState extends PeerView {
  roles: PeerRole[];
  meta: Meta;
  /** Whether a status was ever stored (the stored status then carries the peer's own id). */
  registered: boolean;
  protocolVersion: ProtocolVersion;
  receivedFirstMessage: boolean;
  /** Start of the current status-change window, and the changes broadcast in it. */
  statusWindow: { start: number; changes: number };
}

interface Session {
  id: string;
  producer: string;
  consumer: string;
  /** Who asked for it (startSession). */
  initiator: string;
}

/** What one peer (and one credential) may do; each has a flag in the CLI (docs/SECURITY.md "Limits"). */
export interface RouterLimits {
  /** Status changes of one peer broadcast per window; more are dropped (`--max-status-changes`). */
  statusChanges: number;
  statusWindowMs: number;
  /** Largest `meta`, as serialized (`--max-meta-bytes`). */
  metaBytes: number;
  /** Open sessions a peer started (`--max-sessions-per-peer`). */
  sessionsPerPeer: number;
  /** Open sessions started by all the connections of one credential (`--max-sessions-per-credential`). */
  sessionsPerCredential: number;
  /** Open sessions a peer started toward a passive consumer — media it sends (`--max-sending-per-peer`). */
  sendingPerPeer: number;
  /** The same for all the connections of one credential (`--max-sending-per-credential`). */
  sendingPerCredential: number;
}

export const DEFAULT_ROUTER_LIMITS: RouterLimits = Object.freeze({
  statusChanges: 20,
  statusWindowMs: 10_000,
  metaBytes: 4096,
  sessionsPerPeer: 16,
  sessionsPerCredential: 64,
  sendingPerPeer: 2,
  // Below the device's 4 talker slots: one credential cannot take every slot.
  sendingPerCredential: 2,
});

export interface SignallingRouterOptions {
  /** Called for every message to send, in order. Per-peer order is the order of these calls. */
  deliver(peerId: string, message: ServerMessage): void;
  logger?: Logger;
  /** Session ids; random UUIDv4 by default, as the Rust server. */
  newSessionId?: () => string;
  /** Who may do what; everything by default (the drop-in server). */
  policy?: AccessPolicy;
  limits?: Partial<RouterLimits>;
  /** The clock of the rate limits (tests). */
  now?: () => number;
}

export interface RouterStats {
  peers: number;
  sessions: number;
}

/** A semantic error: its text is sent back to the offending peer as `{"type":"error","details":…}`. */
class ProtocolViolation extends Error {}

export class SignallingRouter {
  readonly #peers = new Map<string, PeerState>();
  readonly #sessions = new Map<string, Session>();
  readonly #producerSessions = new Map<string, Set<string>>();
  readonly #consumerSessions = new Map<string, Set<string>>();
  readonly #deliver: SignallingRouterOptions["deliver"];
  readonly #log: Logger;
  readonly #newSessionId: () => string;
  readonly #policy: AccessPolicy;
  readonly #limits: RouterLimits;
  readonly #now: () => number;
  readonly #logBudget = new LogBudget();
  /** Sessions by the peer that started them. */
  readonly #initiated = new Map<string, Set<string>>();

  constructor(options: SignallingRouterOptions) {
    this.#deliver = options.deliver;
    this.#log = options.logger ?? silentLogger;
    this.#newSessionId = options.newSessionId ?? randomUUID;
    this.#policy = options.policy ?? OPEN_POLICY;
    this.#limits = { ...DEFAULT_ROUTER_LIMITS, ...options.limits };
    this.#now = options.now ?? Date.now;
  }

  get limits(): Readonly<RouterLimits> {
    return this.#limits;
  }

  get stats(): RouterStats {
    return { peers: this.#peers.size, sessions: this.#sessions.size };
  }

  /** A new connection: the peer is welcomed with its id (sequence A/B). */
  addPeer(peerId: string, identity: Identity = OPEN_IDENTITY): void {
    this.#peers.set(peerId, {
      id: peerId,
      identity,
      statusWindow: { start: 0, changes: 0 },
      roles: [],
      meta: null,
      registered: false,
      protocolVersion: "v1_0",
      receivedFirstMessage: false,
    });
    this.#deliver(peerId, { type: "welcome", peerId });
  }

  /**
   * A connection closed (sequence H): every session of the peer ends, the other member of each is told,
   * and every listener learns that the peer is gone (`roles: []`).
   */
  removePeer(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    this.#peers.delete(peerId);
    this.#stopSessions(peerId, this.#producerSessions);
    this.#stopSessions(peerId, this.#consumerSessions);
    this.#initiated.delete(peerId);
    this.#logBudget.forget(`${peerId}:`);
    this.#broadcastStatus(peer, [], peer.meta);
  }

  /** Handles one parsed message from a peer; protocol errors are answered to that peer only. */
  handle(peerId: string, message: ClientMessage): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return; // already removed: a message raced its connection's close
    try {
      this.#dispatch(peerId, peer, message);
    } catch (error) {
      if (!(error instanceof ProtocolViolation)) throw error;
      this.#logBudget.log(
        this.#log,
        "warn",
        `${peerId}:error:${message.type}`,
        { peerId, type: message.type, details: error.message },
        "protocol error",
      );
      this.#deliver(peerId, { type: "error", details: error.message });
    } finally {
      // Read again: setPeerStatus replaces the stored state, as the Rust handler does.
      const current = this.#peers.get(peerId);
      if (current) current.receivedFirstMessage = true;
    }
  }

  #dispatch(peerId: string, peer: PeerState, message: ClientMessage): void {
    switch (message.type) {
      case "setProtocolVersion":
        if (peer.receivedFirstMessage) {
          throw new ProtocolViolation(
            `Protocol version selection for peer '${peerId}' must be first message`,
          );
        }
        peer.protocolVersion = message.version;
        break;
      case "setPeerStatus":
        this.#setPeerStatus(peerId, peer, message);
        break;
      case "list":
        this.#deliver(peerId, { type: "list", producers: this.#peersWithRole(peer, "producer") });
        break;
      case "listConsumers":
        this.#deliver(peerId, { type: "listConsumers", consumers: this.#peersWithRole(peer, "consumer") });
        break;
      case "startSession":
        this.#startSession(peerId, message.peerId, message.offer);
        break;
      case "peer":
        this.#forward(peerId, message);
        break;
      case "endSession":
        this.#endSessionRequested(peerId, message.sessionId, null);
        break;
      case "endSessionV1_1":
        this.#endSessionRequested(peerId, message.sessionId, message.error);
        break;
      case "newPeer":
        // Sturdier: the Rust server lets a client reset its own state (and get a second welcome) this way.
        this.#log.warn({ peerId }, "ignored a newPeer message sent by a client");
        break;
    }
  }

  #setPeerStatus(peerId: string, peer: PeerState, status: SetPeerStatusMessage): void {
    // The stored status carries the peer's own id, so an update "hasn't changed" only when it repeats
    // that id too (webrtcsink does; gstwebrtc-api, which sends no peerId, is always re-broadcast).
    const unchanged =
      sameRoles(status.roles, peer.roles) &&
      sameMeta(status.meta, peer.meta) &&
      (peer.registered ? status.peerId === peerId : status.peerId === undefined);
    if (unchanged) {
      this.#log.debug({ peerId }, "status hasn't changed");
      return;
    }
    if (hasRole(status.roles, "producer") && hasRole(status.roles, "consumer")) {
      throw new ProtocolViolation(`Cannot register peer ${peerId} as both producer and passive consumer`);
    }
    const metaBytes = status.meta === null ? 0 : Buffer.byteLength(status.meta.text);
    if (metaBytes > this.#limits.metaBytes) {
      throw new ProtocolViolation(
        `meta is too large: ${metaBytes} bytes, the limit is ${this.#limits.metaBytes} (--max-meta-bytes)`,
      );
    }
    const refused = this.#policy.register(peer, status.roles, status.meta);
    if (refused !== null) throw new ProtocolViolation(`Cannot register peer ${peerId}: ${refused}`);
    // Sturdier: the Rust server broadcasts every change; a peer flooding status changes would make every
    // listener's connection carry its flood. Beyond the budget of a window they are dropped.
    const now = this.#now();
    const window = peer.statusWindow;
    if (now - window.start >= this.#limits.statusWindowMs) {
      window.start = now;
      window.changes = 0;
    }
    if (window.changes >= this.#limits.statusChanges) {
      this.#logBudget.log(
        this.#log,
        "warn",
        `${peerId}:status-rate`,
        { peerId, limit: this.#limits.statusChanges, windowMs: this.#limits.statusWindowMs },
        "dropped status changes beyond the limit (--max-status-changes)",
      );
      return;
    }
    window.changes++;
    const first = !peer.registered;
    // Only one of the two, as upstream (`else if`): dropping both roles at once keeps consumer sessions.
    if (hasRole(peer.roles, "producer") && !hasRole(status.roles, "producer")) {
      this.#stopSessions(peerId, this.#producerSessions);
    } else if (hasRole(peer.roles, "consumer") && !hasRole(status.roles, "consumer")) {
      this.#stopSessions(peerId, this.#consumerSessions);
    }
    peer.roles = [...status.roles];
    peer.meta = status.meta;
    peer.registered = true;
    peer.receivedFirstMessage = false;
    this.#broadcastStatus(peer, peer.roles, peer.meta);
    // A registration is a lifecycle event; later changes of status are not.
    this.#log[first ? "info" : "debug"](
      { peerId, roles: peer.roles, name: metaName(peer.meta)?.slice(0, 64) },
      first ? "peer registered" : "peer status changed",
    );
  }

  #broadcastStatus(subject: PeerState, roles: PeerRole[], meta: Meta): void {
    for (const [id, other] of this.#peers) {
      if (hasRole(other.roles, "listener") && this.#policy.canSee(other, subject)) {
        this.#deliver(id, { type: "peerStatusChanged", roles, meta, peerId: subject.id });
      }
    }
  }

  #peersWithRole(observer: PeerState, role: PeerRole): PeerInfo[] {
    const found: PeerInfo[] = [];
    for (const [id, peer] of this.#peers) {
      if (hasRole(peer.roles, role) && this.#policy.canSee(observer, peer))
        found.push({ id, meta: peer.meta });
    }
    return found;
  }

  /** Sessions started by `peerId` (all, or only those in which it sends media). */
  #startedBy(peerId: string, sending: boolean): number {
    const ids = this.#initiated.get(peerId);
    if (!ids) return 0;
    if (!sending) return ids.size;
    let count = 0;
    for (const id of ids) if (this.#sessions.get(id)?.producer === peerId) count++;
    return count;
  }

  /** The same, summed over every connection of the peer's credential. */
  #startedByCredential(peer: PeerState, sending: boolean): number {
    const group = limitGroupOf(peer.identity);
    if (group === undefined) return this.#startedBy(peer.id, sending);
    let count = 0;
    for (const [id, other] of this.#peers) {
      if (limitGroupOf(other.identity) === group) count += this.#startedBy(id, sending);
    }
    return count;
  }

  #checkSessionLimits(from: PeerState, sending: boolean): void {
    if (from.identity.role === "device") return; // the device's own sessions (`--consume`)
    const limits = this.#limits;
    const checks: Array<[number, number, string]> = [
      [this.#startedBy(from.id, false), limits.sessionsPerPeer, "--max-sessions-per-peer"],
      [this.#startedByCredential(from, false), limits.sessionsPerCredential, "--max-sessions-per-credential"],
    ];
    if (sending) {
      checks.push(
        [this.#startedBy(from.id, true), limits.sendingPerPeer, "--max-sending-per-peer"],
        [this.#startedByCredential(from, true), limits.sendingPerCredential, "--max-sending-per-credential"],
      );
    }
    for (const [open, limit, flag] of checks) {
      if (open >= limit) {
        this.#logBudget.log(
          this.#log,
          "warn",
          `${from.id}:limit:${flag}`,
          { peerId: from.id, credential: from.identity.credentialId, open, limit },
          `refused a session: limit reached (${flag})`,
        );
        throw new ProtocolViolation(`Too many sessions: ${open} open, the limit is ${limit} (${flag})`);
      }
    }
  }

  /** Sequences C, D, E: the target's role decides who produces. */
  #startSession(fromId: string, toId: string, offer: string | null): void {
    const from = this.#peers.get(fromId) as PeerState | undefined;
    if (!from) throw new ProtocolViolation(`Peer with ID '${fromId}' not found`);
    const to = this.#peers.get(toId);
    if (!to) throw new ProtocolViolation(`Peer with ID '${toId}' not found`);
    let producer: string;
    let consumer: string;
    if (hasRole(to.roles, "producer")) [producer, consumer] = [toId, fromId];
    else if (hasRole(to.roles, "consumer")) [producer, consumer] = [fromId, toId];
    else {
      throw new ProtocolViolation(
        `Missing a producer or a consumer: id ${fromId} roles ${rustRoles(from.roles)}, id ${toId} roles ${rustRoles(to.roles)}`,
      );
    }
    const refused = this.#policy.startSession(from, to);
    if (refused !== null) throw new ProtocolViolation(`Cannot start a session with ${toId}: ${refused}`);
    this.#checkSessionLimits(from, producer === fromId);
    const id = this.#newSessionId();
    this.#sessions.set(id, { id, producer, consumer, initiator: fromId });
    setAdd(this.#consumerSessions, consumer, id);
    setAdd(this.#producerSessions, producer, id);
    setAdd(this.#initiated, fromId, id);
    // The consumer hears first, then the producer (handlers/mod.rs start_session).
    this.#deliver(consumer, { type: "sessionStarted", peerId: producer, sessionId: id });
    this.#deliver(producer, { type: "startSession", peerId: consumer, sessionId: id, offer });
    this.#log.info({ sessionId: id, producerId: producer, consumerId: consumer }, "session started");
  }

  #forward(fromId: string, message: PeerMessage): void {
    const session = this.#sessions.get(message.sessionId);
    if (!session) {
      // No error since 0.13.6: an error is fatal to webrtcsink, and late messages race endSession.
      this.#log.warn({ peerId: fromId, sessionId: message.sessionId }, "peer message for unknown session");
      return;
    }
    if (message.sdp?.type === "offer" && fromId === session.consumer) {
      throw new ProtocolViolation(
        `cannot forward offer from "${fromId}" to "${session.producer}" as "${fromId}" is not the producer`,
      );
    }
    this.#deliver(otherMember(session, fromId), message);
  }

  #endSessionRequested(peerId: string, sessionId: string, error: string | null): void {
    const session = this.#sessions.get(sessionId);
    if (!session) {
      this.#log.warn({ peerId, sessionId }, "end of unknown session");
      return;
    }
    // Sturdier: the Rust server removes the session before checking membership, so anyone who knows a
    // session id can silently kill it. Here a non-member gets the error and the session lives on.
    otherMember(session, peerId);
    const errorAllowed = error === null || this.#peers.get(peerId)?.protocolVersion === "v1_1";
    // Sturdier: upstream drops the session without telling the other member when a v1.0 peer sends an
    // error; here the sender still gets the error, and the session ends properly.
    this.#endSession(session, peerId, errorAllowed ? error : null);
    if (!errorAllowed) {
      throw new ProtocolViolation(
        `Invalid end session message with error from peer '${peerId}', minimum protocol version is 1.1`,
      );
    }
  }

  /** Sequences G, H, I. The other member gets `endSessionV1_1` only if it opted into v1.1. */
  #endSession(session: Session, endedBy: string, error: string | null): void {
    this.#sessions.delete(session.id);
    this.#initiated.get(session.initiator)?.delete(session.id);
    if (this.#initiated.get(session.initiator)?.size === 0) this.#initiated.delete(session.initiator);
    this.#consumerSessions.get(session.consumer)?.delete(session.id);
    this.#producerSessions.get(session.producer)?.delete(session.id);
    if (this.#consumerSessions.get(session.consumer)?.size === 0)
      this.#consumerSessions.delete(session.consumer);
    if (this.#producerSessions.get(session.producer)?.size === 0)
      this.#producerSessions.delete(session.producer);
    const other = otherMember(session, endedBy);
    if (this.#peers.get(other)?.protocolVersion === "v1_1") {
      this.#deliver(other, { type: "endSessionV1_1", sessionId: session.id, error });
    } else {
      this.#deliver(other, { type: "endSession", sessionId: session.id });
    }
    this.#log.info({ sessionId: session.id, endedBy, error: error ?? undefined }, "session ended");
  }

  #stopSessions(peerId: string, index: Map<string, Set<string>>): void {
    const ids = index.get(peerId);
    if (!ids) return;
    index.delete(peerId);
    for (const id of ids) {
      const session = this.#sessions.get(id);
      if (session) this.#endSession(session, peerId, null);
    }
  }
}

function otherMember(session: Session, peerId: string): string {
  if (session.producer === peerId) return session.consumer;
  if (session.consumer === peerId) return session.producer;
  throw new ProtocolViolation(`Peer ${peerId} is not part of ${session.id}`);
}

function setAdd(index: Map<string, Set<string>>, key: string, value: string): void {
  const set = index.get(key);
  if (set) set.add(value);
  else index.set(key, new Set([value]));
}

function sameRoles(a: readonly PeerRole[], b: readonly PeerRole[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}

function sameMeta(a: Meta, b: Meta): boolean {
  return a === null ? b === null : a.equals(b);
}

/** Rust's `{:?}` of a `Vec<PeerRole>`, e.g. `[Producer, Listener]`. */
function rustRoles(roles: readonly PeerRole[]): string {
  return `[${roles.map((role) => role[0]?.toUpperCase() + role.slice(1)).join(", ")}]`;
}
