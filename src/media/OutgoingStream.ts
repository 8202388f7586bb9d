/**
 * One outgoing stream (the device's video, or its audio, or an echo): a supervised GStreamer process
 * that encodes one capture once per {@link StreamLayer} — a ladder of sizes and bitrates for the
 * device's video, one encoding otherwise — and the layers that hand its RTP to the viewers on them.
 *
 * - Fan-out: each layer's packets go to every {@link RtpSink} subscribed to it, isolated from one
 *   another ({@link RtpFanOut}).
 * - Continuity: each layer is rewritten by its own {@link RtpContinuity}, so a restarted encoder is
 *   invisible to viewers (no renegotiation).
 * - Only the encoder is heard: each layer's socket is connected to the port its `udpsink` sends from,
 *   and only the SSRC that process start was given is taken (docs/MEDIA.md §6).
 * - Keyframes are asked of one layer's encoder ({@link StreamLayer.requestKeyframe}), debounced.
 */
import type { Logger } from "../common/logger.ts";
import type { CodecName } from "./codecs.ts";
import { ENCODER_START_TIMEOUT_MS } from "./constants.ts";
import { GstProcess } from "./GstProcess.ts";
import type { RtpTarget } from "./pipelines.ts";
import type { RtpSink } from "./RtpSink.ts";
import { type LayerStatus, StreamLayer } from "./StreamLayer.ts";

export type { LayerStatus } from "./StreamLayer.ts";

/** One encoding the pipeline makes: a label and (video) the bitrate its encoder is asked for. */
export interface LayerSpec {
  label: string;
  bitrateKbps?: number | undefined;
}

export interface OutgoingStreamOptions {
  kind: "video" | "audio";
  /** What the pipeline encodes to (for its status: keyframes are found in VP8 and H.264). */
  codec?: CodecName | undefined;
  /**
   * The pipeline for one process start, with one target per layer (in the order of `layers`); video
   * pipelines also take keyframe requests over RTCP.
   */
  pipeline: (targets: RtpTarget[]) => string[];
  /** The encodings, best first. Default: one, labelled `0`. */
  layers?: LayerSpec[] | undefined;
  logger: Logger;
  /** Restart at end of stream: files loop, text-to-speech repeats. */
  restartOnEos?: boolean;
  restartOnEosDelayMs?: number;
  /** How long the first packet may take. Default {@link ENCODER_START_TIMEOUT_MS}. */
  startTimeoutMs?: number;
  /**
   * Something that works alongside the process for as long as the stream is open: the test pattern
   * feeds its stdin; a SourceFailover also picks each start's pipeline and hears when it delivers.
   */
  feeder?: StreamFeeder;
}

export interface StreamFeeder {
  start(process: GstProcess): void;
  close(): void;
  /** A process start's first packet arrived (the pipeline works). */
  delivering?(): void;
}

/** One shared outgoing stream (an encoder whose packets go to every viewer), for the API and metrics. */
export interface StreamStatus {
  kind: "video" | "audio";
  codec: string;
  packets: number;
  bytes: number;
  /** bit/s and frames/s over the last few seconds. */
  bitrate: number;
  fps: number;
  /** Frames the encoder produced (video). */
  frames: number;
  /** Keyframes the encoder produced (video). */
  keyframes: number;
  /** Keyframe requests sent to the encoder (after debouncing). */
  keyframeRequests: number;
  /** Times its process was restarted. */
  restarts: number;
  layers: LayerStatus[];
}

/** The encoder could not start: its source or pipeline failed before the first packet. */
export class MediaStartError extends Error {
  override readonly name = "MediaStartError";
}

export class OutgoingStream {
  readonly kind: "video" | "audio";
  readonly process: GstProcess;
  /** The encodings, best first. */
  readonly layers: readonly StreamLayer[];
  readonly #log: Logger;
  readonly #feeder: OutgoingStreamOptions["feeder"];
  readonly #codec: CodecName;
  #onFirstPacket: (() => void) | undefined;
  /** A process start has delivered before (the next first packet is a restart's). */
  #delivered = false;
  #closed = false;

