/**
 * The echo of one sending browser: its camera decoded, drawn over with its name and a running clock,
 * encoded again and offered back as an ordinary producer peer with meta
 * `{"name":"<device> echo <sender>","echoOf":"<sender peer id>"}` — any GStreamer client can view it,
 * and the web app pairs it with its sender. It lives exactly as long as the sender's session.
 */
import { createSocket, type Socket } from "node:dgram";
import type { Logger } from "../common/logger.ts";
import { type IncomingVideoCodec, setPayloadType } from "../media/incoming.ts";
import { freeUdpPort, OutgoingStream } from "../media/OutgoingStream.ts";
import { PAYLOAD_TYPES, type VideoSettings, videoPipeline } from "../media/pipelines.ts";
import { DeviceProducer } from "./DeviceProducer.ts";
import { SignallingClient } from "./SignallingClient.ts";
import type { IceSettings } from "./webrtc.ts";

export interface EchoProducerOptions {
  deviceName: string;
  senderName: string;
  senderId: string;
  /** The codec the sender's video arrives in. */
  input: IncomingVideoCodec;
  /** Size, rate, codec and bitrate of the echo. */
  settings: VideoSettings;
  server: string;
  ca?: string | Buffer | undefined;
  /** Headers of its signalling connection (the device's credential). */
  headers?: Record<string, string> | undefined;
  ice: IceSettings;
  logger: Logger;
}

export class EchoProducer {
  readonly name: string;
  readonly #options: EchoProducerOptions;
  readonly #socket: Socket;
  readonly #port: number;
  readonly #log: Logger;
  #stream: OutgoingStream | undefined;
  #producer: DeviceProducer | undefined;
  #closed = false;

  private constructor(options: EchoProducerOptions, socket: Socket, port: number) {
    this.name = `${options.deviceName} echo ${options.senderName}`;
    this.#options = options;
    this.#socket = socket;
    this.#port = port;
    this.#log = options.logger.child({ echoOf: options.senderId });
  }

  /** Binds the echo's input; {@link EchoProducer.write} works from now on. */
  static async create(options: EchoProducerOptions): Promise<EchoProducer> {
    const port = await freeUdpPort();
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new EchoProducer(options, socket, port);
  }

  /** Starts the encoder, and registers the producer once the sender's first picture went through it. */
  async start(): Promise<void> {
    const options = this.#options;
    const stream = await OutgoingStream.open(
      {
        kind: "video",
        clockRate: 90_000,
        keyframes: true,
        logger: this.#log,
        pipeline: (target) =>
          videoPipeline(
            { kind: "rtp", port: this.#port, codec: options.input, label: options.senderName },
            options.settings,
            target,
          ),
      },
      30_000,
    );
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
      meta: { name: this.name, echoOf: options.senderId },
      video: stream,
      videoCodec: options.settings.codec,
      audio: undefined,
      ice: options.ice,
      logger: this.#log,
    });
    this.#producer.start();
    this.#log.info({ name: this.name }, "echo started");
  }

  /** Forwards one RTP packet of the sender's video. */
  write(packet: Buffer): void {
    if (this.#closed) return;
    this.#socket.send(setPayloadType(packet, PAYLOAD_TYPES[this.#options.input]), this.#port, "127.0.0.1");
  }

  /** Ends the echo's sessions (endSession to its viewers) and stops its encoder. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#producer?.close();
    await this.#stream?.close();
    this.#socket.close();
    this.#log.info({ name: this.name }, "echo stopped");
  }
}
