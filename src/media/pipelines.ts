/**
 * gst-launch-1.0 pipelines for the device's outgoing streams, as argv token lists (one token per
 * element or property, so values with spaces need no quoting). Settings follow the measurements in
 * ../shared/reference/feasibility-study.md: real-time VP8, zero-latency H.264 constrained-baseline
 * without B-frames, Opus in 20 ms frames paced at 20 ms, and an `rtpbin` whose RTCP input turns a
 * viewer's PLI into a force-key-unit event for the shared encoder.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { decoderTokens, depayTokens } from "./incoming.ts";
import type { AudioSource, VideoSource } from "./sources.ts";

export type VideoCodec = "vp8" | "h264";
export type H264Encoder = "v4l2h264enc" | "x264enc" | "openh264enc";

export interface VideoSettings {
  codec: VideoCodec;
  width: number;
  height: number;
  framerate: number;
  bitrateKbps: number;
  /** Safety keyframe interval against lost requests. */
  keyframeIntervalSeconds: number;
  /** Which H.264 encoder; chosen by {@link pickH264Encoder} when absent. */
  h264Encoder?: H264Encoder | undefined;
}

/** Payload types as GStreamer writes them; werift rewrites them to the negotiated ones per session. */
export const PAYLOAD_TYPES = { vp8: 96, h264: 102, opus: 111 } as const;
export const OPUS_BITRATE = 64_000;

export interface RtpTarget {
  /** Where Node listens for this stream's RTP. */
  rtpPort: number;
  /** Where the pipeline listens for RTCP (keyframe requests), video only. */
  rtcpPort?: number;
  /** The SSRC to write; a new one per process start marks a restart in the packet stream. */
  ssrc: number;
}

const hasElementCache = new Map<string, boolean>();

