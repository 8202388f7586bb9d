/**
 * gst-launch-1.0 pipelines for what the device sends (its video, its audio, the echo of a sender's
 * camera) and the pieces every pipeline shares, as argv token lists. Pure functions: the golden argv
 * of each is in test/unit/pipelines.test.ts. Codec facts come from `codecs.ts`, tuning numbers from
 * `constants.ts`; every string that is not ours goes through `gstString` (see launchSyntax.ts).
 *
 * The shapes follow docs/MEDIA.md: real-time VP8, zero-latency H.264 constrained baseline, Opus in
 * 20 ms frames, and an `rtpbin` whose RTCP input turns a viewer's PLI into a force-key-unit event for
 * the shared encoder.
 */
import {
  CODECS,
  type Codec,
  type CodecName,
  type H264Encoder,
  opusEncoderTokens,
  rtpCaps,
  softwareH264Encoder,
  type VideoCodecName,
  videoEncoderTokens,
} from "./codecs.ts";
import {
  ECHO_JITTER_MS,
  ENCODER_QUEUE_FRAMES,
  LADDER_RUNG_ENCODER_THREADS,
  MIC_BUFFER_US,
  MIC_PERIOD_US,
  SAMPLES_PER_OPUS_FRAME,
} from "./constants.ts";
import { type Rung, rungLabel } from "./ladder.ts";
import { gstString, pangoText } from "./launchSyntax.ts";
import { LOOPBACK } from "./loopback.ts";
import type { AudioSource, VideoSource } from "./sources.ts";

export interface VideoSettings {
  codec: VideoCodecName;
  width: number;
  height: number;
  framerate: number;
  bitrateKbps: number;
  /** Safety keyframe interval against lost requests. */
  keyframeIntervalSeconds: number;
  /** Which H.264 encoder; chosen by `pickH264Encoder` when absent. */
  h264Encoder?: H264Encoder | undefined;
  /**
   * The encodings made at once, best first (src/media/ladder.ts); the first is width × height at
   * bitrateKbps. Absent: that one only.
   */
  ladder?: readonly Rung[] | undefined;
}

/** The layers of the device's video stream: one per rung, labelled by size. */
export function ladderLayers(settings: VideoSettings): Array<{ label: string; bitrateKbps: number }> {
  return rungsOf(settings).map((rung) => ({ label: rungLabel(rung), bitrateKbps: rung.bitrateKbps }));
}

/** The rungs of the ladder: the configured size and bitrate first. */
export function rungsOf(settings: VideoSettings): Rung[] {
  const top = { width: settings.width, height: settings.height, bitrateKbps: settings.bitrateKbps };
  return settings.ladder && settings.ladder.length > 0 ? [top, ...settings.ladder.slice(1)] : [top];
}

/** Where a pipeline sends its RTP to Node (and, for video, where it takes RTCP from Node). */
export interface RtpTarget {
  /** Node's port for this stream's RTP. */
  rtpPort: number;
  /** The port the pipeline sends from: Node's socket is connected to it and takes nothing else. */
  sourcePort: number;
  /** Where the pipeline listens for RTCP (keyframe requests); video only. */
  rtcpPort?: number;
  /** The SSRC to write; a new one per process start marks a restart in the packet stream. */
  ssrc: number;
  /** What this target takes (video): a codec's encoding of one rung of the ladder. Default: the settings' codec, and the target's position. */
  codec?: CodecName | undefined;
  rung?: number | undefined;
}

/** The echo's input: a sender's video arriving from Node, drawn over with its name. */
export interface EchoInput {
  /** The `udpsrc` port Node forwards the sender's RTP to. */
  port: number;
  codec: VideoCodecName;
  /** The sender's (normalised) name, drawn in the top left corner. */
  label: string;
}

/** The overlays' font: legible on a phone at 640x480. */
const OVERLAY_FONT = "font-desc=Sans Bold 20";
/** A notice must be read at a glance, over moving colour bars. */
const NOTICE_FONT = "font-desc=Sans Bold 32";
const CLOCK_FORMAT = "time-format=%H:%M:%S";

/** `udpsrc` on loopback → jitter buffer → depayloader: a received stream, encoded (no `!` at the end). */
export function rtpInputTokens(port: number, codec: Codec, latencyMs: number): string[] {
  return [
    "udpsrc",
    `address=${LOOPBACK}`,
    `port=${port}`,
    `caps=${rtpCaps(codec)}`,
    "!",
    "rtpjitterbuffer",
    `latency=${latencyMs}`,
    // Gaps become lost-packet events, which decoders conceal, instead of a stall.
    "do-lost=true",
    "!",
    ...codec.depayloader,
  ];
}

