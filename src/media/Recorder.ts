/**
 * Records one incoming session to a file, without re-encoding: WebM for VP8 (and Opus-only sessions),
 * Matroska for H.264, with the session's audio. The file is named by its start time and the sender's
 * name, and finalized (duration, cues) on close — `gst-launch-1.0 -e` turns SIGINT into an end of
 * stream. Even a device killed outright finalizes its recordings: each recorder then gets SIGINT
 * through the parent-death signal (see GstProcess). And a recorder killed outright itself still leaves
 * its clusters, written as they fill, playable up to the last one.
 *
 * The record directory is private (0700: created so, or tightened when it exists) and each recording
 * private (0600), created by Node exclusively — never replacing a file — before GStreamer writes into
 * it. Each recording has limits (size, duration, free disk: RecordingLimits.ts); one reached is
 * logged, and the recorder's owner ends the recording as a normal end does (`limit` event).
 */
import { EventEmitter } from "node:events";
import { chmodSync, closeSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { Logger } from "../common/logger.ts";
import { CODECS, type VideoCodecName } from "./codecs.ts";
import { RECORD_JITTER_MS } from "./constants.ts";
import { GstProcess } from "./GstProcess.ts";
import { LoopbackRtpPort } from "./LoopbackRtpPort.ts";
import { gstString } from "./launchSyntax.ts";
import { rtpInputTokens } from "./pipelines.ts";
import {
  checkFreeDisk,
  type LimitHit,
  type RecordingLimits,
  type RecordingProbes,
  RecordingWatch,
} from "./RecordingLimits.ts";

export interface RecorderOptions {
  directory: string;
  /** The sender's name, part of the file name. */
  senderName: string;
  video: VideoCodecName | undefined;
  audio: boolean;
  limits: RecordingLimits;
  /** How the limits are measured (tests); the real file size and free space by default. */
  probes?: RecordingProbes | undefined;
  logger: Logger;
}

/** What {@link makeDirectoryPrivate} found. */
export type DirectoryPrivacy = "private" | "tightened" | "shared";

/**
 * Tightens an existing record directory to 0700: mkdir's mode applies only to a directory it creates,
 * and one made earlier by hand or by an older version may be readable by every local user. A sticky
 * directory (such as /tmp) or another user's is shared, and left as it is ("shared"): each recording
 * in it is 0600 all the same.
 */
export function makeDirectoryPrivate(directory: string): DirectoryPrivacy {
  // stat, not lstat: --record-dir may be a link its owner made on purpose (to a USB disk, say).
  const stat = statSync(directory);
  if (!stat.isDirectory()) throw new Error(`${directory} is not a directory`);
  if ((stat.mode & 0o077) === 0) return "private";
  if (stat.mode & 0o1000 || stat.uid !== process.getuid?.()) return "shared";
  chmodSync(directory, 0o700);
  return "tightened";
}

/** Longest recording file name (UTF-16 code units: at most 128 bytes of UTF-8, far below NAME_MAX). */
export const MAX_FILE_NAME_LENGTH = 64;

/**
 * `2026-11-24T17-05-01Z-phone.webm`: sortable, and safe on every filesystem — only letters, digits,
 * `.`, `_` and `-`, at most {@link MAX_FILE_NAME_LENGTH} long, never starting with a dot.
 */
export function recordingFileName(startedAt: Date, senderName: string, extension: string): string {
  const time = startedAt
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replaceAll(":", "-");
  const room = MAX_FILE_NAME_LENGTH - time.length - extension.length - 2;
  let name = senderName.replace(/[^\p{L}\p{N}._-]+/gu, "_").replace(/^[._]+/, "");
  // Cut at the room left, without splitting a surrogate pair.
  name = Array.from(name).reduce(
    (kept, char) => (kept.length + char.length <= room ? kept + char : kept),
    "",
  );
  return `${time}-${name || "unnamed"}.${extension}`;
}

/**
 * Creates the recording's file, private, inside `directory` and nowhere else: `name` if free, else
 * `name` with `-2`, `-3`… before its extension. Returns its path.
 */
export function createRecordingFile(directory: string, name: string): string {
  const dir = resolve(directory);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  makeDirectoryPrivate(dir);
  const dot = name.lastIndexOf(".");
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? name : `${name.slice(0, dot)}-${n}${name.slice(dot)}`;
    if (basename(candidate) !== candidate || candidate.startsWith(".")) {
      throw new Error(`not a plain file name: ${JSON.stringify(candidate)}`);
    }
    const path = join(dir, candidate);
    try {
      // O_EXCL: never an existing file, nor a link planted in its place.
      closeSync(openSync(path, "wx", 0o600));
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** Where a recorder takes its streams from (the ports Node forwards them to). */
export interface RecordingInputs {
  path: string;
  video?: { port: number; codec: VideoCodecName } | undefined;
  audio?: { port: number } | undefined;
}

/** RTP from Node → depayloaders → the muxer of the video's codec (WebM when audio only) → the file. */
export function recorderPipeline(inputs: RecordingInputs): string[] {
  const { muxer } = CODECS[inputs.video?.codec ?? "opus"].container;
  // offset-to-zero: the file starts at its first frame, not at the recorder's start.
  const tokens = [
    muxer,
    "name=mux",
    "offset-to-zero=true",
    "!",
    "filesink",
    `location=${gstString(inputs.path)}`,
  ];
  const streams = [
    { input: inputs.video, codec: inputs.video && CODECS[inputs.video.codec], pad: "mux.video_0" },
    { input: inputs.audio, codec: CODECS.opus, pad: "mux.audio_0" },
  ];
  for (const { input, codec, pad } of streams) {
    if (!input || !codec) continue;
    const parse = codec.muxParser.length ? ["!", ...codec.muxParser] : [];
    tokens.push(...rtpInputTokens(input.port, codec, RECORD_JITTER_MS), ...parse, "!", "queue", "!", pad);
  }
  return tokens;
}

export interface RecorderEvents {
  /** A limit was reached (and logged): the owner ends the recording, as for a normal end. */
  limit: [hit: LimitHit];
}

export class Recorder extends EventEmitter<RecorderEvents> {
  /** The recording's file. */
  readonly path: string;
  /** Where the session's video goes, if it is recorded. */
  readonly video: LoopbackRtpPort | undefined;
  /** Where the session's audio goes, if it is recorded. */
  readonly audio: LoopbackRtpPort | undefined;
  readonly #process: GstProcess;
  readonly #log: Logger;
  /** The pipeline is PLAYING: its udpsrc listens, so what is written to its ports is recorded. */
  #playing = false;
  #watch: RecordingWatch | undefined;
  #closed = false;

  private constructor(
    path: string,
    video: LoopbackRtpPort | undefined,
    audio: LoopbackRtpPort | undefined,
    videoCodec: VideoCodecName | undefined,
    logger: Logger,
  ) {
    super();
    this.path = path;
    this.video = video;
    this.audio = audio;
    this.#log = logger.child({ recording: path });
    const pipeline = recorderPipeline({
      path,
      video: video && videoCodec ? { port: video.port, codec: videoCodec } : undefined,
      audio: audio ? { port: audio.port } : undefined,
    });
    // A recorder that dies is not restarted: a restart would start the file again.
    this.#process = new GstProcess({
      name: "recorder",
      logger,
      restart: false,
      pipeline: () => pipeline,
      // gst-launch prints this once every element reached PAUSED, which opened the udpsrc sockets.
      onLine: (line) => {
        if (line.startsWith("Setting pipeline to PLAYING")) this.#playing = true;
      },
    });
  }

  /** @throws LowDiskSpaceError when the record directory has less free space than `--min-free-disk`. */
  static async create(options: RecorderOptions): Promise<Recorder> {
    if (!options.video && !options.audio) throw new Error("nothing to record");
    const { extension } = CODECS[options.video ?? "opus"].container;
    const directory = resolve(options.directory);
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    checkFreeDisk(directory, options.limits, options.probes);
    const path = createRecordingFile(directory, recordingFileName(new Date(), options.senderName, extension));
    let video: LoopbackRtpPort | undefined;
    let audio: LoopbackRtpPort | undefined;
    try {
      if (options.video) video = await LoopbackRtpPort.create({ codec: CODECS[options.video] });
      if (options.audio) audio = await LoopbackRtpPort.create({ codec: CODECS.opus });
    } catch (error) {
      await Promise.all([video?.close(), audio?.close()]);
      rmSync(path, { force: true });
      throw error;
    }
    const recorder = new Recorder(path, video, audio, options.video, options.logger);
    recorder.#process.start();
    recorder.#watch = new RecordingWatch({
      path,
      directory,
      limits: options.limits,
      probes: options.probes,
      onLimit: (hit) => {
        recorder.#log.warn(hit, `recording limit reached (${hit.limit}): ending the recording`);
        recorder.emit("limit", hit);
      },
    });
    recorder.#log.info({ video: options.video ?? "none", audio: options.audio }, "recording");
    return recorder;
  }

  /** Whether packets written to {@link video} and {@link audio} now reach the file. */
  get playing(): boolean {
    return this.#playing;
  }

  /** Finalizes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.close();
    await this.#process.close();
    await Promise.all([this.video?.close(), this.audio?.close()]);
    this.#log.info("recording finished");
  }
}
