/**
 * Keeps one outgoing RTP stream continuous across encoder restarts. Each GStreamer process starts its
 * own sequence numbers and timestamps at random values (RFC 3550 §5.1); a viewer would see a jump and
 * its jitter buffer and decoder would stall. Each process is given a new SSRC, so a new SSRC marks a
 * restart: from then on its packets are shifted so that sequence numbers follow on by one and
 * timestamps by the wall-clock time that passed (RFC 3550 §5.1: timestamps advance with sampling time).
 * Packets are rewritten in place (the 12-byte fixed header, RFC 3550 §5.1).
 */
/**
 * Replaced encoders remembered so their stragglers are dropped: a process sends nothing after it is
 * replaced but what was in flight, so a few would do; 64 covers restarts in a loop of short files.
 */
const MAX_RETIRED = 64;

export class RtpContinuity {
  readonly #clockRate: number;
  /** Whose packets were rewritten last: an SSRC ({@link rewrite}) or a caller's token ({@link rewriteFrom}). */
  #source: unknown;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq: number | undefined;
  #lastTs: number | undefined;
  #lastAt = 0;
  /** SSRCs of replaced processes, whose late packets are dropped. */
  readonly #retired = new Set<number>();

  constructor(clockRate: number) {
    this.#clockRate = clockRate;
  }

  /**
   * Rewrites `packet`'s sequence number and timestamp; returns false for a packet that must be dropped
   * (not RTP, or a straggler from a process that has already been replaced).
   */
  rewrite(packet: Buffer, now = performance.now()): boolean {
    if (!isRtp(packet)) return false;
    const ssrc = packet.readUInt32BE(8);
    if (ssrc !== this.#source) {
      if (this.#retired.has(ssrc)) return false;
      if (typeof this.#source === "number") {
        this.#retired.add(this.#source);
        if (this.#retired.size > MAX_RETIRED)
          this.#retired.delete(this.#retired.values().next().value as number);
      }
    }
    this.#apply(ssrc, packet, now);
    return true;
  }

  /**
   * Rewrites `packet` as coming from `source` (any token: a layer of the ladder, a talker): a new
   * source follows on from the last packet like a restart does, and a source may come back (a viewer
   * moved down a layer and up again). Returns false for a packet that is not RTP.
   */
  rewriteFrom(source: unknown, packet: Buffer, now = performance.now()): boolean {
    if (!isRtp(packet)) return false;
    this.#apply(source, packet, now);
    return true;
  }

  #apply(source: unknown, packet: Buffer, now: number): void {
    const seq = packet.readUInt16BE(2);
    const ts = packet.readUInt32BE(4);
    if (source !== this.#source) {
      if (this.#lastSeq !== undefined && this.#lastTs !== undefined) {
        const elapsed = Math.max(1, Math.round(((now - this.#lastAt) / 1000) * this.#clockRate));
        this.#seqOffset = (this.#lastSeq + 1 - seq) & 0xffff;
        this.#tsOffset = (this.#lastTs + elapsed - ts) >>> 0;
      }
      this.#source = source;
    }
    const outSeq = (seq + this.#seqOffset) & 0xffff;
    const outTs = (ts + this.#tsOffset) >>> 0;
    packet.writeUInt16BE(outSeq, 2);
    packet.writeUInt32BE(outTs, 4);
    this.#lastSeq = outSeq;
    this.#lastTs = outTs;
    this.#lastAt = now;
  }
}

function isRtp(packet: Buffer): boolean {
  return packet.length >= 12 && packet[0] !== undefined && packet[0] >> 6 === 2;
}
