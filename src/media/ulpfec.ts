/**
 * ULPFEC (RFC 5109) carried in RED (RFC 2198), the forward error correction a browser decodes: a
 * FEC packet is the XOR of a few media packets, so one lost among them is rebuilt at the receiver
 * without waiting a round trip for a re-send. Buffer-level and codec-agnostic; who sends what, and
 * how much of it, is decided in src/device/FecSender.ts. docs/MEDIA.md §10 has why.
 */
import { RTP_HEADER_BYTES } from "./rtpPayload.ts";

/** The FEC header (RFC 5109 §7.3). */
const FEC_HEADER_BYTES = 10;
/**
 * The most media packets one FEC packet protects: a 48-bit mask with the L bit set (RFC 5109 §7.4);
 * 16 without it.
 */
export const ULPFEC_MAX_PROTECTED = 48;
const SHORT_MASK_PACKETS = 16;

/**
 * The FEC packets' bodies (FEC header, one level-0 header, the XORed bytes; RFC 5109 §7) for
 * `packets`, the media packets as the receiver will hold them — whole RTP packets with consecutive
 * sequence numbers, the first one's being the base. `count` FEC packets, interleaved: the i-th
 * protects every packet whose index modulo `count` is i, so each packet is protected once, and a
 * burst of up to `count` consecutive losses is rebuilt.
 */
export function ulpfecBodies(packets: readonly Buffer[], count: number): Buffer[] {
  if (packets.length === 0 || packets.length > ULPFEC_MAX_PROTECTED)
    throw new RangeError(`ULPFEC protects 1 to ${ULPFEC_MAX_PROTECTED} packets, not ${packets.length}`);
  const fecCount = Math.max(1, Math.min(count, packets.length));
  const base = (packets[0] as Buffer).readUInt16BE(2);
  const longMask = packets.length > SHORT_MASK_PACKETS;
  const maskBytes = longMask ? 6 : 2;
  // The FEC header, then the level-0 header: protection length and mask (RFC 5109 §7.4).
  const headerBytes = FEC_HEADER_BYTES + 2 + maskBytes;
  const bodies: Buffer[] = [];
  for (let fec = 0; fec < fecCount; fec++) {
    const protectedPackets: Array<[number, Buffer]> = [];
    for (let i = fec; i < packets.length; i += fecCount) protectedPackets.push([i, packets[i] as Buffer]);
    // The level-0 protection length: the longest protected packet after its fixed header (RFC 5109 §7.4).
    let protectionLength = 0;
    for (const [, packet] of protectedPackets)
      protectionLength = Math.max(protectionLength, packet.length - RTP_HEADER_BYTES);
    const body = Buffer.alloc(headerBytes + protectionLength);
    let bits01 = 0;
    let lengthRecovery = 0;
    let timestampRecovery = 0;
    for (const [i, packet] of protectedPackets) {
      if (((packet.readUInt16BE(2) - base) & 0xffff) !== i)
        throw new RangeError("ULPFEC protects packets with consecutive sequence numbers");
      // P, X, CC, M and PT recovery: the XOR of the first two header bytes (RFC 5109 §7.3).
      bits01 ^= packet.readUInt16BE(0);
      lengthRecovery ^= packet.length - RTP_HEADER_BYTES;
      timestampRecovery = (timestampRecovery ^ packet.readUInt32BE(4)) >>> 0;
      for (let b = RTP_HEADER_BYTES; b < packet.length; b++)
        (body[headerBytes + b - RTP_HEADER_BYTES] as number) ^= packet[b] as number;
      // The mask's most significant bit is the base sequence number (RFC 5109 §7.4).
      body[FEC_HEADER_BYTES + 2 + (i >> 3)] =
        (body[FEC_HEADER_BYTES + 2 + (i >> 3)] as number) | (0x80 >> (i & 7));
    }
    // E = 0 (no extension), L: the long mask; then the recovered P, X and CC bits.
    body[0] = ((bits01 >> 8) & 0x3f) | (longMask ? 0x40 : 0);
    body[1] = bits01 & 0xff;
    body.writeUInt16BE(base, 2);
    body.writeUInt32BE(timestampRecovery, 4);
    body.writeUInt16BE(lengthRecovery, 8);
    body.writeUInt16BE(protectionLength, FEC_HEADER_BYTES);
    bodies.push(body);
  }
  return bodies;
}

/**
 * One RED packet (RFC 2198 §3) with a single, primary block: the RTP header of `header` with the RED
 * payload type and `sequenceNumber`, a one-byte block header (F = 0, the block's payload type), the
 * block. What libwebrtc sends and decodes for video: never more than one block.
 */
export function redPacket(
  header: { marker: boolean; timestamp: number; ssrc: number },
  redPayloadType: number,
  sequenceNumber: number,
  blockPayloadType: number,
  block: Buffer,
): Buffer {
  const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + 1 + block.length);
  packet[0] = 0x80;
  packet[1] = (header.marker ? 0x80 : 0) | redPayloadType;
  packet.writeUInt16BE(sequenceNumber & 0xffff, 2);
  packet.writeUInt32BE(header.timestamp >>> 0, 4);
  packet.writeUInt32BE(header.ssrc >>> 0, 8);
  packet[RTP_HEADER_BYTES] = blockPayloadType & 0x7f;
  block.copy(packet, RTP_HEADER_BYTES + 1);
  return packet;
}
