/**
 * Which layer of the ladder one viewer should be on, from what its browser tells about its link: the
 * receiver's estimate of the bandwidth (REMB, draft-alvestrand-rmcat-remb; Chrome and Firefox send it
 * when `goog-remb` is negotiated, computed from the abs-send-time of our packets), the loss and the
 * round trip from its receiver reports (RFC 3550 §6.4.1). Pure decisions on numbers and a clock:
 * src/device/ProducerSession.ts feeds it and acts (moves the viewer, or sends a probe's padding).
 *
 * - Down fast: as soon as the estimate falls (the receiver saw congestion), to the best layer that
 *   fits it; or one layer at a time while the loss stays high and the estimate shows no room.
 * - Up after a probe: a receiver's estimate never rises far above what it receives (GCC caps it at 1.5
 *   times the incoming rate), so it cannot say whether the layer above would fit. Padding raises what
 *   the viewer gets to that layer's rate for a moment; if neither the estimate nor the round trip nor
 *   the loss says the link choked on it, the viewer is moved up. A failed probe doubles the wait
 *   before the next (up to a cap). A viewer without RTX (no padding) is tried on the layer above
 *   directly, once the estimate has shown headroom for a while, with the same backoff on failure.
 * - Audio is never starved: its bitrate is kept aside before any video layer is chosen.
 */
import {
  FEC_BEFORE_ESTIMATE_MAX_SHARE,
  FEC_BEFORE_ESTIMATE_WITHIN_MS,
  FEC_MAX_SHARE,
  FEC_MIN_LOSS,
  FEC_PER_LOSS,
  LAYER_AUDIO_RESERVE_BPS,
  LAYER_DOWN_LOSS,
  LAYER_ESTIMATE_FALL,
  LAYER_ESTIMATE_FAR_UNDER,
  LAYER_ESTIMATE_WINDOW_MS,
  LAYER_HEADROOM,
  LAYER_LOSS_MAX_WINDOW_MS,
  LAYER_LOSS_MIN_PACKETS,
  LAYER_LOSS_WINDOW_MS,
  LAYER_MOVE_SETTLE_MS,
  LAYER_PROBE_FAILED_QUIET_MS,
  LAYER_PROBE_FAILED_WITHIN_MS,
  LAYER_PROBE_FALL,
  LAYER_PROBE_HOLD_MAX_MS,
  LAYER_PROBE_HOLD_MS,
  LAYER_PROBE_LOST_PACKETS,
  LAYER_PROBE_MS,
  LAYER_PROBE_NEXT_MS,
  LAYER_PROBE_SETTLE_MS,
  LAYER_QUEUE_DRAINED_MS,
  LAYER_QUEUE_DRAINED_SHARE,
  LAYER_UP_HEADROOM,
  LAYER_UP_HOLD_MAX_MS,
  LAYER_UP_HOLD_MS,
  LAYER_UP_LOSS,
} from "./constants.ts";
import { RoundTrips } from "./RoundTrips.ts";

export interface LayerDecision {
  layer: number;
  reason: string;
  /**
   * Not a move: send this much padding, bit/s, for {@link LAYER_PROBE_MS} (0: stop). Asked only of a
   * policy told it can probe.
   */
  probeBps?: number;
}

/** A probe being made or read: towards which layer, until when, and the highest estimate since. */
interface Probe {
  layer: number;
  startedAt: number;
  endsAt: number;
  peak: number;
  /** The newest receiver report's cumulative [lost, highest sequence] when the probe began. */
  reportAtStart: readonly [number, number] | undefined;
  /** The loss before the probe (share): what it explains of the losses during it. */
  lossBefore: number;
  /** Packets NACKed since the probe began, and how many per ms were NACKed before it. */
  nacked: number;
  nackRateBefore: number;
}