/** RTP out to Node, from a fixed source port (RtpTarget). Files are paced by their timestamps. */
function sendToNodeTokens(target: RtpTarget, pacedByClock: boolean): string[] {
  return [
    "udpsink",
    `host=${LOOPBACK}`,
    `port=${target.rtpPort}`,
    `bind-address=${LOOPBACK}`,
    `bind-port=${target.sourcePort}`,
    `sync=${pacedByClock}`,
    "async=false",
  ];
}

/**
 * A file, decoded; with `only`, the stream of that kind. decodebin3, not decodebin: decodebin's
 * `expose-all-streams=false` leaves the other stream's pad unlinked, and with a video-and-audio file the
 * pipeline stalled before its end in about half the runs (measured: 2 s clip, GStreamer 1.22.0), so a
 * looping file went silent or froze. decodebin3 decodes the other stream too, and drops it.
 */
function decodedFileTokens(path: string, only?: "video/x-raw" | "audio/x-raw"): string[] {
  const file = ["filesrc", `location=${gstString(path)}`, "!"];
  return only ? [...file, "decodebin3", `caps=${only}`, "!", "queue"] : [...file, "decodebin"];
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
        CLOCK_FORMAT,
        OVERLAY_FONT,
        "shaded-background=true",
      ];
    case "camera":
      return ["v4l2src", `device=${gstString(source.device)}`, "!", "decodebin", "!", ...scaled];
    case "libcamera":
      return [
        "libcamerasrc",
        ...(source.name ? [`camera-name=${gstString(source.name)}`] : []),
        "!",
        ...scaled,
      ];
    case "file":
      // The pipeline ends at the file's end and is restarted (loop).
      return [...decodedFileTokens(source.path, "video/x-raw"), "!", ...scaled];
    case "image":
      return [...decodedFileTokens(source.path), "!", "imagefreeze", "is-live=true", "!", ...scaled];
    case "none":
      throw new Error("no pipeline for video source none");
  }
}

/**
 * One encoding's branch: queue → (scale) → encoder → rtpbin session `index` → UDP to Node, and its
 * RTCP input. The target says which codec and which rung of the ladder.
 */
function encodeBranch(
  settings: VideoSettings,
  ladder: readonly Rung[],
  index: number,
  target: RtpTarget,
  pacedByClock: boolean,
): { encode: string[]; rest: string[] } {
  if (target.rtcpPort === undefined) throw new Error("a video pipeline needs an RTCP port");
  const codec = target.codec ?? settings.codec;
  if (codec === "opus") throw new Error("a video pipeline cannot encode opus");
  const rungIndex = target.rung ?? index;
  const rung = ladder[rungIndex];
  if (!rung) throw new Error(`a pipeline target for rung ${rungIndex}, but the ladder has ${ladder.length}`);
  const scaled = rung.width !== settings.width || rung.height !== settings.height;
  const encoding = {
    codec,
    bitrateKbps: rung.bitrateKbps,
    keyframeDistance: Math.max(1, Math.round(settings.keyframeIntervalSeconds * settings.framerate)),
    // The hardware encoder (one per Pi) takes the top H.264 encoding; the others stay in software.
    h264Encoder:
      rungIndex === 0 || codec !== "h264" ? settings.h264Encoder : softwareH264Encoder(settings.h264Encoder),
    threads: rungIndex === 0 ? undefined : LADDER_RUNG_ENCODER_THREADS,
  };
  return {
    encode: [
      "queue",
      `max-size-buffers=${ENCODER_QUEUE_FRAMES}`,
      "max-size-bytes=0",
      "max-size-time=0",
      // Not leaky: with `leaky=downstream` each encoder dropped frames whenever the machine was briefly
      // busy (24.6 fps instead of 29.9 on a clean link, bench/network S0); a full queue holds the capture
      // back a moment instead, as with one encoder.
      "!",
      ...(scaled ? ["videoscale", "!", `video/x-raw,width=${rung.width},height=${rung.height}`, "!"] : []),
      ...videoEncoderTokens(encoding, target.ssrc),
      "!",
      `rb.send_rtp_sink_${index}`,
    ],
    rest: [
      `rb.send_rtp_src_${index}`,
      "!",
      ...sendToNodeTokens(target, pacedByClock),
      "udpsrc",
      `address=${LOOPBACK}`,
      `port=${target.rtcpPort}`,
      "caps=application/x-rtcp",
      "!",
      `rb.recv_rtcp_sink_${index}`,
    ],
  };
}

