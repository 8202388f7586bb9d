/**
 * Serializers whose output is byte-identical to the Rust implementation (`serde_json::to_string`):
 * compact, `type` first, then the fields in their Rust declaration order; `meta`, `offer` and `error`
 * written as `null` when empty; `peerId` of a peer status omitted when absent; forwarded ICE reduced to
 * `{candidate, sdpMLineIndex}` and SDP to `{type, sdp}` (docs/PROTOCOL.md §2, §4).
 */
import type {
  ClientMessage,
  IcePayload,
  Meta,
  PeerInfo,
  PeerMessage,
  SdpPayload,
  ServerMessage,
} from "./messages.ts";

const str = JSON.stringify;

function meta(value: Meta): string {
  return value === null ? "null" : value.text;
}

function nullable(value: string | null): string {
  return value === null ? "null" : str(value);
}

function peers(list: readonly PeerInfo[]): string {
  return `[${list.map((peer) => `{"id":${str(peer.id)},"meta":${meta(peer.meta)}}`).join(",")}]`;
}

function sdp(payload: SdpPayload): string {
  return `{"type":${str(payload.type)},"sdp":${str(payload.sdp)}}`;
}

function ice(payload: IcePayload): string {
  return `{"candidate":${str(payload.candidate)},"sdpMLineIndex":${payload.sdpMLineIndex}}`;
}

function peer(message: PeerMessage): string {
  const body = message.sdp !== undefined ? `"sdp":${sdp(message.sdp)}` : `"ice":${ice(message.ice)}`;
  return `{"type":"peer","sessionId":${str(message.sessionId)},${body}}`;
}

/** The messages both directions share, written the same way by either side. */
function sessionMessage(
  message: Extract<ClientMessage | ServerMessage, { type: "peer" | "endSession" | "endSessionV1_1" }>,
): string {
  switch (message.type) {
    case "peer":
      return peer(message);
    case "endSession":
      return `{"type":"endSession","sessionId":${str(message.sessionId)}}`;
    case "endSessionV1_1":
      return `{"type":"endSessionV1_1","sessionId":${str(message.sessionId)},"error":${nullable(message.error)}}`;
  }
}

/** What the server sends, exactly as gst-webrtc-signalling-server writes it. */
export function serializeServerMessage(message: ServerMessage): string {
  switch (message.type) {
    case "welcome":
      return `{"type":"welcome","peerId":${str(message.peerId)}}`;
    case "peerStatusChanged":
      return `{"type":"peerStatusChanged","roles":${str(message.roles)},"meta":${meta(message.meta)},"peerId":${str(message.peerId)}}`;
    case "list":
      return `{"type":"list","producers":${peers(message.producers)}}`;
    case "listConsumers":
      return `{"type":"listConsumers","consumers":${peers(message.consumers)}}`;
    case "sessionStarted":
      return `{"type":"sessionStarted","peerId":${str(message.peerId)},"sessionId":${str(message.sessionId)}}`;
    case "startSession":
      return `{"type":"startSession","peerId":${str(message.peerId)},"sessionId":${str(message.sessionId)},"offer":${nullable(message.offer)}}`;
    case "peer":
    case "endSession":
    case "endSessionV1_1":
      return sessionMessage(message);
    case "error":
      return `{"type":"error","details":${str(message.details)}}`;
  }
}

/** What a client sends, exactly as the GStreamer signaller (webrtcsink/webrtcsrc) writes it. */
export function serializeClientMessage(message: ClientMessage): string {
  switch (message.type) {
    case "setProtocolVersion":
      return `{"type":"setProtocolVersion","version":${str(message.version)}}`;
    case "setPeerStatus": {
      const id = message.peerId === undefined ? "" : `,"peerId":${str(message.peerId)}`;
      return `{"type":"setPeerStatus","roles":${str(message.roles)},"meta":${meta(message.meta)}${id}}`;
    }
    case "list":
    case "listConsumers":
    case "newPeer":
      return `{"type":${str(message.type)}}`;
    case "startSession":
      return `{"type":"startSession","peerId":${str(message.peerId)},"offer":${nullable(message.offer)}}`;
    case "peer":
    case "endSession":
    case "endSessionV1_1":
      return sessionMessage(message);
  }
}