export class LayerPolicy {
  /** Each layer's bitrate, bit/s, best first. */
  readonly #bitrates: readonly number[];
  #current: number;
  #estimate: number | undefined;
  #sending: number | undefined;
  /** Recent estimates: [time, bit/s]. */
  readonly #estimates: Array<[number, number]> = [];
  /**
   * Recent receiver reports' cumulative counts: [time, packets lost, extended highest sequence number
   * received]; the first is the base the window's loss is counted from.
   */
  readonly #reports: Array<[number, number, number]> = [];
  #lastSwitchAt: number;
  readonly #startedAt: number;
  #lastSwitchUp = false;
  #upHoldMs = LAYER_UP_HOLD_MS;
  /** Since when the link has looked good enough to try the next layer up. */
  #goodSince: number | undefined;
  /** Whether tries up are probed first (the session can send padding: RTX was negotiated). */
  readonly #canProbe: boolean;
  #probe: Probe | undefined;
  #probeHoldMs = LAYER_PROBE_HOLD_MS;
  /** When the last probe failed: the loss and keyframe requests its padding caused are not the layer's. */
  #probeFailedAt = Number.NEGATIVE_INFINITY;
  /** Recent NACKs: [time, packets asked for]. */
  readonly #nacks: Array<[number, number]> = [];
  readonly #roundTrips = new RoundTrips();

  constructor(bitrates: readonly number[], start: number, now: number, options: { canProbe?: boolean } = {}) {
    this.#bitrates = bitrates;
    this.#canProbe = options.canProbe ?? false;
    this.#current = start;
    this.#lastSwitchAt = now;
    this.#startedAt = now;
  }

  get layer(): number {
    return this.#current;
  }

  /** The receiver's latest estimate, bit/s. */
  get estimate(): number | undefined {
    return this.#estimate;
  }

  /** The viewer was moved (by this policy's decision or otherwise). */
  moved(layer: number, now: number): void {
    const up = layer < this.#current;
    if (!up && this.#lastSwitchUp && now - this.#lastSwitchAt < LAYER_PROBE_FAILED_WITHIN_MS) {
      // The last try up did not hold: wait longer before the next.
      this.#upHoldMs = Math.min(this.#upHoldMs * 2, LAYER_UP_HOLD_MAX_MS);
      this.#probeHoldMs = Math.min(
        Math.max(this.#probeHoldMs, LAYER_PROBE_HOLD_MS) * 2,
        LAYER_PROBE_HOLD_MAX_MS,
      );
    } else if (!up) {
      this.#probeHoldMs = Math.max(this.#probeHoldMs, LAYER_PROBE_HOLD_MS);
    }
    // A move ends any probe: its padding was measured against the old layer.
    this.#probe = undefined;
    this.#current = layer;
    this.#lastSwitchAt = now;
    this.#lastSwitchUp = up;
    this.#goodSince = undefined;
    this.#reports.length = 0;
    // A fall is measured from the estimates after the move has settled.
    this.#estimates.length = 0;
  }

