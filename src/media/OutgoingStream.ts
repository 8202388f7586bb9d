/**
 * One outgoing stream (the device's video, or its audio, or an echo): a supervised GStreamer process
 * that encodes it once, and the loopback socket on which Node receives its RTP to hand to every viewer.
 *
 * - Fan-out: each packet goes to every subscribed {@link RtpSink} through an {@link RtpFanOut}, so a
 *   viewer that fails never costs the others a packet.
 * - Continuity: packets are rewritten by {@link RtpContinuity}, so a restarted encoder is invisible to
 *   viewers (no renegotiation).
 * - Only the encoder is heard: Node's socket is connected to the port the pipeline sends from, and only
 *   the SSRC this process was given is taken; another local process cannot inject a packet.
 * - Keyframes: {@link OutgoingStream.requestKeyframe} sends RTCP (an empty RR, then a PLI — RFC 4585
 *   §6.3.1) to the `rtpbin` in the pipeline, which turns it into a force-key-unit event for the encoder.
 *   Requests are debounced: one encoder serves every viewer, and one keyframe serves them all.
 */
import type { Socket } from "node:dgram";
import type { Logger } from "../common/logger.ts";
import { CODECS, type CodecName } from "./codecs.ts";
import { ENCODER_START_TIMEOUT_MS, KEYFRAME_DEBOUNCE_MS, RTP_RECEIVE_BUFFER_BYTES } from "./constants.ts";
import { GstProcess } from "./GstProcess.ts";
import { bindLoopbackSocket, closeSocket, connectLoopback, reserveLoopbackPort } from "./loopback.ts";
import type { RtpTarget } from "./pipelines.ts";
import { RtpContinuity } from "./RtpContinuity.ts";
import { RtpCounter } from "./RtpCounter.ts";
import { RtpFanOut } from "./RtpFanOut.ts";
import type { RtpSink } from "./RtpSink.ts";