  private constructor(options: OutgoingStreamOptions, layers: StreamLayer[]) {
    this.kind = options.kind;
    this.layers = layers;
    this.#log = options.logger.child({ stream: options.kind });
    this.#feeder = options.feeder;
    this.#codec = options.codec ?? (options.kind === "video" ? "vp8" : "opus");
    this.process = new GstProcess({
      name: `${options.kind}-encoder`,
      logger: options.logger,
      restartOnEos: options.restartOnEos ?? false,
      restartOnEosDelayMs: options.restartOnEosDelayMs ?? 0,
      stdin: options.feeder !== undefined,
      pipeline: async () => options.pipeline(await Promise.all(layers.map((layer) => layer.nextTarget()))),
    });
    const [top] = layers;
    for (const layer of layers) {
      layer.onPacket = (first) => {
        if (first && layer === top) {
          // A process start's first packet: the pipeline works.
          if (this.#delivered) this.#log.info("encoder restarted; stream continues");
          this.#delivered = true;
          this.#feeder?.delivering?.();
        }
        this.#onFirstPacket?.();
      };
    }
  }

  /**
   * Starts the encoder and resolves once its first packet arrived; rejects with the pipeline's error
   * when it fails first (a missing camera, an undecodable file), and stops everything it started.
   */
  static async create(options: OutgoingStreamOptions): Promise<OutgoingStream> {
    const codec = options.codec ?? (options.kind === "video" ? "vp8" : "opus");
    const specs = options.layers ?? [{ label: "0" }];
    const layers: StreamLayer[] = [];
    try {
      for (const spec of specs) {
        layers.push(
          await StreamLayer.create({
            kind: options.kind,
            codec,
            label: spec.label,
            bitrateKbps: spec.bitrateKbps,
            logger: options.logger.child({ stream: options.kind }),
          }),
        );
      }
    } catch (error) {
      await Promise.all(layers.map((layer) => layer.close()));
      throw error;
    }
    const stream = new OutgoingStream(options, layers);
    try {
      await stream.#firstPacket(options.startTimeoutMs ?? ENCODER_START_TIMEOUT_MS);
    } catch (error) {
      await stream.close();
      throw error;
    }
    return stream;
  }

  /** The codec its layers are encoded in. */
  get codec(): CodecName {
    return this.#codec;
  }

  /** Hands every packet of the best layer from now on to `sink` (which borrows it); returns the unsubscribe function. */
  subscribe(sink: RtpSink): () => void {
    return (this.layers[0] as StreamLayer).subscribe(sink);
  }

  /** What it has sent so far, and how fast (for the REST API and the metrics): all layers together. */
  status(): StreamStatus {
    const total = { packets: 0, bytes: 0, bitrate: 0, fps: 0, frames: 0, keyframes: 0, keyframeRequests: 0 };
    for (const layer of this.layers) {
      const counts = layer.counts();
      total.packets += counts.packets;
      total.bytes += counts.bytes;
      total.bitrate += counts.bitrate;
      total.fps = Math.max(total.fps, counts.fps);
      total.frames += counts.frames;
      total.keyframes += counts.keyframes;
      total.keyframeRequests += counts.keyframeRequests;
    }
    return {
      kind: this.kind,
      codec: this.#codec,
      ...total,
      restarts: this.process.restarts,
      layers: this.layers.map((layer) => layer.status()),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feeder?.close();
    await this.process.close();
    await Promise.all(this.layers.map((layer) => layer.close()));
  }

  #firstPacket(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new MediaStartError(`the ${this.kind} pipeline sent nothing within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const onExit = (code: number | null, _signal: NodeJS.Signals | null, error: string | undefined) => {
        if (code === 0 && !error) return; // a clean end before the first packet: the restart will try again
        cleanup();
        reject(new MediaStartError(error ?? `the ${this.kind} pipeline exited with code ${code}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.#onFirstPacket = undefined;
        this.process.off("exited", onExit);
      };
      this.#onFirstPacket = () => {
        cleanup();
        resolve();
      };
      this.process.on("exited", onExit);
      this.process.start();
      this.#feeder?.start(this.process);
    });
  }
}
