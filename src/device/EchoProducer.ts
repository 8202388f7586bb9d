/**
 * The echo of one sending browser: its camera decoded, drawn over with its name and a running clock,
 * encoded again and offered back as an ordinary producer peer with meta
 * `{"name":"<device> echo <sender>","echoOf":"<sender peer id>"}` — any GStreamer client can view it,
 * and the web app pairs it with its sender. It lives exactly as long as the sender's session.
 *
 * An {@link RtpSink} for the sender's video. Its encoder sends its first packet once the sender's
 * first keyframe went through the decoder, so the echo registers as a producer only then.
 */
import type { Logger } from "../common/logger.ts";
import { CODECS, encodableVideoCodecs, type VideoCodecName } from "../media/codecs.ts";
import { ECHO_START_TIMEOUT_MS } from "../media/constants.ts";
import { LoopbackRtpPort } from "../media/LoopbackRtpPort.ts";
import { OutgoingStream } from "../media/OutgoingStream.ts";
import { echoPipeline, type RtpTarget, type VideoSettings } from "../media/pipelines.ts";
import type { RtpSink } from "../media/RtpSink.ts";
import { DeviceProducer } from "./DeviceProducer.ts";
import { SignallingClient } from "./SignallingClient.ts";
import type { IceSettings } from "./webrtc.ts";

export interface EchoProducerOptions {
  deviceName: string;
  /** The sender's normalised name: drawn on the picture, and part of the echo's name. */
  senderName: string;
  senderId: string;
  /** The codec the sender's video arrives in. */
  input: VideoCodecName;
  /** Size, rate, codec and bitrate of the echo. */
  settings: VideoSettings;
  server: string;
  ca?: string | Buffer | undefined;
  /** Headers of its signalling connection (the device's credential). */
  headers?: Record<string, string> | undefined;
  ice: IceSettings;
  logger: Logger;
}

export class EchoProducer implements RtpSink {
  readonly #name: string;
  readonly #options: EchoProducerOptions;
  readonly #input: LoopbackRtpPort;
  readonly #log: Logger;
  #stream: OutgoingStream | undefined;
  #producer: DeviceProducer | undefined;
  #closed = false;

  private constructor(options: EchoProducerOptions, input: LoopbackRtpPort) {
    this.#name = `${options.deviceName} echo ${options.senderName}`;
    this.#options = options;
    this.#input = input;
    this.#log = options.logger.child({ echoOf: options.senderId });
  }

  /**
   * Binds the echo's input ({@link EchoProducer.write} works from now on) and starts its encoder; the
   * producer registers once the sender's first picture has gone through it.
   */
  static async create(options: EchoProducerOptions): Promise<EchoProducer> {
    const echo = new EchoProducer(options, await LoopbackRtpPort.create({ codec: CODECS[options.input] }));
    echo.#start().catch((error: Error) => echo.#log.warn({ err: error.message }, "the echo could not start"));
    return echo;
  }

  /**
   * Whether the echo's encoder has produced its first frame — which it does only once a keyframe of
   * the sender went through its decoder.
   */
  get started(): boolean {
    return this.#stream !== undefined;
  }

  /** One RTP packet of the sender's video (borrowed: copied before it is rewritten). */
  write(packet: Buffer): void {
    this.#input.write(packet);
  }

  /** Ends the echo's sessions (endSession to its viewers) and stops its encoder. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#producer?.close();
    await this.#stream?.close();
    await this.#input.close();
    this.#log.info({ name: this.#name }, "echo stopped");
  }

  async #start(): Promise<void> {
    const options = this.#options;
    const input = { port: this.#input.port, codec: options.input, label: options.senderName };
    const stream = await OutgoingStream.create({
      kind: "video",
      codec: options.settings.codec,
      otherCodecs: encodableVideoCodecs(options.settings.codec),
      logger: this.#log,
      startTimeoutMs: ECHO_START_TIMEOUT_MS,
      pipeline: ([target]) => echoPipeline(input, options.settings, target as RtpTarget),
    });
    if (this.#closed) {
      await stream.close();
      return;
    }
    this.#stream = stream;
    this.#producer = new DeviceProducer({
      client: new SignallingClient({
        url: options.server,
        logger: this.#log,
        ca: options.ca,
        headers: options.headers,
      }),
      meta: { name: this.#name, echoOf: options.senderId },
      video: stream,
      audio: undefined,
      ice: options.ice,
      logger: this.#log,
    });
    this.#producer.start();
    this.#log.info({ name: this.#name }, "echo started");
  }
}
