/**
 * Reading just enough of an RTP packet to switch streams at the right place: where the payload starts
 * (RFC 3550 §5.1, §5.3.1) and whether a packet begins a keyframe (VP8: RFC 7741 §4.2–4.3; H.264:
 * RFC 6184 §5.6–5.8 and ITU-T H.264 table 7-1).
 */

/** The fixed RTP header (RFC 3550 §5.1), before any CSRC or extension. */
export const RTP_HEADER_BYTES = 12;

/** The payload's offset in an RTP packet, or undefined when the packet is too short to be RTP. */
export function rtpPayloadOffset(packet: Buffer): number | undefined {
  if (packet.length < RTP_HEADER_BYTES) return undefined;
  const first = packet[0] as number;
  let offset = RTP_HEADER_BYTES + (first & 0x0f) * 4; // CSRC list
  if (first & 0x10) {
    // Header extension: 16-bit profile, 16-bit length in 32-bit words (RFC 3550 §5.3.1).
    if (packet.length < offset + 4) return undefined;
    offset += 4 + packet.readUInt16BE(offset + 2) * 4;
  }
  return offset <= packet.length ? offset : undefined;
}

/**
 * An RTP packet's payload: after the CSRCs and header extension, before any padding (RFC 3550 §5.1);
 * undefined for what is too short to be RTP.
 */
export function rtpPayload(packet: Buffer): Buffer | undefined {
  const offset = rtpPayloadOffset(packet);
  if (offset === undefined) return undefined;
  const padding = (packet[0] as number) & 0x20 ? (packet[packet.length - 1] as number) : 0;
  return packet.subarray(offset, Math.max(offset, packet.length - padding));
}

/** True when the RTP packet carries the first bytes of a VP8 keyframe. */
export function isVp8KeyframeStart(packet: Buffer): boolean {
  let offset = rtpPayloadOffset(packet);
  if (offset === undefined || offset >= packet.length) return false;
  const descriptor = packet[offset] as number;
  // S: start of a partition; PID: partition index — only partition 0's start has the VP8 header.
  const start = (descriptor & 0x10) !== 0;
  const partition = descriptor & 0x07;
  if (!start || partition !== 0) return false;
  offset++;
  if (descriptor & 0x80) {
    // X: an extension byte I L T K follows, then the fields it announces (RFC 7741 §4.2).
    const extension = packet[offset++];
    if (extension === undefined) return false;
    if (extension & 0x80) {
      const pictureId = packet[offset];
      if (pictureId === undefined) return false;
      offset += pictureId & 0x80 ? 2 : 1; // M: a 15-bit picture id
    }
    if (extension & 0x40) offset++; // L: TL0PICIDX
    if (extension & 0x30) offset++; // T or K: TID/Y/KEYIDX
  }
  const header = packet[offset];
  // The VP8 payload header's P bit (RFC 7741 §4.3): 0 for a keyframe.
  return header !== undefined && (header & 0x01) === 0;
}

/** NAL unit types (ITU-T H.264 table 7-1, RFC 6184 §5.2). */
const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_STAP_A = 24;
const NAL_FU_A = 28;

/**
 * True when the RTP packet begins an H.264 keyframe: it carries a sequence parameter set (our encoders
 * repeat SPS/PPS before every IDR frame), or, for an encoder that does not, the start of an IDR slice.
 */
export function isH264KeyframeStart(packet: Buffer): boolean {
  const offset = rtpPayloadOffset(packet);
  if (offset === undefined || offset >= packet.length) return false;
  const type = (packet[offset] as number) & 0x1f;
  if (type === NAL_SPS || type === NAL_IDR) return true;
  if (type === NAL_STAP_A) {
    // Aggregated NAL units, each preceded by a 16-bit size (RFC 6184 §5.7.1).
    let at = offset + 1;
    while (at + 2 < packet.length) {
      const size = packet.readUInt16BE(at);
      const nal = packet[at + 2] as number;
      const nalType = nal & 0x1f;
      if (nalType === NAL_SPS || nalType === NAL_IDR) return true;
      at += 2 + size;
    }
    return false;
  }
  if (type === NAL_FU_A) {
    // A fragment: the FU header's S bit and the fragmented unit's type (RFC 6184 §5.8).
    const fuHeader = packet[offset + 1];
    return fuHeader !== undefined && (fuHeader & 0x80) !== 0 && (fuHeader & 0x1f) === NAL_IDR;
  }
  return false;
}

export function isKeyframeStart(codec: "vp8" | "h264", packet: Buffer): boolean {
  return codec === "vp8" ? isVp8KeyframeStart(packet) : isH264KeyframeStart(packet);
}
