/**
 * Every message of the GStreamer WebRTC signalling protocol, in both directions, as defined by
 * gst-plugins-rs `net/webrtc/protocol/src/lib.rs` (0.14/0.15, plus the v1.1 additions of `main`).
 * See docs/PROTOCOL.md §3–§4.
 */
import type { JsonValue } from "./json.ts";

export const PEER_ROLES = ["producer", "listener", "consumer"] as const;
export type PeerRole = (typeof PEER_ROLES)[number];

export const PROTOCOL_VERSIONS = ["v1_0", "v1_1"] as const;
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];

/** A peer's free-form metadata. GStreamer clients only use it when it is an object. */
export type Meta = JsonValue | null;

export interface SdpPayload {
  type: "offer" | "answer";
  sdp: string;
}

/** A trickled candidate: the server keeps only these two fields (`sdpMid` etc. are dropped). */
export interface IcePayload {
  /** The full `candidate:` line; an empty string means end of candidates. */
  candidate: string;
  sdpMLineIndex: number;
}

/** `peer`: forwarded to the other member of a session. Carries an SDP or an ICE candidate. */
export type PeerMessage =
  | { type: "peer"; sessionId: string; sdp: SdpPayload; ice?: never }
  | { type: "peer"; sessionId: string; ice: IcePayload; sdp?: never };

/** A producer or passive consumer as listed by the server. */
export interface PeerInfo {
  id: string;
  meta: Meta;
}

// ---- client → server (`IncomingMessage`) ----

export interface SetProtocolVersionMessage {
  type: "setProtocolVersion";
  version: ProtocolVersion;
}
export interface SetPeerStatusMessage {
  type: "setPeerStatus";
  roles: PeerRole[];
  meta: Meta;
  /** Sent by GStreamer clients (their own id); ignored by the server except in the "unchanged" check. */
  peerId?: string | undefined;
}
export interface ListMessage {
  type: "list";
}
export interface ListConsumersMessage {
  type: "listConsumers";
}
export interface StartSessionRequest {
  type: "startSession";
  /** The peer to start a session with. */
  peerId: string;
  /** An SDP offer when the consumer offers (gstwebrtc-api offer options); null otherwise. */
  offer: string | null;
}
export interface EndSessionMessage {
  type: "endSession";
  sessionId: string;
}
/** Protocol v1.1 only. */
export interface EndSessionV11Message {
  type: "endSessionV1_1";
  sessionId: string;
  error: string | null;
}
/** Internal to the server; a client that sends it is ignored. */
export interface NewPeerMessage {
  type: "newPeer";
}

export type ClientMessage =
  | SetProtocolVersionMessage
  | SetPeerStatusMessage
  | ListMessage
  | ListConsumersMessage
  | StartSessionRequest
  | PeerMessage
  | EndSessionMessage
  | EndSessionV11Message
  | NewPeerMessage;

// ---- server → client (`OutgoingMessage`) ----

export interface WelcomeMessage {
  type: "welcome";
  peerId: string;
}
export interface PeerStatusChangedMessage {
  type: "peerStatusChanged";
  roles: PeerRole[];
  meta: Meta;
  peerId: string;
}
export interface ListReply {
  type: "list";
  producers: PeerInfo[];
}
export interface ListConsumersReply {
  type: "listConsumers";
  consumers: PeerInfo[];
}
export interface SessionStartedMessage {
  type: "sessionStarted";
  /** The producer of the new session. */
  peerId: string;
  sessionId: string;
}
export interface StartSessionCommand {
  type: "startSession";
  /** The consumer of the new session. */
  peerId: string;
  sessionId: string;
  offer: string | null;
}
export interface ErrorMessage {
  type: "error";
  details: string;
}

export type ServerMessage =
  | WelcomeMessage
  | PeerStatusChangedMessage
  | ListReply
  | ListConsumersReply
  | SessionStartedMessage
  | StartSessionCommand
  | PeerMessage
  | EndSessionMessage
  | EndSessionV11Message
  | ErrorMessage;

export function hasRole(roles: readonly PeerRole[], role: PeerRole): boolean {
  return roles.includes(role);
}

/** The `name` of a GStreamer-style meta object (`{"name": …}`), if it has one. */
export function metaName(meta: Meta): string | undefined {
  const value = meta?.value;
  if (value !== null && typeof value === "object" && typeof (value as { name?: unknown }).name === "string") {
    return (value as { name: string }).name;
  }
  return undefined;
}
