/**
 * Every fact about the three codecs the device speaks, in one table: what the SDP side (werift) and
 * the pipeline side (GStreamer) must agree on. RTP payload formats: VP8 RFC 7741, H.264 RFC 6184,
 * Opus RFC 7587.
 *
 * Payload types are fixed per codec inside the device: GStreamer writes them and Node forwards received
 * media with them, so the pipelines' caps can be written before any session is negotiated; werift
 * rewrites them to each session's negotiated values on the way out (and to these on the way in).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { type RTCRtpCodecParameters, useH264, useOPUS, useVP8 } from "werift";
import {
  H264_LEVEL,
  OPUS_BITRATE,
  OPUS_FRAME_MS,
  RTP_MTU,
  VIDEO_ENCODER_THREADS,
  VP8_BUFFER_MS,
  VP8_CPU_USED,
  VP8_DEADLINE_REALTIME,
} from "./constants.ts";

export type VideoCodecName = "vp8" | "h264";
export type CodecName = VideoCodecName | "opus";
export type H264Encoder = "v4l2h264enc" | "x264enc" | "openh264enc";

export interface Codec {
  readonly name: CodecName;
  readonly kind: "video" | "audio";
  /** The RTP encoding name (SDP `a=rtpmap`, GStreamer `encoding-name`). */
  readonly encodingName: "VP8" | "H264" | "OPUS";
  readonly clockRate: number;
  /** The payload type inside the device (see the module comment). */
  readonly payloadType: number;
  /** RTP → the encoded stream (no `!` at either end). */
  readonly depayloader: readonly string[];
  /** What a muxer needs after the depayloader (Opus: its frame boundaries). */
  readonly muxParser: readonly string[];
  /** The encoded stream → raw. */
  readonly decoder: readonly string[];
  /** The recording container when this codec decides it (the video's, else the audio's). */
  readonly container: { readonly muxer: "webmmux" | "matroskamux"; readonly extension: "webm" | "mkv" };
  /** werift's codec parameters for SDP negotiation, with our payload type. */
  rtpParameters(): RTCRtpCodecParameters;
}

export const CODECS: { readonly [name in CodecName]: Codec } = {
  vp8: {
    name: "vp8",
    kind: "video",
    encodingName: "VP8",
    clockRate: 90_000,
    payloadType: 96,
    // Decoders and muxers must start at a keyframe (RFC 7741 §4.3: a frame needs its keyframe).
    depayloader: ["rtpvp8depay", "wait-for-keyframe=true"],
    muxParser: [],
    decoder: ["vp8dec"],
    container: { muxer: "webmmux", extension: "webm" },
    rtpParameters: () => useVP8({ payloadType: 96 }),
  },
  h264: {
    name: "h264",
    kind: "video",
    encodingName: "H264",
    clockRate: 90_000,
    payloadType: 102,
    depayloader: ["rtph264depay", "wait-for-keyframe=true", "!", "h264parse"],
    muxParser: [],
    decoder: ["avdec_h264"],
    // WebM allows only VP8/VP9/AV1 video: H.264 goes into Matroska.
    container: { muxer: "matroskamux", extension: "mkv" },
    // Constrained baseline, level 3.1, packetization-mode=1 (werift's default fmtp): every browser,
    // Safari included.
    rtpParameters: () => useH264({ payloadType: 102 }),
  },
  opus: {
    name: "opus",
    kind: "audio",
    encodingName: "OPUS",
    clockRate: 48_000,
    payloadType: 111,
    depayloader: ["rtpopusdepay"],
    muxParser: ["opusparse"],
    // Packet loss concealment: a lost packet becomes a plausible 20 ms instead of a click.
    decoder: ["opusdec", "plc=true"],
    container: { muxer: "webmmux", extension: "webm" },
    rtpParameters: () => useOPUS({ payloadType: 111 }),
  },
};

/** A video codec's name (`vp8`, `h264`), not audio's. */
export function isVideoCodec(name: CodecName): name is VideoCodecName {
  return CODECS[name].kind === "video";
}

/**
 * The video codecs this machine can encode, `preferred` first: VP8 (vp8enc) and H.264 (the Pi's
 * hardware encoder, x264 or OpenH264). A codec without an encoder is never offered to a viewer.
 */
export function encodableVideoCodecs(preferred: VideoCodecName): VideoCodecName[] {
  const encodable: Record<VideoCodecName, () => boolean> = {
    vp8: () => hasElement("vp8enc"),
    h264: () => hasElement(pickH264Encoder()),
  };
  const order: VideoCodecName[] = [preferred, ...(["vp8", "h264"] as const).filter((c) => c !== preferred)];
  return order.filter((codec) => codec === preferred || encodable[codec]());
}

/** The codec of a negotiated MIME type (`video/VP8`, `video/H264`, `audio/opus`), if the device has it. */
export function codecOfMimeType(mimeType: string): Codec | undefined {
  const [kind, name] = mimeType.toLowerCase().split("/");
  const codec = name === undefined ? undefined : CODECS[name as CodecName];
  return codec?.kind === kind ? codec : undefined;
}

/** The caps of RTP of `codec` as it crosses loopback (a `udpsrc caps=` value). */
export function rtpCaps(codec: Codec): string {
  return `application/x-rtp,media=${codec.kind},clock-rate=${codec.clockRate},encoding-name=${codec.encodingName},payload=${codec.payloadType}`;
}