/** Whether GStreamer has an element (cached; `gst-inspect-1.0 --exists`). */
export function hasElement(name: string): boolean {
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
 * The Raspberry Pi's hardware encoder (v4l2h264enc on /dev/video11, Pi ≤ 4) when present, else x264,
 * else OpenH264.
 */
export function pickH264Encoder(): H264Encoder {
  if (existsSync("/dev/video11") && hasElement("v4l2h264enc")) return "v4l2h264enc";
  if (hasElement("x264enc")) return "x264enc";
  return "openh264enc";
}

/** Raw I420 at the configured size and rate, from the given source. */
function videoSourceTokens(source: VideoSource, s: VideoSettings): string[] {
  const raw = `video/x-raw,format=I420,width=${s.width},height=${s.height},framerate=${s.framerate}/1`;
  const scaled = ["videoconvert", "!", "videoscale", "!", "videorate", "!", raw];
  switch (source.kind) {
    case "test":
      // Frames drawn in Node (TestPattern) arrive on stdin; a readable clock is added here.
      return [
        "fdsrc",
        "fd=0",
        "!",
        "rawvideoparse",
        "format=i420",
        `width=${s.width}`,
        `height=${s.height}`,
        `framerate=${s.framerate}/1`,
        "!",
        "clockoverlay",
        "halignment=right",
        "valignment=bottom",
        "time-format=%H:%M:%S",
        "font-desc=Sans Bold 20",
        "shaded-background=true",
      ];
    case "camera":
      return ["v4l2src", `device=${source.device}`, "!", "decodebin", "!", ...scaled];
    case "libcamera":
      return ["libcamerasrc", ...(source.name ? [`camera-name=${source.name}`] : []), "!", ...scaled];
    case "file":
      // Only the video stream is decoded; the pipeline ends at the file's end and is restarted (loop).
      return [
        "filesrc",
        `location=${source.path}`,
        "!",
        "decodebin",
        "caps=video/x-raw",
        "expose-all-streams=false",
        "!",
        "queue",
        "!",
        ...scaled,
      ];
    case "image":
      return [
        "filesrc",
        `location=${source.path}`,
        "!",
        "decodebin",
        "!",
        "imagefreeze",
        "is-live=true",
        "!",
        ...scaled,
      ];
    case "rtp":
      // The echo: the sender's picture, scaled (letterboxed) to the configured size, with its name
      // and a running clock drawn on a shaded band at the top.
      return [
        ...depayTokens(source.port, source.codec, 50),
        "!",
        ...decoderTokens(source.codec),
        "!",
        "videoconvert",
        "!",
        "videoscale",
        "!",
        `video/x-raw,format=I420,width=${s.width},height=${s.height},pixel-aspect-ratio=1/1`,
        "!",
        "textoverlay",
        `text=${source.label}`,
        "valignment=top",
        "halignment=left",
        "font-desc=Sans Bold 20",
        "shaded-background=true",
        "!",
        "clockoverlay",
        "valignment=top",
        "halignment=right",
        "time-format=%H:%M:%S",
        "font-desc=Sans Bold 20",
        "shaded-background=true",
      ];
    case "none":
      throw new Error("no pipeline for video source none");
  }
}

function encoderTokens(s: VideoSettings, ssrc: number): string[] {
  const keyframeDistance = Math.max(1, Math.round(s.keyframeIntervalSeconds * s.framerate));
  if (s.codec === "vp8") {
    return [
      "vp8enc",
      "deadline=1",
      "cpu-used=8",
      "lag-in-frames=0",
      "end-usage=cbr",
      `target-bitrate=${s.bitrateKbps * 1000}`,
      `keyframe-max-dist=${keyframeDistance}`,
      "error-resilient=default",
      "threads=2",
      "buffer-size=1000",
      "buffer-initial-size=500",
      "buffer-optimal-size=600",
      "!",
      "rtpvp8pay",
      `pt=${PAYLOAD_TYPES.vp8}`,
      `ssrc=${ssrc}`,
      "mtu=1200",
      "picture-id-mode=15-bit",
    ];
  }
  const encoder = s.h264Encoder ?? pickH264Encoder();
  // Constrained baseline (profile-level-id 42e01f), packetization-mode=1, no B-frames: what Safari
  // and every browser decode. SPS/PPS repeated before each keyframe (config-interval=-1).
  const profile = "video/x-h264,profile=constrained-baseline,stream-format=byte-stream";
  const encode =
    encoder === "x264enc"
      ? [
          "x264enc",
          "tune=zerolatency",
          "speed-preset=ultrafast",
          `bitrate=${s.bitrateKbps}`,
          `key-int-max=${keyframeDistance}`,
          "bframes=0",
          "b-adapt=false",
          "threads=2",
        ]
      : encoder === "openh264enc"
        ? [
            "openh264enc",
            `bitrate=${s.bitrateKbps * 1000}`,
            `gop-size=${keyframeDistance}`,
            "complexity=low",
            "rate-control=bitrate",
          ]
        : [
            "v4l2h264enc",
            `extra-controls=controls,repeat_sequence_header=1,video_bitrate=${s.bitrateKbps * 1000},h264_i_frame_period=${keyframeDistance}`,
          ];
  const levelCaps = encoder === "v4l2h264enc" ? `${profile},level=(string)3.1` : profile;
  return [
    ...encode,
    "!",
    levelCaps,
    "!",
    "h264parse",
    "!",
    "rtph264pay",
    `pt=${PAYLOAD_TYPES.h264}`,
    `ssrc=${ssrc}`,
    "mtu=1200",
    "config-interval=-1",
    "aggregate-mode=zero-latency",
  ];
}

/** Live sources are sent as they come; files are paced by their timestamps. */
function videoIsPacedByClock(source: VideoSource): boolean {
  return source.kind === "file";
}

/** capture → encode → RTP → rtpbin → UDP to Node; RTCP from Node → rtpbin (keyframe requests). */
export function videoPipeline(source: VideoSource, settings: VideoSettings, target: RtpTarget): string[] {
  if (target.rtcpPort === undefined) throw new Error("a video pipeline needs an RTCP port");
  return [
    "rtpbin",
    "name=rb",
    ...videoSourceTokens(source, settings),
    "!",
    "queue",
    "max-size-buffers=2",
    "max-size-bytes=0",
    "max-size-time=0",
    "!",
    ...encoderTokens(settings, target.ssrc),
    "!",
    "rb.send_rtp_sink_0",
    "rb.send_rtp_src_0",
    "!",
    "udpsink",
    "host=127.0.0.1",
    `port=${target.rtpPort}`,
    `sync=${videoIsPacedByClock(source)}`,
    "async=false",
    "udpsrc",
    "address=127.0.0.1",
    `port=${target.rtcpPort}`,
    "caps=application/x-rtcp",
    "!",
    "rb.recv_rtcp_sink_0",
  ];
}

/** 48 kHz stereo raw audio from the given source, in 20 ms buffers where the source allows it. */
function audioSourceTokens(source: AudioSource): string[] {
  const raw = ["audioconvert", "!", "audioresample", "!", "audio/x-raw,rate=48000,channels=2"];
  switch (source.kind) {
    case "test":
      // 960 samples = 20 ms: one buffer per Opus frame, or NetEq grows (study, "Pitfall").
      return [
        "audiotestsrc",
        "is-live=true",
        "wave=sine",
        "freq=440",
        "volume=0.4",
        "samplesperbuffer=960",
        "!",
        ...raw,
      ];
    case "mic": {
      const element = source.backend === "pulse" ? "pulsesrc" : "alsasrc";
      return [
        element,
        ...(source.device ? [`device=${source.device}`] : []),
        "buffer-time=60000",
        "latency-time=20000",
        "!",
        ...raw,
      ];
    }
    case "file":
      return [
        "filesrc",
        `location=${source.path}`,
        "!",
        "decodebin",
        "caps=audio/x-raw",
        "expose-all-streams=false",
        "!",
        "queue",
        "!",
        ...raw,
      ];
    case "tts":
      return ["espeak", `text=${source.text}`, "!", ...raw];
    case "none":
      throw new Error("no pipeline for audio source none");
  }
}

/** capture → Opus (20 ms) → RTP → UDP to Node. */
export interface EchoCancellation {
  /** The speaker branch, which holds the `webrtcechoprobe` named `probe`. */
  speakerTokens: string[];
  probe: string;
}

/**
 * capture → Opus (20 ms) → RTP → UDP to Node. With `echoCancellation`, the capture goes through
 * `webrtcdsp` (acoustic echo cancellation, noise suppression), which subtracts what the speaker branch
 * — in this same process, as webrtcdsp requires — is playing.
 */
export function audioPipeline(
  source: AudioSource,
  target: RtpTarget,
  echoCancellation?: EchoCancellation,
): string[] {
  const paced = source.kind === "file" || source.kind === "tts";
  const dsp = echoCancellation
    ? [
        "!",
        "audioconvert",
        "!",
        "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1",
        "!",
        "webrtcdsp",
        `probe=${echoCancellation.probe}`,
        "echo-cancel=true",
        "noise-suppression=true",
        // No automatic gain: it would raise the residual echo the canceller is removing.
        "gain-control=false",
        "!",
        "audioconvert",
        "!",
        "audio/x-raw,rate=48000,channels=2",
      ]
    : [];
  return [
    ...audioSourceTokens(source),
    ...dsp,
    "!",
    "opusenc",
    `bitrate=${OPUS_BITRATE}`,
    "frame-size=20",
    "!",
    "rtpopuspay",
    `pt=${PAYLOAD_TYPES.opus}`,
    `ssrc=${target.ssrc}`,
    "!",
    "udpsink",
    "host=127.0.0.1",
    `port=${target.rtpPort}`,
    `sync=${paced}`,
    "async=false",
    ...(echoCancellation?.speakerTokens ?? []),
  ];
}