  /**
   * A REMB from the viewer, bit/s, and what the viewer is being sent now (video and audio, bit/s;
   * the layer's own bitrate when unknown).
   */
  onEstimate(bps: number, now: number, sendingBps?: number): LayerDecision | undefined {
    this.#estimate = bps;
    this.#sending = sendingBps;
    if (now - this.#lastSwitchAt >= LAYER_MOVE_SETTLE_MS) this.#estimates.push([now, bps]);
    while ((this.#estimates[0]?.[0] ?? now) < now - LAYER_ESTIMATE_WINDOW_MS) this.#estimates.shift();
    const decision = this.#decide(now);
    return decision;
  }

  /** The highest estimate in the last {@link LAYER_ESTIMATE_WINDOW_MS} (since the last move). */
  get #estimatePeak(): number | undefined {
    let peak: number | undefined;
    for (const [, bps] of this.#estimates) peak = Math.max(peak ?? 0, bps);
    return peak;
  }

  /**
   * A receiver report block for our video (RFC 3550 §6.4.1): its cumulative number of packets lost
   * and extended highest sequence number received. Its "fraction lost" is not used: it covers the
   * time since the receiver's previous report, and a browser sends one with every NACK, so one lost
   * packet among the few of a few milliseconds read as 12–50 % on a link that loses 1 %.
   */
  onReport(lost: number, highestSequence: number, now: number): LayerDecision | undefined {
    this.#reports.push([now, lost, highestSequence]);
    while ((this.#reports[1]?.[0] ?? now) <= now - LAYER_LOSS_MAX_WINDOW_MS) this.#reports.shift();
    return this.#decide(now);
  }

  /**
   * A NACK for `packets` of the video (RFC 4585 §6.2.1). A browser asks within a round trip of a gap,
   * long before its next receiver report: packets lost beyond the usual while a probe is on end the
   * probe at once, before its padding has filled the link's queue for its whole length.
   */
  onNack(packets: number, now: number): LayerDecision | undefined {
    this.#nacks.push([now, packets]);
    while ((this.#nacks[0]?.[0] ?? now) < now - LAYER_LOSS_MAX_WINDOW_MS) this.#nacks.shift();
    const probe = this.#probe;
    if (!probe) return undefined;
    probe.nacked += packets;
    const usual = 2 * probe.nackRateBefore * (now - probe.startedAt);
    if (probe.nacked > LAYER_PROBE_LOST_PACKETS + usual)
      return this.#probeFailed("probe failed: packets lost", now);
    return undefined;
  }

  /** A round trip measured from a receiver report, ms. */
  onRoundTrip(ms: number, now: number): LayerDecision | undefined {
    if (this.#drained(ms)) {
      // The queue the link kept for seconds is gone: it carries more than it did. The viewer is
      // offered more soon, instead of after the wait its failed probes earned (bench/network S7: the
      // round trip fell from 45–70 ms to 23 ms when the 300 kbit/s link went back to 2 Mbit/s, and the
      // probe came 4 s later).
      this.#probeHoldMs = Math.min(this.#probeHoldMs, LAYER_PROBE_NEXT_MS);
      this.#upHoldMs = LAYER_UP_HOLD_MS;
    }
    this.#roundTrips.add(ms, now);
    return this.#decide(now);
  }

  /**
   * Whether a round trip of `ms` is well under the path's own of the last seconds
   * ({@link RoundTrips}): a queue that every report showed for that long has drained.
   */
  #drained(ms: number): boolean {
    const base = this.#roundTrips.least;
    if (base === undefined) return false;
    return ms < base * LAYER_QUEUE_DRAINED_SHARE && base - ms >= LAYER_QUEUE_DRAINED_MS;
  }

  /**
   * The share of packets lost (RFC 3550 §A.3) since the newest report that is at least
   * {@link LAYER_LOSS_WINDOW_MS} old and at least {@link LAYER_LOSS_MIN_PACKETS} behind, or undefined
   * while the reports since the last move cover too few packets to say.
   */
  #windowLoss(): number | undefined {
    const newest = this.#reports.at(-1);
    if (!newest) return undefined;
    for (let i = this.#reports.length - 2; i >= 0; i--) {
      const [at, lost, highest] = this.#reports[i] as [number, number, number];
      const expected = newest[2] - highest;
      if (newest[0] - at >= LAYER_LOSS_WINDOW_MS && expected >= LAYER_LOSS_MIN_PACKETS)
        return Math.min(1, Math.max(0, newest[1] - lost) / expected);
    }
    return undefined;
  }

  /**
   * The loss over the last {@link LAYER_LOSS_WINDOW_MS}, once a window's worth has passed since the
   * last move (its keyframe is a burst a shallow queue may drop).
   */
  #sustainedLoss(now: number): number {
    if (now - this.#lastSwitchAt < LAYER_LOSS_WINDOW_MS) return 0;
    if (now - this.#probeFailedAt < LAYER_PROBE_FAILED_QUIET_MS) return 0;
    return this.#windowLoss() ?? 0;
  }

  /**
   * Something else says the viewer cannot keep up (it asks for keyframes all the time). It is moved
   * down only when its link looks full (its estimate under what it is sent, or no estimate): on a link
   * that loses packets at random but has room, a smaller picture loses as many and helps nothing.
   */
  struggling(now: number, reason: string): LayerDecision | undefined {
    // The probe's padding is what the link could not take: it ends, the layer stays.
    if (this.#probe) return this.#probeFailed(`probe failed: ${reason}`, now);
    // So are the requests for what it made the link lose, for a while after.
    if (now - this.#probeFailedAt < LAYER_PROBE_FAILED_QUIET_MS) return undefined;
    if (this.#current >= this.#bitrates.length - 1 || !this.#linkFull()) return undefined;
    return this.#move(this.#current + 1, now, reason);
  }

  /**
   * How many FEC packets to send per media packet, given `mediaBps` (what the viewer is sent without
   * FEC, video and audio; its layer's and the audio's when unknown): in proportion to the loss, from
   * {@link FEC_MIN_LOSS}, and no more than the estimate has room for on top of the media. Random loss
   * on a link with room is what FEC repairs without a round trip; on a full link (or while the round
   * trip shows a queue) more packets are more loss. Before the first estimate, at most
   * {@link FEC_BEFORE_ESTIMATE_MAX_SHARE}, once a round trip has been measured, for the first
   * {@link FEC_BEFORE_ESTIMATE_WITHIN_MS}.
   */
  fecShare(mediaBps: number | undefined, now: number): number {
    const loss = this.#windowLoss() ?? 0;
    if (loss < FEC_MIN_LOSS) return 0;
    // Loss with a queue building (or too much to repair) is a link that got narrower, while the
    // estimate still says what it carried before (S7: 50 % more packets into a 300 kbit/s link).
    if (loss >= LAYER_DOWN_LOSS || this.#roundTrips.queueing()) return 0;
    // The media is counted apart from the FEC: worked out of what is sent (a 3 s average) and the
    // share just set, it was read too high as the share fell, and the share fell on to none in three
    // steps (S3: 0.3 → 0.2 → 0.1 → 0 in 0.2 s after the first estimate; the picture froze twice).
    const media = mediaBps || (this.#bitrates[this.#current] as number) + LAYER_AUDIO_RESERVE_BPS;
    // No headroom on top: a receiver's estimate rises only to 1.5 times what arrives (GCC), and with a
    // layer's 20 % the share stayed at a tenth for seconds (the estimate follows what FEC adds).
    // Without one yet, the round trip is what says the link has room: none measured, no FEC.
    const room =
      this.#estimate !== undefined
        ? this.#estimate / media - 1
        : this.#roundTrips.latest && now - this.#startedAt < FEC_BEFORE_ESTIMATE_WITHIN_MS
          ? FEC_BEFORE_ESTIMATE_MAX_SHARE
          : 0;
    const share = Math.min(FEC_MAX_SHARE, loss * FEC_PER_LOSS, room);
    // In steps of 5 %, so that a share is kept while the loss wobbles.
    return Math.max(0, Math.floor(share * 20) / 20);
  }

  /** What the viewer is sent now, video and audio, bit/s: as measured, else its layer's and the audio's. */
  get #sendingNow(): number {
    return this.#sending || (this.#bitrates[this.#current] as number) + LAYER_AUDIO_RESERVE_BPS;
  }

  /**
   * Whether the link may be what limits the viewer: no estimate, or one under what it is sent now.
   * Only then do loss and keyframe requests say "too much".
   */
  #linkFull(): boolean {
    return this.#estimate === undefined || this.#estimate < this.#sendingNow;
  }

  #decide(now: number): LayerDecision | undefined {
    if (this.#probe) return this.#readProbe(this.#probe, now);
    // A try that has held for a while succeeded: the next one need not wait longer.
    if (this.#lastSwitchUp && now - this.#lastSwitchAt >= LAYER_PROBE_FAILED_WITHIN_MS) {
      this.#upHoldMs = LAYER_UP_HOLD_MS;
      this.#lastSwitchUp = false;
    }
    const current = this.#bitrates[this.#current] as number;
    const estimate = this.#estimate;
    if (estimate !== undefined && this.#congested(estimate, current, now)) {
      const available = estimate - LAYER_AUDIO_RESERVE_BPS;
      const fits = this.#bitrates.findIndex((bitrate) => bitrate * LAYER_HEADROOM <= available);
      const layer = fits < 0 ? this.#bitrates.length - 1 : Math.max(fits, this.#current + 1);
      if (layer !== this.#current && layer < this.#bitrates.length) {
        return this.#move(layer, now, `estimate fell to ${Math.round(available / 1000)} kbit/s for video`);
      }
    }
    // Loss says the link is full only where the estimate does not say it has room: a link that loses
    // packets at random (Wi-Fi, S3 of bench/network) loses as many of a smaller picture.
    const loss = this.#sustainedLoss(now);
    if (loss >= LAYER_DOWN_LOSS && this.#linkFull() && this.#current < this.#bitrates.length - 1) {
      return this.#move(this.#current + 1, now, `loss ${Math.round(loss * 100)} %`);
    }
    if (this.#current === 0) return undefined;
    const next = this.#bitrates[this.#current - 1] as number;
    // The link is not what limits the viewer: its estimate is at or above what it is sent now and
    // the loss is under what would move it down (with no estimate: no loss to speak of). Then the
    // next layer up is tried.
    // With probes, the estimate need not show room (it cannot rise past what arrives): the probe asks
    // the link itself, so only a queue now keeps it from being asked.
    const lossLimit = estimate === undefined ? LAYER_UP_LOSS : LAYER_DOWN_LOSS;
    const lossOk = (this.#windowLoss() ?? 0) < lossLimit;
    const roomy = estimate === undefined || estimate >= this.#sendingNow * LAYER_UP_HEADROOM;
    const good = lossOk && (this.#canProbe ? !this.#roundTrips.queueing() : roomy);
    if (!good) {
      this.#goodSince = undefined;
      return undefined;
    }
    this.#goodSince ??= now;
    const hold = this.#canProbe ? this.#probeHoldMs : this.#upHoldMs;
    if (now - this.#goodSince < hold || now - this.#lastSwitchAt < hold) return undefined;
    if (this.#canProbe) return this.#startProbe(this.#current - 1, now);
    return this.#move(this.#current - 1, now, `trying ${Math.round(next / 1000)} kbit/s`);
  }

  /** Padding up to what the layer above would send, with its headroom. */
  #startProbe(layer: number, now: number): LayerDecision {
    const current = this.#bitrates[this.#current] as number;
    const target = (this.#bitrates[layer] as number) * LAYER_HEADROOM;
    const newest = this.#reports.at(-1);
    this.#probe = {
      layer,
      startedAt: now,
      endsAt: now + LAYER_PROBE_MS,
      peak: this.#estimate ?? 0,
      reportAtStart: newest && [newest[1], newest[2]],
      lossBefore: this.#windowLoss() ?? 0,
      nacked: 0,
      nackRateBefore: this.#nacks.reduce((sum, [, packets]) => sum + packets, 0) / LAYER_LOSS_MAX_WINDOW_MS,
    };
    const probeBps = Math.max(target - current, target + LAYER_AUDIO_RESERVE_BPS - this.#sendingNow);
    return { layer: this.#current, reason: `probing for ${Math.round(target / 1000)} kbit/s`, probeBps };
  }

  /** Ends the probe that is on: padding stops, and the next one waits longer. */
  #probeFailed(reason: string, now: number): LayerDecision {
    this.#probe = undefined;
    this.#probeFailedAt = now;
    // What the padding made the link lose is not the layer's loss (bench/network S4: right after a
    // probe for 1.2 Mbit/s failed on the 600 kbit/s link, "loss 12 %" moved the viewer down a layer):
    // the loss is counted afresh from here, as after a move.
    this.#reports.length = 0;
    this.#goodSince = undefined;
    this.#probeHoldMs = Math.min(
      Math.max(this.#probeHoldMs * 2, LAYER_PROBE_HOLD_MS),
      LAYER_PROBE_HOLD_MAX_MS,
    );
    // The estimate fell because of the probe: it says nothing of the layer the viewer is on, so it
    // is read afresh from here.
    this.#estimates.length = 0;
    return { layer: this.#current, reason, probeBps: 0 };
  }

  /**
   * A probe fails as soon as the estimate falls (the receiver saw the queue grow: GCC lowers its
   * estimate only on overuse), the round trip grows (a queue), or the loss is high; it holds when none
   * of these happened by {@link LAYER_PROBE_SETTLE_MS} after its end, and the viewer is moved up.
   */
  #readProbe(probe: Probe, now: number): LayerDecision | undefined {
    const estimate = this.#estimate ?? 0;
    probe.peak = Math.max(probe.peak, estimate);
    const loss = this.#windowLoss() ?? 0;
    if (
      estimate < probe.peak * LAYER_PROBE_FALL ||
      loss >= LAYER_DOWN_LOSS ||
      this.#lostDuring(probe) ||
      this.#roundTrips.queueing(probe.startedAt)
    )
      return this.#probeFailed("probe failed", now);
    if (now < probe.endsAt + LAYER_PROBE_SETTLE_MS) return undefined;
    this.#probe = undefined;
    // The next layer up is probed soon: this probe said the link had room.
    this.#probeHoldMs = LAYER_PROBE_NEXT_MS;
    const bitrate = this.#bitrates[probe.layer] as number;
    return this.#move(probe.layer, now, `probe for ${Math.round(bitrate / 1000)} kbit/s held`);
  }

  /** Whether more packets were lost since the probe began than the loss before it explains. */
  #lostDuring(probe: Probe): boolean {
    const newest = this.#reports.at(-1);
    if (!newest || !probe.reportAtStart) return false;
    const [lostAtStart, highestAtStart] = probe.reportAtStart;
    const expected = Math.max(0, newest[2] - highestAtStart);
    const lost = newest[1] - lostAtStart;
    return lost > LAYER_PROBE_LOST_PACKETS + 2 * probe.lossBefore * expected;
  }

  /**
   * Whether the estimate says the link is congested. A receiver's estimate rises slowly while the link
   * has room and is cut at once on congestion (GCC's overuse: to 85 % of what arrives), so it is its
   * fall that says "too much", not its level — after a move up it stays under the new layer's
   * bitrate for seconds on a link that carries it. Or it is far under the current layer (but not
   * while a move up is being tried: the estimate needs seconds to follow) — and, for a viewer that is
   * probed, while the round trip shows a queue: after a probe that held, the estimate climbs from where
   * the weak link left it for tens of seconds (S7: 179 kbit/s six seconds after a move to the 1 Mbit/s
   * layer on a 2 Mbit/s link), which alone moved the viewer back to the floor.
   */
  #congested(estimate: number, current: number, now: number): boolean {
    // A move's keyframe is a burst the receiver may read as congestion: its estimate right after one
    // says nothing about the link.
    if (now - this.#lastSwitchAt < LAYER_MOVE_SETTLE_MS) return false;
    // Nor does it while a failed probe's queue drains: GCC goes on cutting it as long as the delay
    // grows (bench/network S4: "estimate fell to 48 kbit/s for video" 0.6 s after a probe for
    // 1.2 Mbit/s failed, and the viewer went to the floor for 5 s from the layer the link carried).
    if (now - this.#probeFailedAt < LAYER_PROBE_FAILED_QUIET_MS) return false;
    const peak = this.#estimatePeak ?? estimate;
    if (estimate < peak * LAYER_ESTIMATE_FALL) return true;
    const trying = this.#lastSwitchUp && now - this.#lastSwitchAt < LAYER_PROBE_FAILED_WITHIN_MS;
    const farUnder = estimate < (current + LAYER_AUDIO_RESERVE_BPS) * LAYER_ESTIMATE_FAR_UNDER;
    return !trying && farUnder && (!this.#canProbe || this.#roundTrips.queueing());
  }

  #move(layer: number, now: number, reason: string): LayerDecision {
    this.moved(layer, now);
    return { layer, reason };
  }
}
