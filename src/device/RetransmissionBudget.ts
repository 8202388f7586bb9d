/**
 * Which of a viewer's NACKs (RFC 4585 §6.2.1) are answered. werift re-sends every packet asked for,
 * every time it is asked; on a congested link that multiplies the overload (docs/MEDIA.md "Adapting to
 * each viewer"). libwebrtc answers under three rules, and so does this (its `RTPSender::ReSendPacket`
 * and retransmission rate limiter):
 * - a packet is re-sent at most once per round trip (a second NACK within one is a duplicate);
 * - not when it is older than the receiver can still use (a few round trips, or its jitter buffer on a
 *   short path);
 * - within a byte budget: a share of the viewer's estimated bandwidth, so that repairs never crowd
 *   out the stream itself.
 * And while the path shows no queue, a re-send goes out twice (its first copy is lost as often as any
 * packet, and the receiver asks again only a round trip later).
 */
import {
  NACK_BUDGET_BURST_MS,
  NACK_BUDGET_SHARE,
  NACK_DEFAULT_RTT_MS,
  NACK_DUPLICATE_RTT_SHARE,
  NACK_MAX_AGE_MS,
  NACK_MAX_AGE_RTTS,
  NACK_MIN_AGE_WINDOW_MS,
  NACK_MIN_BUDGET_BPS,
} from "./constants.ts";
import { RoundTrips } from "./RoundTrips.ts";

/** Sent packets remembered, by sequence number modulo this: more than werift keeps (128). */
const HISTORY = 1024;

export interface RetransmissionCounts {
  allowed: number;
  /** Refused: asked again within a round trip. */
  duplicate: number;
  /** Refused: too old to be of use. */
  tooOld: number;
  /** Refused: over the byte budget. */
  overBudget: number;
  /** Re-sends sent a second time ({@link RetransmissionBudget.secondCopy}). */
  copies: number;
}

export class RetransmissionBudget {
  readonly #sentAt = new Float64Array(HISTORY);
  readonly #sentSeq = new Int32Array(HISTORY).fill(-1);
  readonly #resentAt = new Float64Array(HISTORY);
  #tokens = 0;
  // The budget starts full.
  #tokensAt = Number.NEGATIVE_INFINITY;
  readonly #roundTrips = new RoundTrips();
  #estimateBps: number | undefined;
  readonly counts: RetransmissionCounts = { allowed: 0, duplicate: 0, tooOld: 0, overBudget: 0, copies: 0 };
  #refusedAsOld = 0;

  /** A packet went to the viewer. */
  sent(seq: number, now: number): void {
    const slot = seq % HISTORY;
    this.#sentSeq[slot] = seq;
    this.#sentAt[slot] = now;
    this.#resentAt[slot] = Number.NEGATIVE_INFINITY;
  }

  /** The latest round-trip time to the viewer, ms (RTCP or ICE; {@link NACK_DEFAULT_RTT_MS} until one came). */
  get rttMs(): number {
    return this.#roundTrips.latest?.[1] ?? NACK_DEFAULT_RTT_MS;
  }

  /**
   * Until when (the clock of {@link allow}) a queue is the device's own: a bandwidth probe's padding,
   * which drains on the same layer. A packet is then old by the latest round trip: a keyframe into the
   * same queue cures nothing a re-send would not.
   */
  ownQueueUntil = Number.NEGATIVE_INFINITY;

  /** A round trip to the viewer measured at `now`, ms (RTCP or ICE). */
  setRoundTrip(value: number | undefined, now: number): void {
    if (value === undefined || !Number.isFinite(value) || value <= 0) return;
    this.#roundTrips.add(value, now);
  }

  /**
   * The path's own round trip: the least of the last seconds ({@link RoundTrips}). A queue that
   * builds makes the round trip longer, not an old packet more useful: the viewer's layer is about to
   * change, and what it lost in the queue is better answered by that layer's keyframe (bench/network
   * S7: with the latest round trip, 220 ms on the 300 kbit/s step, packets up to 880 ms old were re-sent
   * into the full queue, and the viewer reached the floor 0.6 s later than when they were refused). Not
   * for a queue of the device's own ({@link ownQueueUntil}): after a failed probe filled the 300 kbit/s
   * link's queue, the packets it cost were refused, the viewer asked for three keyframes, and the loss
   * they caused kept it from the next probe for 11 s.
   */
  get #pathRttMs(): number {
    return this.#roundTrips.least ?? NACK_DEFAULT_RTT_MS;
  }

  /** The viewer's estimated bandwidth, bit/s. */
  set estimateBps(value: number | undefined) {
    this.#estimateBps = value;
  }

  /** Packets refused as too old since the last call: the viewer needs a keyframe instead. */
  takeRefusedAsOld(): number {
    const count = this.#refusedAsOld;
    this.#refusedAsOld = 0;
    return count;
  }

  /** Whether to re-send packet `seq` of `size` bytes now. */
  allow(seq: number, size: number, now: number): boolean {
    const slot = seq % HISTORY;
    const rtt = now < this.ownQueueUntil ? this.rttMs : this.#pathRttMs;
    const maxAge = Math.min(NACK_MAX_AGE_MS, Math.max(NACK_MIN_AGE_WINDOW_MS, NACK_MAX_AGE_RTTS * rtt));
    if (this.#sentSeq[slot] !== seq || now - (this.#sentAt[slot] as number) > maxAge) {
      this.counts.tooOld++;
      this.#refusedAsOld++;
      return false;
    }
    if (now - (this.#resentAt[slot] as number) < this.rttMs * NACK_DUPLICATE_RTT_SHARE) {
      this.counts.duplicate++;
      return false;
    }
    this.#refill(now);
    if (this.#tokens < size) {
      this.counts.overBudget++;
      return false;
    }
    this.#tokens -= size;
    this.#resentAt[slot] = now;
    this.counts.allowed++;
    return true;
  }

  /** Repair bytes a second, from the viewer's estimate. */
  get #rateBytes(): number {
    return Math.max(NACK_MIN_BUDGET_BPS, (this.#estimateBps ?? 0) * NACK_BUDGET_SHARE) / 8;
  }

  /** The most the budget holds, bytes. */
  get #burstBytes(): number {
    return (this.#rateBytes * NACK_BUDGET_BURST_MS) / 1000;
  }

  /** Adds what the budget earned since it was last read, up to its size; returns what it holds. */
  #refill(now: number): number {
    this.#tokens = Math.min(
      this.#burstBytes,
      this.#tokens + ((now - this.#tokensAt) / 1000) * this.#rateBytes,
    );
    this.#tokensAt = now;
    return this.#tokens;
  }

  /**
   * Whether a re-send just {@link allow}ed goes out a second time (`NACK_SECOND_COPY_DELAY_MS`
   * later): not while a queue shows (own or the path's: a copy would only add to it), and only while
   * the byte budget is more than half full, which it spends.
   */
  secondCopy(size: number, now: number): boolean {
    if (now < this.ownQueueUntil || this.#roundTrips.queueing()) return false;
    // Only from the budget's upper half: on a slow link, first copies of other packets come first.
    if (this.#refill(now) - size < this.#burstBytes / 2) return false;
    this.#tokens -= size;
    this.counts.copies++;
    return true;
  }
}