/**
 * raw video → one encoder per target (a `tee` when there are several: the ladder's encodings of one
 * capture) → rtpbin → UDP to Node; RTCP from Node → rtpbin (keyframe requests, one session each).
 */
function encodeAndSendVideo(
  raw: string[],
  settings: VideoSettings,
  targets: RtpTarget[],
  pacedByClock: boolean,
): string[] {
  const ladder = rungsOf(settings);
  const branches = targets.map((target, i) => encodeBranch(settings, ladder, i, target, pacedByClock));
  if (branches.length === 1) {
    const [only] = branches as [(typeof branches)[0]];
    return ["rtpbin", "name=rb", ...raw, "!", ...only.encode, ...only.rest];
  }
  return [
    "rtpbin",
    "name=rb",
    ...raw,
    "!",
    "tee",
    "name=ladder",
    ...branches.flatMap((branch) => ["ladder.", "!", ...branch.encode, ...branch.rest]),
  ];
}

/**
 * The device's video: capture → encode → RTP to Node. Live sources are sent as they come; files are
 * paced. A `notice` is drawn across the middle of the picture (the stand-in's "Camera unavailable").
 */
export function videoPipeline(
  source: VideoSource,
  settings: VideoSettings,
  targets: RtpTarget | RtpTarget[],
  notice?: string,
): string[] {
  const raw = videoSourceTokens(source, settings);
  const noticed = notice
    ? [
        ...raw,
        "!",
        "textoverlay",
        `text=${gstString(pangoText(notice))}`,
        "valignment=center",
        "halignment=center",
        NOTICE_FONT,
        "shaded-background=true",
      ]
    : raw;
  return encodeAndSendVideo(noticed, settings, [targets].flat(), source.kind === "file");
}

/**
 * The echo of a sender's camera: its video decoded, scaled (letterboxed) to the configured size, its
 * name and a running clock drawn on shaded bands at the top, encoded again.
 */
export function echoPipeline(input: EchoInput, settings: VideoSettings, target: RtpTarget): string[] {
  // The echo is one encoding, for the one viewer it is made for.
  const single = { ...settings, ladder: undefined };
  const codec = CODECS[input.codec];
  const raw = [
    ...rtpInputTokens(input.port, codec, ECHO_JITTER_MS),
    "!",
    ...codec.decoder,
    "!",
    "videoconvert",
    "!",
    "videoscale",
    "!",
    `video/x-raw,format=I420,width=${settings.width},height=${settings.height},pixel-aspect-ratio=1/1`,
    "!",
    "textoverlay",
    // Rendered as Pango markup: the name is escaped twice, for the markup and for gst-launch.
    `text=${gstString(pangoText(input.label))}`,
    "valignment=top",
    "halignment=left",
    OVERLAY_FONT,
    "shaded-background=true",
    "!",
    "clockoverlay",
    "valignment=top",
    "halignment=right",
    CLOCK_FORMAT,
    OVERLAY_FONT,
    "shaded-background=true",
  ];
  return encodeAndSendVideo(raw, single, [target], false);
}

/** 48 kHz stereo raw audio from the given source, in 20 ms buffers where the source allows it. */
function audioSourceTokens(source: AudioSource): string[] {
  const raw = ["audioconvert", "!", "audioresample", "!", "audio/x-raw,rate=48000,channels=2"];
  switch (source.kind) {
    case "test":
      return [
        "audiotestsrc",
        "is-live=true",
        "wave=sine",
        "freq=440",
        "volume=0.4",
        `samplesperbuffer=${SAMPLES_PER_OPUS_FRAME}`,
        "!",
        ...raw,
      ];
    case "mic": {
      const element = source.backend === "pulse" ? "pulsesrc" : "alsasrc";
      return [
        element,
        ...(source.device ? [`device=${gstString(source.device)}`] : []),
        `buffer-time=${MIC_BUFFER_US}`,
        `latency-time=${MIC_PERIOD_US}`,
        "!",
        ...raw,
      ];
    }
    case "file":
      return [...decodedFileTokens(source.path, "audio/x-raw"), "!", ...raw];
    case "tts":
      return ["espeak", `text=${gstString(source.text)}`, "!", ...raw];
    case "none":
      throw new Error("no pipeline for audio source none");
  }
}

/** The speaker branch that runs in the microphone's process for echo cancellation. */
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
    ...opusEncoderTokens(target.ssrc),
    "!",
    ...sendToNodeTokens(target, source.kind === "file" || source.kind === "tts"),
    ...(echoCancellation?.speakerTokens ?? []),
  ];
}
