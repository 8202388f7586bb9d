/**
 * What the device reports about itself, as plain JSON-ready objects: the REST API's `GET /api/status`,
 * `/api/viewers` and `/api/senders` return them, and the metrics are read from them at each scrape
 * (docs/ARCHITECTURE.md "Status and metrics"). Snapshots only: nothing here is live or mutable.
 */
import type { StreamStatus } from "../media/OutgoingStream.ts";

export type { LayerStatus, StreamStatus } from "../media/OutgoingStream.ts";

/** One kind of media (video or audio) of one session, from the device's side. */
export interface SessionMediaStats {
  /** The negotiated codec (`vp8`, `h264`, `opus`), when known. */
  codec: string | undefined;
  /** RTP packets and bytes the device sent (viewer) or received (sender). */
  packets: number;
  bytes: number;
  /** bit/s and frames/s over the last few seconds. */
  bitrate: number;
  fps: number;
  /** NACK messages: received from a viewer, sent to a sender. */
  nacks: number;
  /** Packets sent again after a NACK (viewers only). */
  retransmissions: number;
  /** Keyframe requests (PLI and FIR): received from a viewer, sent to a sender. */
  keyframeRequests: number;
  /** Packets lost: as the viewer reports them (RTCP receiver reports), or as the device counts them. */
  packetsLost: number;
  /** The viewer's last reported fraction lost, 0–1 (viewers only). */
  fractionLost: number | undefined;
}

export interface SessionStats {
  /** The peer connection's state (`new`, `connecting`, `connected`, `disconnected`, `failed`, `closed`). */
  state: string;
  /** The ICE round-trip time in milliseconds (consent checks, RFC 7675), once measured. */
  rttMs: number | undefined;
  video: SessionMediaStats | undefined;
  audio: SessionMediaStats | undefined;
}

export interface SessionStatus extends SessionStats {
  sessionId: string;
  /** The other peer's id on the signalling server. */
  peerId: string;
  /** ISO time the session started, and the time ICE and DTLS connected (if they did). */
  startedAt: string;
  connectedAt: string | undefined;
}

export interface ViewerStatus extends SessionStatus {
  /** The encoding of the ladder it gets (its size). */
  layer?: string | undefined;
  /** Its browser's estimate of its bandwidth (REMB), bit/s. */
  estimateBps?: number | undefined;
}

export interface SenderStatus extends SessionStatus {
  /** The sender's name, normalised (docs/SECURITY.md: shown as text only). */
  name: string;
  /** The recording being made of this sender, if any: a name from `GET /api/recordings`. */
  recording: string | undefined;
}

/**
 * The state of a source — the contract between the capture layer and the page:
 * - `live`: the configured source delivers;
 * - `unavailable`: it does not (a camera unplugged or busy, a file that cannot be read); the device
 *   sends a stand-in meanwhile (the test picture) and the page shows "camera unavailable";
 * - `none`: the device has no such stream (`--video none`).
 */
export type SourceState = "live" | "unavailable" | "none";

export interface SourceStatus {
  /** `camera`, `file`, `image`, `test`, `mic`, `tts`, … */
  kind: string;
  /** What it is, for people (`camera /dev/video0`). */
  description: string;
  state: SourceState;
  /** Why it is unavailable, for people. */
  reason: string | undefined;
  /** ISO time of the last change of state. */
  since: string;
}

export interface DeviceStatus {
  name: string;
  startedAt: string;
  sources: { video: SourceStatus; audio: SourceStatus };
  streams: StreamStatus[];
  viewers: ViewerStatus[];
  senders: SenderStatus[];
  /** What the device does with what browsers send. */
  incoming: { audio: string; video: string[] };
}
