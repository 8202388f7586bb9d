/**
 * One viewer's video wrapped in RED with ULPFEC packets after each frame (RFC 2198, RFC 5109), the
 * way libwebrtc protects VP8: a lost packet among a frame's few is rebuilt at once from the FEC
 * packet, instead of a round trip later from a re-send — on a 100 ms link, the difference between a
 * picture that flows and one that stalls (docs/MEDIA.md §10).
 *
 * Sits between the viewer's {@link LayerSwitch} and werift's sender: every media packet goes out in a
 * RED packet of its own (one byte more), numbered on from the last, and when `share` is above zero,
 * FEC packets follow each frame (or every few small ones), numbered in the same sequence. werift then writes the SSRC, the RED
 * payload type and its header extensions; the FEC is worked out over the packets as the receiver will
 * hold them once it takes the RED header off: with those extensions, their values zeroed, as libwebrtc
 * zeroes the ones written at send time before it decodes (`RtpPacket::ZeroMutableExtensions`).
 */
import { RTP_HEADER_BYTES, rtpPayload } from "../media/rtpPayload.ts";
import { redPacket, ULPFEC_MAX_PROTECTED, ulpfecBodies } from "../media/ulpfec.ts";

/** FEC packet numbers remembered to refuse their re-sends: more than werift keeps packets to re-send. */
const FEC_SEQUENCES_KEPT = 512;

export interface FecFormat {
  /** The codec's own payload type (the RED block's). */
  media: number;
  red: number;
  ulpfec: number;
}

/** A header extension the sender writes at send time (RFC 8285 one-byte form), by id and length. */
export interface SentExtension {
  id: number;
  bytes: number;
}

/** The header extensions werift writes itself at send time, and their lengths (RFC 8285 one-byte form). */
const SENT_EXTENSION_BYTES: Record<string, number> = {
  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time": 3,
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01": 2,
};

/**
 * The extensions a sender with these negotiated header extensions writes on every packet, or undefined
 * when one is not known here to be zeroed by the receiver before it decodes FEC (no FEC then).
 */
export function sentExtensions(
  negotiated: ReadonlyArray<{ id: number; uri: string }>,
): SentExtension[] | undefined {
  const sent: SentExtension[] = [];
  for (const { id, uri } of negotiated) {
    const bytes = SENT_EXTENSION_BYTES[uri];
    if (bytes === undefined) return undefined;
    sent.push({ id, bytes });
  }
  return sent;
}

export class FecSender {
  readonly #format: FecFormat;
  readonly #send: (packet: Buffer) => void;
  /** The extension block werift will add to every packet, values zeroed (RFC 8285 §4.2). */
  readonly #extensionBlock: Buffer;
  #share = 0;
  /** FEC packets put into the sequence so far: a media packet goes out numbered its own plus these. */
  #inserted = 0;
  #lastInput: number | undefined;
  /** The media packets not yet protected, as the receiver will hold them. */
  #group: Buffer[] = [];
  /** The numbers of the latest FEC packets (oldest first), never re-sent: a round trip late, they repair nothing. */
  readonly #fecSequences: number[] = [];
  readonly #isFec = new Set<number>();

  constructor(format: FecFormat, extensions: readonly SentExtension[], send: (packet: Buffer) => void) {
    this.#format = format;
    this.#send = send;
    this.#extensionBlock = zeroedExtensionBlock(extensions);
  }

  /** FEC packets per media packet (0: none, just RED). Takes effect at the next frame. */
  get share(): number {
    return this.#share;
  }

