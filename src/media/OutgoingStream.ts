/**
 * One outgoing stream (the device's video, or its audio): a supervised GStreamer process that encodes
 * it once, and the loopback UDP socket on which Node receives its RTP to copy to every session.
 *
 * - Continuity: packets are rewritten by {@link RtpContinuity}, so a restarted encoder is invisible to
 *   viewers (no renegotiation).
 * - Keyframes: {@link OutgoingStream.requestKeyframe} sends RTCP (an empty RR, then a PLI — RFC 4585
 *   §6.3.1) to the `rtpbin` in the pipeline, which turns it into a force-key-unit event for the encoder.
 *   Requests are debounced: one encoder serves every viewer, and one keyframe serves them all.
 */
import { createSocket, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import type { Logger } from "../common/logger.ts";
import { GstProcess } from "./GstProcess.ts";
import type { RtpTarget } from "./pipelines.ts";
import { RtpContinuity } from "./RtpContinuity.ts";

export interface OutgoingStreamOptions {
  kind: "video" | "audio";
  pipeline: (target: RtpTarget) => string[];
  clockRate: number;
  logger: Logger;
  /** Whether the pipeline takes keyframe requests over RTCP (video). */
  keyframes?: boolean;
  /** Restart at end of stream: files loop, text-to-speech repeats. */
  restartOnEos?: boolean;
  restartOnEosDelayMs?: number;
  /** Minimum time between two keyframe requests to the encoder. Default 200 ms. */
  keyframeDebounceMs?: number;
  /** Something that feeds the process's stdin for as long as the stream is open (the test pattern). */
  feeder?: { start(process: GstProcess): void; stop(): void };
}

interface OutgoingStreamEvents {
  rtp: [packet: Buffer];
}

/** The encoder could not start: its source or pipeline failed before the first packet. */
export class MediaStartError extends Error {
  override readonly name = "MediaStartError";
}

/** The RTCP sender SSRC of keyframe requests (any value; rtpsession needs one to accept the packet). */
const REQUESTER_SSRC = 0x44525443; // "DRTC"

export class OutgoingStream extends EventEmitter<OutgoingStreamEvents> {
  readonly kind: "video" | "audio";
  readonly process: GstProcess;
  readonly #socket: Socket;
  readonly #log: Logger;
  readonly #continuity: RtpContinuity;
  readonly #keyframes: boolean;
  readonly #debounceMs: number;
  readonly #feeder: OutgoingStreamOptions["feeder"];
  #rtcpPort = 0;
  #encoderSsrc: number | undefined;
  #lastKeyframeRequest = 0;
  #pendingKeyframe: NodeJS.Timeout | undefined;
  #packets = 0;
  #closed = false;

  private constructor(options: OutgoingStreamOptions, socket: Socket, rtcpPort: number) {
    super();
    // One listener per viewer session.
    this.setMaxListeners(0);
    this.kind = options.kind;
    this.#socket = socket;
    this.#rtcpPort = rtcpPort;
    this.#log = options.logger.child({ stream: options.kind });
    this.#continuity = new RtpContinuity(options.clockRate);
    this.#keyframes = options.keyframes ?? false;
    this.#debounceMs = options.keyframeDebounceMs ?? 200;
    this.#feeder = options.feeder;
    const rtpPort = socket.address().port;
    this.process = new GstProcess({
      name: `${options.kind}-encoder`,
      logger: options.logger,
      restartOnEos: options.restartOnEos ?? false,
      restartOnEosDelayMs: options.restartOnEosDelayMs ?? 0,
      stdin: options.feeder !== undefined,
      pipeline: () =>
        options.pipeline({
          rtpPort,
          rtcpPort: this.#keyframes ? this.#rtcpPort : undefined,
          // A fresh SSRC per process: RtpContinuity sees the restart.
          ssrc: (Math.random() * 0xfffffffe + 1) >>> 0,
        }),
    });
    socket.on("message", (packet) => this.#receive(packet));
    socket.on("error", (error) => this.#log.warn({ err: error.message }, "RTP socket error"));
  }

  /**
   * Starts the encoder and resolves once its first packet arrived; rejects with the pipeline's error
   * when it fails first (a missing camera, an undecodable file), and stops everything it started.
   */
  static async open(options: OutgoingStreamOptions, startTimeoutMs = 15_000): Promise<OutgoingStream> {
    const socket = await bindLoopbackUdp(0);
    const rtcpPort = options.keyframes ? await freeUdpPort() : 0;
    const stream = new OutgoingStream(options, socket, rtcpPort);
    try {
      await stream.#firstPacket(startTimeoutMs);
    } catch (error) {
      await stream.close();
      throw error;
    }
    return stream;
  }

  /** RTP packets received from the encoder so far. */
  get packets(): number {
    return this.#packets;
  }

  /** Asks the encoder for a keyframe (debounced). */
  requestKeyframe(reason: string): void {
    if (!this.#keyframes || this.#closed) return;
    const wait = this.#lastKeyframeRequest + this.#debounceMs - performance.now();
    if (wait <= 0) {
      this.#sendKeyframeRequest(reason);
    } else if (!this.#pendingKeyframe) {
      // Trailing request: whoever asked during the window still gets a keyframe after it.
      this.#pendingKeyframe = setTimeout(() => {
        this.#pendingKeyframe = undefined;
        this.#sendKeyframeRequest(reason);
      }, wait);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pendingKeyframe);
    this.#feeder?.stop();
    await this.process.close();
    this.#socket.close();
    this.removeAllListeners();
  }

  #firstPacket(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new MediaStartError(`the ${this.kind} pipeline sent nothing within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const onRtp = () => {
        cleanup();
        resolve();
      };
      const onExit = (code: number | null, _signal: NodeJS.Signals | null, error: string | undefined) => {
        if (code === 0 && !error) return; // a clean end before the first packet: the restart will try again
        cleanup();
        reject(new MediaStartError(error ?? `the ${this.kind} pipeline exited with code ${code}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.off("rtp", onRtp);
        this.process.off("exited", onExit);
      };
      this.once("rtp", onRtp);
      this.process.on("exited", onExit);
      this.process.start();
      this.#feeder?.start(this.process);
    });
  }

  #receive(packet: Buffer): void {
    if (this.#closed) return;
    const ssrc = packet.length >= 12 ? packet.readUInt32BE(8) : undefined;
    if (!this.#continuity.rewrite(packet)) return;
    if (ssrc !== this.#encoderSsrc) {
      if (this.#encoderSsrc !== undefined) this.#log.info("encoder restarted; stream continues");
      this.#encoderSsrc = ssrc;
    }
    this.#packets++;
    this.emit("rtp", packet);
  }

  #sendKeyframeRequest(reason: string): void {
    if (this.#encoderSsrc === undefined || this.#closed) return;
    this.#lastKeyframeRequest = performance.now();
    const rtcp = Buffer.alloc(20);
    // Receiver report with no report blocks (RFC 3550 §6.4.2), so rtpsession learns the sender…
    rtcp.writeUInt8(0x80, 0);
    rtcp.writeUInt8(201, 1);
    rtcp.writeUInt16BE(1, 2);
    rtcp.writeUInt32BE(REQUESTER_SSRC, 4);
    // …then a Picture Loss Indication (RFC 4585 §6.3.1: PT=PSFB 206, FMT=1) for the encoder's SSRC.
    rtcp.writeUInt8(0x81, 8);
    rtcp.writeUInt8(206, 9);
    rtcp.writeUInt16BE(2, 10);
    rtcp.writeUInt32BE(REQUESTER_SSRC, 12);
    rtcp.writeUInt32BE(this.#encoderSsrc, 16);
    this.#socket.send(rtcp, this.#rtcpPort, "127.0.0.1");
    this.#log.debug({ reason }, "keyframe requested");
  }
}

function bindLoopbackUdp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(port, "127.0.0.1", () => {
      socket.off("error", reject);
      // Room for bursts of a keyframe's packets while Node is busy.
      socket.setRecvBufferSize(4 * 1024 * 1024);
      resolve(socket);
    });
  });
}

/** A UDP port on 127.0.0.1 that is free now (for a pipeline's udpsrc to bind). */
export async function freeUdpPort(): Promise<number> {
  const socket = await bindLoopbackUdp(0);
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
