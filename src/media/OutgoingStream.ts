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
 * - Codecs on demand (video): the stream encodes its first codec from the start and another codec's
 *   ladder only while a viewer uses it ({@link use}); adding or dropping a codec restarts the process
 *   with the new set of encoders (a camera can be opened once, so every codec is encoded from the one
 *   capture). A codec no viewer uses any more is dropped {@link CODEC_IDLE_MS} later, unless it is the
 *   last one encoded.
 */
import type { Logger } from "../common/logger.ts";
import type { CodecName } from "./codecs.ts";
import { CODEC_IDLE_MS, ENCODER_START_TIMEOUT_MS } from "./constants.ts";
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
  /** What the pipeline encodes to from the start (for its status: keyframes are found in VP8 and H.264). */
  codec?: CodecName | undefined;
  /** Further codecs it can encode on demand, in order of preference ({@link OutgoingStream.use}). */
  otherCodecs?: readonly CodecName[] | undefined;
  /**
   * The pipeline for one process start, with one target per layer of each codec encoded (each target
   * says its codec and rung); video pipelines also take keyframe requests over RTCP.
   */
  pipeline: (targets: RtpTarget[]) => string[];
  /** The encodings of each codec, best first. Default: one, labelled `0`. */
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

/** A codec's ladder in use by one viewer: its layers, until `release()` (idempotent). */
export interface CodecUse {
  readonly codec: CodecName;
  readonly layers: readonly StreamLayer[];
  release(): void;
}

export class OutgoingStream {
  readonly kind: "video" | "audio";
  readonly process: GstProcess;
  /** Every codec it can encode, in order of preference: the first is encoded from the start. */
  readonly codecs: readonly CodecName[];
  readonly #options: OutgoingStreamOptions;
  readonly #log: Logger;
  readonly #feeder: OutgoingStreamOptions["feeder"];
  /** The ladder of each codec encoded now, in the order the pipeline encodes them. */
  readonly #ladders = new Map<CodecName, StreamLayer[]>();
  /** Ladders being started for a first viewer. */
  readonly #adding = new Map<CodecName, Promise<StreamLayer[]>>();
  /** Viewers per codec; and the timers that drop a codec nobody uses. */
  readonly #users = new Map<CodecName, number>();
  readonly #idleTimers = new Map<CodecName, NodeJS.Timeout>();
  /** Codec starts waiting for their first packet: ended by close(). */
  readonly #waits = new Set<(error?: Error) => void>();
  #onFirstPacket: (() => void) | undefined;
  /** A process start has delivered before (the next first packet is a restart's). */
  #delivered = false;
  /** This process start has delivered (its first top-layer packet has come). */
  #startDelivered = false;
  #closed = false;