  set share(share: number) {
    this.#share = Math.max(0, share);
    if (this.#share === 0) this.#group = [];
  }

  /** FEC packets sent so far. */
  get fecPackets(): number {
    return this.#inserted;
  }

  /** Whether the packet sent as `sequence` (of the last few hundred) was a FEC packet. */
  isFec(sequence: number): boolean {
    return this.#isFec.has(sequence);
  }

  /** One media packet from the layer switch (borrowed, as every {@link RtpSink} packet is). */
  write(packet: Buffer): void {
    const payload = rtpPayload(packet);
    if (payload === undefined) return;
    const header = {
      marker: ((packet[1] as number) & 0x80) !== 0,
      timestamp: packet.readUInt32BE(4),
      ssrc: packet.readUInt32BE(8),
    };
    const input = packet.readUInt16BE(2);
    // A packet missing from what the layer switch sends (dropped on the loopback) stays missing, so the
    // viewer asks for it; FEC protects consecutive packets only: the group starts again.
    if (this.#lastInput !== undefined && input !== ((this.#lastInput + 1) & 0xffff)) this.#group = [];
    this.#lastInput = input;
    const sequence = (input + this.#inserted) & 0xffff;
    this.#send(redPacket(header, this.#format.red, sequence, this.#format.media, payload));
    if (this.#share === 0) return;
    this.#group.push(this.#asReceived(packet, sequence, payload));
    // One FEC packet protects at most 48: the oldest go unprotected (the receiver keeps the newest).
    if (this.#group.length > ULPFEC_MAX_PROTECTED) this.#group.shift();
    // Only at a frame's end: libwebrtc's receiver takes a FEC packet's number for an empty slot, and a
    // frame with one inside is never whole. And once the packets are enough for one FEC packet (small
    // frames are protected together: one FEC packet per one-packet frame would double the bitrate).
    if (header.marker && this.#group.length * this.#share >= 1) this.#protect(header, sequence);
  }

  /** The media packet the receiver rebuilds from the RED packet, mutable extension values zeroed. */
  #asReceived(packet: Buffer, sequence: number, payload: Buffer): Buffer {
    const extension = this.#extensionBlock.length > 0;
    const received = Buffer.allocUnsafe(RTP_HEADER_BYTES + this.#extensionBlock.length + payload.length);
    received[0] = 0x80 | (extension ? 0x10 : 0);
    received[1] = ((packet[1] as number) & 0x80) | this.#format.media;
    received.writeUInt16BE(sequence, 2);
    packet.copy(received, 4, 4, RTP_HEADER_BYTES);
    this.#extensionBlock.copy(received, RTP_HEADER_BYTES);
    payload.copy(received, RTP_HEADER_BYTES + this.#extensionBlock.length);
    return received;
  }

  /** The FEC packets of the packets just sent, right after the last of them (`last`). */
  #protect(header: { timestamp: number; ssrc: number }, last: number): void {
    const group = this.#group;
    this.#group = [];
    const count = Math.max(1, Math.round(group.length * this.#share));
    for (const [i, body] of ulpfecBodies(group, count).entries()) {
      const sequence = (last + 1 + i) & 0xffff;
      this.#inserted++;
      this.#remember(sequence);
      const fec = redPacket(
        { ...header, marker: false },
        this.#format.red,
        sequence,
        this.#format.ulpfec,
        body,
      );
      this.#send(fec);
    }
  }

  #remember(sequence: number): void {
    this.#fecSequences.push(sequence);
    this.#isFec.add(sequence);
    if (this.#fecSequences.length > FEC_SEQUENCES_KEPT)
      this.#isFec.delete(this.#fecSequences.shift() as number);
  }
}

/** A one-byte-form extension block (RFC 8285 §4.2) of zeroed values, padded to 32 bits, as werift writes it. */
function zeroedExtensionBlock(extensions: readonly SentExtension[]): Buffer {
  if (extensions.length === 0) return Buffer.alloc(0);
  const sorted = [...extensions].sort((a, b) => a.id - b.id);
  const content = sorted.reduce((sum, extension) => sum + 1 + extension.bytes, 0);
  const words = Math.ceil(content / 4);
  const block = Buffer.alloc(4 + words * 4);
  block.writeUInt16BE(0xbede, 0);
  block.writeUInt16BE(words, 2);
  let offset = 4;
  for (const extension of sorted) {
    block[offset] = (extension.id << 4) | (extension.bytes - 1);
    offset += 1 + extension.bytes;
  }
  return block;
}
