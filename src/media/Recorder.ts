/**
 * Records one incoming session to a file, without re-encoding: WebM for VP8 (and Opus-only sessions),
 * Matroska for H.264, with the session's audio. The file is named by its start time and the sender's
 * name, and finalized (duration, cues) on close — `gst-launch-1.0 -e` turns SIGINT into an end of
 * stream. Even a device killed outright finalizes its recordings: each recorder then gets SIGINT
 * through the parent-death signal (see GstProcess). And a recorder killed outright itself still leaves
 * its clusters, written as they fill, playable up to the last one.
 */
import { createSocket, type Socket } from "node:dgram";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../common/logger.ts";
import { GstProcess } from "./GstProcess.ts";
import { depayTokens, type IncomingVideoCodec, setPayloadType } from "./incoming.ts";
import { freeUdpPort } from "./OutgoingStream.ts";
import { PAYLOAD_TYPES } from "./pipelines.ts";

export interface RecorderOptions {
  directory: string;
  /** The sender's name, part of the file name. */
  senderName: string;
  video: IncomingVideoCodec | undefined;
  audio: boolean;
  logger: Logger;
  startedAt?: Date;
}

/** Jitter buffer of a recording: quality over latency. */
const RECORD_LATENCY_MS = 200;

/** `2026-11-24T17-05-01Z-phone.webm`: sortable, and safe on every filesystem. */
export function recordingFileName(startedAt: Date, senderName: string, extension: string): string {
  const time = startedAt
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replaceAll(":", "-");
  const name = senderName.replace(/[^\p{L}\p{N}._-]+/gu, "_").slice(0, 64) || "unnamed";
  return `${time}-${name}.${extension}`;
}

export class Recorder {
  readonly path: string;
  readonly #process: GstProcess;
  readonly #socket: Socket;
  readonly #videoPort: number;
  readonly #audioPort: number;
  readonly #video: IncomingVideoCodec | undefined;
  readonly #log: Logger;
  #closed = false;

  private constructor(options: RecorderOptions, socket: Socket, videoPort: number, audioPort: number) {
    if (!options.video && !options.audio) throw new Error("nothing to record");
    this.#socket = socket;
    this.#videoPort = videoPort;
    this.#audioPort = audioPort;
    this.#video = options.video;
    const extension = options.video === "h264" ? "mkv" : "webm";
    this.path = join(
      options.directory,
      recordingFileName(options.startedAt ?? new Date(), options.senderName, extension),
    );
    this.#log = options.logger.child({ recording: this.path });
    const muxer = options.video === "h264" ? "matroskamux" : "webmmux";
    // offset-to-zero: the file starts at its first frame, not at the recorder's start.
    const tokens = [muxer, "name=mux", "offset-to-zero=true", "!", "filesink", `location=${this.path}`];
    if (options.video) {
      tokens.push(
        ...depayTokens(videoPort, options.video, RECORD_LATENCY_MS),
        "!",
        "queue",
        "!",
        "mux.video_0",
      );
    }
    if (options.audio) {
      tokens.push(
        ...depayTokens(audioPort, "opus", RECORD_LATENCY_MS),
        "!",
        "opusparse",
        "!",
        "queue",
        "!",
        "mux.audio_0",
      );
    }
    // A recorder that dies is not restarted: a restart would start the file again.
    this.#process = new GstProcess({
      name: "recorder",
      logger: options.logger,
      restart: false,
      pipeline: () => tokens,
    });
  }

  static async start(options: RecorderOptions): Promise<Recorder> {
    mkdirSync(options.directory, { recursive: true });
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    const recorder = new Recorder(options, socket, await freeUdpPort(), await freeUdpPort());
    recorder.#process.start();
    recorder.#log.info({ video: options.video ?? "none", audio: options.audio }, "recording");
    return recorder;
  }

  writeVideo(packet: Buffer): void {
    if (this.#closed || !this.#video) return;
    this.#socket.send(setPayloadType(packet, PAYLOAD_TYPES[this.#video]), this.#videoPort, "127.0.0.1");
  }

  writeAudio(packet: Buffer): void {
    if (this.#closed) return;
    this.#socket.send(setPayloadType(packet, PAYLOAD_TYPES.opus), this.#audioPort, "127.0.0.1");
  }

  /** Finalizes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#process.close();
    this.#socket.close();
    this.#log.info("recording finished");
  }
}