export interface OutgoingStreamOptions {
  kind: "video" | "audio";
  /** What the pipeline encodes to (for its status: keyframes are found in VP8 and H.264). */
  codec?: CodecName | undefined;
  /** The pipeline for one process start; video pipelines also take keyframe requests over RTCP. */
  pipeline: (target: RtpTarget) => string[];
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

/** One encoding of a stream (a rung of the ladder; one per stream until adaptive streaming lands). */
export interface LayerStatus {
  /** A label unique within the stream (`0`, or `640x480` …). */
  layer: string;
  codec: string | undefined;
  bitrate: number;
  fps: number;
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

/** The RTCP sender SSRC of keyframe requests (any value; rtpsession needs one to accept the packet). */
const REQUESTER_SSRC = 0x44525443; // "DRTC"

export class OutgoingStream {
  readonly kind: "video" | "audio";
  readonly process: GstProcess;
  readonly #rtpSocket: Socket;
  readonly #rtcpSocket: Socket | undefined;
  readonly #log: Logger;
  readonly #continuity: RtpContinuity;
  readonly #fanOut: RtpFanOut;
  readonly #feeder: OutgoingStreamOptions["feeder"];
  readonly #codec: CodecName;
  readonly #counter: RtpCounter;
  #keyframeRequests = 0;
  /** The SSRC given to the running process; packets with any other are not from it. */
  #expectedSsrc: number | undefined;
  #encoderSsrc: number | undefined;
  #onFirstPacket: (() => void) | undefined;
  #lastKeyframeRequest = Number.NEGATIVE_INFINITY;
  #pendingKeyframe: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: OutgoingStreamOptions, rtpSocket: Socket, rtcpSocket: Socket | undefined) {
    this.kind = options.kind;
    this.#rtpSocket = rtpSocket;
    this.#rtcpSocket = rtcpSocket;
    this.#log = options.logger.child({ stream: options.kind });
    // Every video codec's RTP clock is 90 kHz (RFC 7741, RFC 6184); the audio is Opus.
    this.#continuity = new RtpContinuity(
      options.kind === "video" ? CODECS.vp8.clockRate : CODECS.opus.clockRate,
    );
    this.#fanOut = new RtpFanOut(this.#log);
    this.#feeder = options.feeder;
    this.#codec = options.codec ?? (options.kind === "video" ? "vp8" : "opus");
    this.#counter = new RtpCounter(
      options.kind,
      this.#codec === "opus" || options.codec === undefined ? undefined : this.#codec,
    );
    this.process = new GstProcess({
      name: `${options.kind}-encoder`,
      logger: options.logger,
      restartOnEos: options.restartOnEos ?? false,
      restartOnEosDelayMs: options.restartOnEosDelayMs ?? 0,
      stdin: options.feeder !== undefined,
      pipeline: () => this.#nextPipeline(options.pipeline),
    });
    rtpSocket.on("message", (packet) => this.#receive(packet));
    for (const socket of [rtpSocket, rtcpSocket]) {
      socket?.on("error", (error) => this.#log.debug({ err: error.message }, "loopback socket error"));
    }
  }

  /**
   * Starts the encoder and resolves once its first packet arrived; rejects with the pipeline's error
   * when it fails first (a missing camera, an undecodable file), and stops everything it started.
   */
  static async create(options: OutgoingStreamOptions): Promise<OutgoingStream> {
    const rtpSocket = await bindLoopbackSocket();
    rtpSocket.setRecvBufferSize(RTP_RECEIVE_BUFFER_BYTES);
    const rtcpSocket = options.kind === "video" ? await bindLoopbackSocket() : undefined;
    const stream = new OutgoingStream(options, rtpSocket, rtcpSocket);
    try {
      await stream.#firstPacket(options.startTimeoutMs ?? ENCODER_START_TIMEOUT_MS);
    } catch (error) {
      await stream.close();
      throw error;
    }
    return stream;
  }

  /** Hands every packet from now on to `sink` (which borrows it); returns the unsubscribe function. */
  subscribe(sink: RtpSink): () => void {
    return this.#fanOut.add(sink);
  }

  /** Asks the encoder for a keyframe (debounced). */
  requestKeyframe(reason: string): void {
    if (!this.#rtcpSocket || this.#closed) return;
    const wait = this.#lastKeyframeRequest + KEYFRAME_DEBOUNCE_MS - performance.now();
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

  /** What it has sent so far, and how fast (for the REST API and the metrics). */
  status(): StreamStatus {
    const counts = this.#counter.counts();
    return {
      kind: this.kind,
      codec: this.#codec,
      packets: counts.packets,
      bytes: counts.bytes,
      bitrate: counts.bitrate,
      fps: counts.fps,
      frames: counts.frames,
      keyframes: counts.keyframes,
      keyframeRequests: this.#keyframeRequests,
      restarts: this.process.restarts,
      layers: [{ layer: "0", codec: this.#codec, bitrate: counts.bitrate, fps: counts.fps }],
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pendingKeyframe);
    this.#feeder?.close();
    await this.process.close();
    this.#fanOut.clear();
    await Promise.all([closeSocket(this.#rtpSocket), this.#rtcpSocket && closeSocket(this.#rtcpSocket)]);
  }

  /**
   * Fresh ports and a fresh SSRC for each process start: Node's sockets are connected to the ports this
   * process uses, so a packet from a previous process (or anyone else) is dropped by the kernel.
   */
  async #nextPipeline(pipeline: OutgoingStreamOptions["pipeline"]): Promise<string[]> {
    this.#expectedSsrc = undefined;
    const sourcePort = await reserveLoopbackPort();
    await reconnect(this.#rtpSocket, sourcePort);
    let rtcpPort: number | undefined;
    if (this.#rtcpSocket) {
      rtcpPort = await reserveLoopbackPort();
      await reconnect(this.#rtcpSocket, rtcpPort);
    }
    // Never 0, so that a fresh SSRC always differs from "none yet".
    const ssrc = (Math.random() * 0xfffffffe + 1) >>> 0;
    this.#expectedSsrc = ssrc;
    return pipeline({ rtpPort: this.#rtpSocket.address().port, sourcePort, rtcpPort, ssrc });
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

  #receive(packet: Buffer): void {
    if (this.#closed || packet.length < 12) return;
    const ssrc = packet.readUInt32BE(8);
    if (ssrc !== this.#expectedSsrc) return;
    if (!this.#continuity.rewrite(packet)) return;
    if (ssrc !== this.#encoderSsrc) {
      if (this.#encoderSsrc !== undefined) this.#log.info("encoder restarted; stream continues");
      this.#encoderSsrc = ssrc;
      this.#feeder?.delivering?.();
    }
    this.#onFirstPacket?.();
    this.#counter.count(packet);
    this.#fanOut.write(packet);
  }

  #sendKeyframeRequest(reason: string): void {
    if (this.#encoderSsrc === undefined || this.#closed || !this.#rtcpSocket) return;
    this.#lastKeyframeRequest = performance.now();
    this.#keyframeRequests++;
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
    this.#rtcpSocket.send(rtcp, () => {});
    this.#log.debug({ reason }, "keyframe requested");
  }
}

/** Points a connected socket at a new port (a restarted process sends from a new one). */
async function reconnect(socket: Socket, port: number): Promise<void> {
  try {
    socket.disconnect();
  } catch {
    // not connected yet
  }
  await connectLoopback(socket, port);
}