/** What a video encoder is asked for. */
export interface VideoEncoding {
  codec: VideoCodecName;
  bitrateKbps: number;
  /** Frames between forced keyframes (a safety net against lost keyframe requests). */
  keyframeDistance: number;
  /** The H.264 encoder; {@link pickH264Encoder} when absent. */
  h264Encoder?: H264Encoder | undefined;
  /** Encoder threads; {@link VIDEO_ENCODER_THREADS} when absent. */
  threads?: number | undefined;
}

/** Raw I420 → encoder → RTP payloader writing `ssrc` (no `!` at either end). */
export function videoEncoderTokens(encoding: VideoEncoding, ssrc: number): string[] {
  const { bitrateKbps, keyframeDistance } = encoding;
  if (encoding.codec === "vp8") {
    return [
      "vp8enc",
      `deadline=${VP8_DEADLINE_REALTIME}`,
      `cpu-used=${VP8_CPU_USED}`,
      // No look-ahead: every frame leaves the encoder as soon as it is encoded.
      "lag-in-frames=0",
      "end-usage=cbr",
      `target-bitrate=${bitrateKbps * 1000}`,
      `keyframe-max-dist=${keyframeDistance}`,
      // Decodable after a loss without waiting for a keyframe where possible.
      "error-resilient=default",
      `threads=${encoding.threads ?? VIDEO_ENCODER_THREADS}`,
      `buffer-size=${VP8_BUFFER_MS.size}`,
      `buffer-initial-size=${VP8_BUFFER_MS.initial}`,
      `buffer-optimal-size=${VP8_BUFFER_MS.optimal}`,
      "!",
      "rtpvp8pay",
      `pt=${CODECS.vp8.payloadType}`,
      `ssrc=${ssrc}`,
      `mtu=${RTP_MTU}`,
      // RFC 7741 §4.2: the 15-bit PictureID, which browsers use to detect lost frames.
      "picture-id-mode=15-bit",
    ];
  }
  const encoder = encoding.h264Encoder ?? pickH264Encoder();
  // Constrained baseline (profile-level-id 42e01f), no B-frames: what Safari and every browser decode.
  const profile = "video/x-h264,profile=constrained-baseline,stream-format=byte-stream";
  const encode =
    encoder === "x264enc"
      ? [
          "x264enc",
          "tune=zerolatency",
          "speed-preset=ultrafast",
          `bitrate=${bitrateKbps}`,
          `key-int-max=${keyframeDistance}`,
          "bframes=0",
          "b-adapt=false",
          `threads=${encoding.threads ?? VIDEO_ENCODER_THREADS}`,
        ]
      : encoder === "openh264enc"
        ? [
            "openh264enc",
            `bitrate=${bitrateKbps * 1000}`,
            `gop-size=${keyframeDistance}`,
            "complexity=low",
            "rate-control=bitrate",
          ]
        : [
            "v4l2h264enc",
            `extra-controls=controls,repeat_sequence_header=1,video_bitrate=${bitrateKbps * 1000},h264_i_frame_period=${keyframeDistance}`,
          ];
  const caps = encoder === "v4l2h264enc" ? `${profile},level=(string)${H264_LEVEL}` : profile;
  return [
    ...encode,
    "!",
    caps,
    "!",
    "h264parse",
    "!",
    "rtph264pay",
    `pt=${CODECS.h264.payloadType}`,
    `ssrc=${ssrc}`,
    `mtu=${RTP_MTU}`,
    // SPS and PPS before every keyframe: a viewer joining mid-stream can start at the next one.
    "config-interval=-1",
    "aggregate-mode=zero-latency",
  ];
}

/** Raw 48 kHz audio → Opus in 20 ms frames → RTP payloader writing `ssrc` (no `!` at either end). */
export function opusEncoderTokens(ssrc: number): string[] {
  return [
    "opusenc",
    `bitrate=${OPUS_BITRATE}`,
    `frame-size=${OPUS_FRAME_MS}`,
    "!",
    "rtpopuspay",
    `pt=${CODECS.opus.payloadType}`,
    `ssrc=${ssrc}`,
  ];
}

const hasElementCache = new Map<string, boolean>();

/** Whether GStreamer has an element (cached; `gst-inspect-1.0 --exists`). */
function hasElement(name: string): boolean {
  let found = hasElementCache.get(name);
  if (found === undefined) {
    try {
      execFileSync("gst-inspect-1.0", ["--exists", name], { stdio: "ignore" });
      found = true;
    } catch {
      found = false;
    }
    hasElementCache.set(name, found);
  }
  return found;
}

/**
 * An H.264 encoder for a smaller encoding of the ladder: `preferred` unless it is the hardware one
 * (a Pi has one, and the top encoding takes it), else x264 or OpenH264.
 */
export function softwareH264Encoder(preferred: H264Encoder | undefined): H264Encoder | undefined {
  if (preferred !== undefined && preferred !== "v4l2h264enc") return preferred;
  return hasElement("x264enc") ? "x264enc" : "openh264enc";
}

/**
 * The Raspberry Pi's hardware encoder (v4l2h264enc on /dev/video11, Pi ≤ 4) when present, else x264,
 * else OpenH264.
 */
export function pickH264Encoder(): H264Encoder {
  if (existsSync("/dev/video11") && hasElement("v4l2h264enc")) return "v4l2h264enc";
  if (hasElement("x264enc")) return "x264enc";
  return "openh264enc";
}