  private constructor(options: OutgoingStreamOptions, codec: CodecName, layers: StreamLayer[]) {
    this.kind = options.kind;
    this.codecs = [codec, ...(options.otherCodecs ?? []).filter((other) => other !== codec)];
    this.#options = options;
    this.#log = options.logger.child({ stream: options.kind });
    this.#feeder = options.feeder;
    this.#adopt(codec, layers);
    this.process = new GstProcess({
      name: `${options.kind}-encoder`,
      logger: options.logger,
      restartOnEos: options.restartOnEos ?? false,
      restartOnEosDelayMs: options.restartOnEosDelayMs ?? 0,
      stdin: options.feeder !== undefined,
      pipeline: async () => {
        this.#startDelivered = false;
        const ladders = [...this.#ladders.values()];
        const targets = await Promise.all(
          ladders.flatMap((ladder) =>
            ladder.map(async (layer, rung) => ({ ...(await layer.nextTarget()), rung })),
          ),
        );
        return options.pipeline(targets);
      },
    });
  }

  /** Takes a codec's layers into the stream: their packets tell it when a process start delivers. */
  #adopt(codec: CodecName, layers: StreamLayer[]): void {
    this.#ladders.set(codec, layers);
    const [top] = layers;
    for (const layer of layers) {
      layer.onPacket = (first) => {
        if (first && layer === top && !this.#startDelivered) {
          // A process start's first packet: the pipeline works.
          this.#startDelivered = true;
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
    const layers = await createLayers(options, codec);
    const stream = new OutgoingStream(options, codec, layers);
    try {
      await stream.#firstPacket(options.startTimeoutMs ?? ENCODER_START_TIMEOUT_MS);
    } catch (error) {
      await stream.close();
      throw error;
    }
    return stream;
  }

  /** The codec it prefers (encoded from the start). */
  get codec(): CodecName {
    return this.codecs[0] as CodecName;
  }

  /** Every layer encoded now: each codec's ladder, best first. */
  get layers(): readonly StreamLayer[] {
    return [...this.#ladders.values()].flat();
  }

  /** Hands every packet of the first codec's best layer from now on to `sink` (which borrows it); returns the unsubscribe function. */
  subscribe(sink: RtpSink): () => void {
    return (this.layers[0] as StreamLayer).subscribe(sink);
  }

  /**
   * `codec`'s ladder for one viewer, started if no viewer uses it yet (the process restarts with its
   * encoders; resolves once its first packet came). Rejects with a {@link MediaStartError} when it cannot
   * be encoded; the stream goes on with its other codecs.
   */
  async use(codec: CodecName): Promise<CodecUse> {
    if (this.#closed) throw new MediaStartError(`the ${this.kind} stream is closed`);
    if (!this.codecs.includes(codec))
      throw new MediaStartError(`the ${this.kind} stream cannot encode ${codec}`);
    this.#users.set(codec, (this.#users.get(codec) ?? 0) + 1);
    clearTimeout(this.#idleTimers.get(codec));
    this.#idleTimers.delete(codec);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#users.set(codec, (this.#users.get(codec) ?? 1) - 1);
      this.#dropIdleCodecs();
    };
    try {
      const layers = this.#ladders.get(codec) ?? (await this.#startCodec(codec));
      return { codec, layers, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Starts a codec's ladder: its layers, then a process restart that encodes it too. */
  #startCodec(codec: CodecName): Promise<StreamLayer[]> {
    let adding = this.#adding.get(codec);
    if (!adding) {
      adding = (async () => {
        const layers = await createLayers(this.#options, codec);
        if (this.#closed) {
          await Promise.all(layers.map((layer) => layer.close()));
          throw new MediaStartError(`the ${this.kind} stream is closed`);
        }
        this.#adopt(codec, layers);
        this.#log.info({ codec, codecs: [...this.#ladders.keys()] }, "encoding another codec for a viewer");
        const [top] = layers as [StreamLayer];
        try {
          await this.#restartUntil(top);
        } catch (error) {
          this.#log.warn({ codec, err: (error as Error).message }, "the codec could not be encoded");
          await this.#dropCodec(codec);
          throw error;
        }
        this.#dropIdleCodecs();
        return layers;
      })().finally(() => this.#adding.delete(codec));
      this.#adding.set(codec, adding);
    }
    return adding;
  }

  /** Restarts the process and waits for `layer`'s first packet (or the start timeout). */
  #restartUntil(layer: StreamLayer): Promise<void> {
    const timeoutMs = this.#options.startTimeoutMs ?? ENCODER_START_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      let ended = false;
      const end = (error?: Error) => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        this.#waits.delete(end);
        queueMicrotask(unsubscribe);
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(
        () =>
          end(new MediaStartError(`the ${layer.codec} encoding sent nothing within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      const unsubscribe = layer.subscribe({ write: () => end() });
      this.#waits.add(end);
      this.process.restart();
    });
  }

  /** Schedules dropping each codec no viewer uses, but never the last one encoded. */
  #dropIdleCodecs(): void {
    if (this.#closed) return;
    for (const codec of this.#ladders.keys()) {
      if (this.#inUse(codec) || this.#idleTimers.has(codec) || this.#adding.has(codec)) continue;
      this.#idleTimers.set(
        codec,
        setTimeout(() => {
          this.#idleTimers.delete(codec);
          if (this.#inUse(codec) || this.#ladders.size < 2 || this.#adding.size > 0) return;
          // With nobody watching at all, the preferred codec is the one kept.
          const othersInUse = [...this.#ladders.keys()].some((other) => this.#inUse(other));
          if (othersInUse || codec !== this.codec) void this.#dropCodec(codec);
        }, CODEC_IDLE_MS),
      );
    }
  }

  #inUse(codec: CodecName): boolean {
    return (this.#users.get(codec) ?? 0) > 0;
  }

  /** Stops encoding a codec: the process restarts without its encoders; its layers close. */
  async #dropCodec(codec: CodecName): Promise<void> {
    const layers = this.#ladders.get(codec);
    if (!layers || this.#closed) return;
    this.#ladders.delete(codec);
    this.#log.info({ codec, codecs: [...this.#ladders.keys()] }, "stopped encoding a codec no viewer uses");
    this.process.restart();
    await Promise.all(layers.map((layer) => layer.close()));
  }

  /** What it has sent so far, and how fast (for the REST API and the metrics): one entry per codec encoded. */
  status(): StreamStatus[] {
    return [...this.#ladders].map(([codec, layers]) => this.#codecStatus(codec, layers));
  }

  #codecStatus(codec: CodecName, layers: readonly StreamLayer[]): StreamStatus {
    const total = { packets: 0, bytes: 0, bitrate: 0, fps: 0, frames: 0, keyframes: 0, keyframeRequests: 0 };
    for (const layer of layers) {
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
      codec,
      ...total,
      restarts: this.process.restarts,
      layers: layers.map((layer) => layer.status()),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    for (const end of [...this.#waits]) end(new MediaStartError(`the ${this.kind} stream is closed`));
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

/** One codec's layers (sockets bound); on failure, none is left open. */
async function createLayers(options: OutgoingStreamOptions, codec: CodecName): Promise<StreamLayer[]> {
  const layers: StreamLayer[] = [];
  try {
    for (const spec of options.layers ?? [{ label: "0" }]) {
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
  return layers;
}
