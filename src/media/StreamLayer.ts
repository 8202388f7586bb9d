/**
 * One encoding of an outgoing stream — a rung of the ladder, or the only one: the loopback sockets on
 * which Node takes its RTP from the pipeline and sends it keyframe requests, the rewriting that keeps
 * it continuous across process restarts, and the fan-out to the viewers on it.
 *
 * - Only the encoder is heard: the RTP socket is connected to the port this layer's `udpsink` sends
 *   from, and only the SSRC this process start was given is taken (docs/MEDIA.md §6).
 * - Keyframes: {@link requestKeyframe} sends RTCP (an empty RR, then a PLI — RFC 4585 §6.3.1) to the
 *   layer's `rtpbin` session, which turns it into a force-key-unit event for its encoder. Requests are
 *   debounced: one keyframe serves every viewer of the layer.
 */
import type { Socket } from "node:dgram";
import type { Logger } from "../common/logger.ts";
import { CODECS, type CodecName } from "./codecs.ts";
import { KEYFRAME_DEBOUNCE_MS, RTP_RECEIVE_BUFFER_BYTES } from "./constants.ts";
import { bindLoopbackSocket, closeSocket, connectLoopback, reserveLoopbackPort } from "./loopback.ts";
import type { RtpTarget } from "./pipelines.ts";
import { RtpContinuity } from "./RtpContinuity.ts";
import { RtpCounter } from "./RtpCounter.ts";
import { RtpFanOut } from "./RtpFanOut.ts";
import type { RtpSink } from "./RtpSink.ts";

/** The RTCP sender SSRC of keyframe requests (any value; rtpsession needs one to accept the packet). */
const REQUESTER_SSRC = 0x44525443; // "DRTC"

/** One encoding's status, for the REST API and the metrics. */
export interface LayerStatus {
  /** A label unique within the stream (`640x480`, or `0` for a stream with one encoding). */
  layer: string;
  codec: string | undefined;
  /** What it was configured for, bit/s (video). */
  targetBitrate?: number | undefined;
  bitrate: number;
  fps: number;
  /** Viewers on this layer now. */
  viewers: number;
}

export interface StreamLayerOptions {
  kind: "video" | "audio";
  codec: CodecName;
  label: string;
  /** What its encoder was asked for, kbit/s (video). */
  bitrateKbps?: number | undefined;
  logger: Logger;
}

export class StreamLayer {
  readonly kind: "video" | "audio";
  readonly codec: CodecName;
  readonly label: string;
  readonly bitrateKbps: number | undefined;
  readonly #rtpSocket: Socket;
  readonly #rtcpSocket: Socket | undefined;
  readonly #log: Logger;
  readonly #continuity: RtpContinuity;
  readonly #fanOut: RtpFanOut;
  readonly #counter: RtpCounter;
  #keyframeRequests = 0;
  /** The SSRC given to the running process; packets with any other are not from it. */
  #expectedSsrc: number | undefined;
  #encoderSsrc: number | undefined;
  #lastKeyframeRequest = Number.NEGATIVE_INFINITY;
  #pendingKeyframe: NodeJS.Timeout | undefined;
  #closed = false;
  /** Called for each packet taken, before the fan-out; `first` for a process start's first. */
  onPacket: ((first: boolean) => void) | undefined;

  private constructor(options: StreamLayerOptions, rtpSocket: Socket, rtcpSocket: Socket | undefined) {
    this.kind = options.kind;
    this.codec = options.codec;
    this.label = options.label;
    this.bitrateKbps = options.bitrateKbps;
    this.#rtpSocket = rtpSocket;
    this.#rtcpSocket = rtcpSocket;
    this.#log = options.logger;
    this.#continuity = new RtpContinuity(CODECS[options.codec].clockRate);
    this.#fanOut = new RtpFanOut(this.#log);
    this.#counter = new RtpCounter(options.kind, options.codec === "opus" ? undefined : options.codec);
    rtpSocket.on("message", (packet) => this.#receive(packet));
    for (const socket of [rtpSocket, rtcpSocket]) {
      socket?.on("error", (error) => this.#log.debug({ err: error.message }, "loopback socket error"));
    }
  }

  static async create(options: StreamLayerOptions): Promise<StreamLayer> {
    const rtpSocket = await bindLoopbackSocket();
    rtpSocket.setRecvBufferSize(RTP_RECEIVE_BUFFER_BYTES);
    const rtcpSocket = options.kind === "video" ? await bindLoopbackSocket() : undefined;
    return new StreamLayer(options, rtpSocket, rtcpSocket);
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

  /** What it has sent so far, and how fast. */
  counts(): ReturnType<RtpCounter["counts"]> & { keyframeRequests: number } {
    return { ...this.#counter.counts(), keyframeRequests: this.#keyframeRequests };
  }

  status(): LayerStatus {
    const counts = this.#counter.counts();
    return {
      layer: this.label,
      codec: this.codec,
      targetBitrate: this.bitrateKbps === undefined ? undefined : this.bitrateKbps * 1000,
      bitrate: counts.bitrate,
      fps: counts.fps,
      viewers: this.#fanOut.size,
    };
  }

  /**
   * Fresh ports and a fresh SSRC for one process start: the sockets are connected to the ports this
   * process uses, so a packet from a previous process (or anyone else) is dropped by the kernel.
   */
  async nextTarget(): Promise<RtpTarget> {
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
    return { rtpPort: this.#rtpSocket.address().port, sourcePort, rtcpPort, ssrc, codec: this.codec };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pendingKeyframe);
    this.#fanOut.clear();
    await Promise.all([closeSocket(this.#rtpSocket), this.#rtcpSocket && closeSocket(this.#rtcpSocket)]);
  }

  #receive(packet: Buffer): void {
    if (this.#closed || packet.length < 12) return;
    const ssrc = packet.readUInt32BE(8);
    if (ssrc !== this.#expectedSsrc) return;
    if (!this.#continuity.rewrite(packet)) return;
    const first = ssrc !== this.#encoderSsrc;
    this.#encoderSsrc = ssrc;
    this.#counter.count(packet);
    this.onPacket?.(first);
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
    this.#log.debug({ reason, layer: this.label }, "keyframe requested");
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
