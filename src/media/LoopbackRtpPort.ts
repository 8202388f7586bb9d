/**
 * Node → one `udpsrc` of a pipeline: how received media reaches the speaker, a recorder or an echo.
 * Each port owns a socket connected to the pipeline's port; each packet is copied, rewritten to the
 * codec's payload type inside the device (and, for a speaker slot, to the slot's SSRC with continuous
 * numbering) and sent. An {@link RtpSink}: the caller's buffer is never modified.
 */
import type { Socket } from "node:dgram";
import type { Codec } from "./codecs.ts";
import { bindLoopbackSocket, closeSocket, connectLoopback, reserveLoopbackPort } from "./loopback.ts";
import { RtpContinuity } from "./RtpContinuity.ts";
import type { RtpSink } from "./RtpSink.ts";

export interface LoopbackRtpPortOptions {
  codec: Codec;
  /**
   * Send every packet with this SSRC, renumbered so that one stream continues across senders: the
   * pipeline sees one source even as talker follows talker (a speaker slot).
   */
  ssrc?: number;
}

/** Errors of a send (ECONNREFUSED while the pipeline restarts) are expected and dropped. */
const IGNORE = () => {};

export class LoopbackRtpPort implements RtpSink {
  /** Where the pipeline's `udpsrc` listens. */
  readonly port: number;
  readonly #socket: Socket;
  readonly #payloadType: number;
  readonly #ssrc: number | undefined;
  readonly #continuity: RtpContinuity | undefined;
  #closed = false;

  private constructor(options: LoopbackRtpPortOptions, socket: Socket, port: number) {
    this.port = port;
    this.#socket = socket;
    this.#payloadType = options.codec.payloadType;
    this.#ssrc = options.ssrc;
    this.#continuity = options.ssrc === undefined ? undefined : new RtpContinuity(options.codec.clockRate);
    socket.on("error", IGNORE);
  }

  static async create(options: LoopbackRtpPortOptions): Promise<LoopbackRtpPort> {
    const port = await reserveLoopbackPort();
    const socket = await bindLoopbackSocket();
    await connectLoopback(socket, port);
    return new LoopbackRtpPort(options, socket, port);
  }

  write(packet: Buffer): void {
    if (this.#closed || packet.length < 12) return;
    const copy = Buffer.from(packet);
    if (this.#continuity && !this.#continuity.rewrite(copy)) return;
    if (this.#ssrc !== undefined) copy.writeUInt32BE(this.#ssrc, 8);
    // RFC 3550 §5.1: the payload type is the low 7 bits of byte 1; the marker bit stays.
    copy[1] = ((copy[1] ?? 0) & 0x80) | (this.#payloadType & 0x7f);
    this.#socket.send(copy, IGNORE);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeSocket(this.#socket);
  }
}
