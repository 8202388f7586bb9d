/**
 * What Node forwards to GStreamer of the media it receives: RTP with a fixed payload type per codec
 * (so the pipelines' caps can be written before a session is negotiated), and the pipeline pieces that
 * take it apart again.
 */
import { PAYLOAD_TYPES } from "./pipelines.ts";

export type IncomingVideoCodec = "vp8" | "h264";

const ENCODING_NAMES = { vp8: "VP8", h264: "H264", opus: "OPUS" } as const;

/** udpsrc caps for RTP of `codec` as Node forwards it. */
export function rtpCaps(codec: IncomingVideoCodec | "opus"): string {
  const media = codec === "opus" ? "audio" : "video";
  const clockRate = codec === "opus" ? 48000 : 90000;
  return `application/x-rtp,media=${media},clock-rate=${clockRate},encoding-name=${ENCODING_NAMES[codec]},payload=${PAYLOAD_TYPES[codec]}`;
}

/**
 * Sets the payload type of an RTP packet in place (RFC 3550 §5.1: the low 7 bits of byte 1; the marker
 * bit is kept).
 */
export function setPayloadType(packet: Buffer, payloadType: number): Buffer {
  packet[1] = ((packet[1] ?? 0) & 0x80) | (payloadType & 0x7f);
  return packet;
}

/** Maps a negotiated MIME type (`video/VP8`, `video/H264`, `audio/opus`) to what we forward, if we can. */
export function codecOfMime(mimeType: string): IncomingVideoCodec | "opus" | undefined {
  const name = mimeType.toLowerCase();
  if (name === "video/vp8") return "vp8";
  if (name === "video/h264") return "h264";
  if (name === "audio/opus") return "opus";
  return undefined;
}

/** udpsrc → jitter buffer → depayloader, ending in the encoded stream (no `!` at the end). */
export function depayTokens(port: number, codec: IncomingVideoCodec | "opus", latencyMs: number): string[] {
  const depay =
    codec === "vp8"
      ? ["rtpvp8depay", "wait-for-keyframe=true"]
      : codec === "h264"
        ? ["rtph264depay", "wait-for-keyframe=true", "!", "h264parse"]
        : ["rtpopusdepay"];
  return [
    "udpsrc",
    "address=127.0.0.1",
    `port=${port}`,
    `caps=${rtpCaps(codec)}`,
    "!",
    "rtpjitterbuffer",
    `latency=${latencyMs}`,
    "do-lost=true",
    "!",
    ...depay,
  ];
}

/** A decoder for the encoded stream. */
export function decoderTokens(codec: IncomingVideoCodec | "opus"): string[] {
  if (codec === "vp8") return ["vp8dec"];
  if (codec === "h264") return ["avdec_h264"];
  return ["opusdec", "plc=true"];
}
