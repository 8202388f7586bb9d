/**
 * One viewer's recent round trips, ms (from its receiver reports, RFC 3550 §6.4.1, or ICE): the latest,
 * and the path's own — the least of the last {@link PATH_RTT_WINDOW_MS}, the round trip without a queue.
 */
import { LAYER_PROBE_RTT_RISE_MS, LAYER_PROBE_RTT_RISE_SHARE, PATH_RTT_WINDOW_MS } from "./constants.ts";

export class RoundTrips {
  /** [time, ms], oldest first. */
  readonly #samples: Array<[number, number]> = [];

  /** A round trip of `ms` measured at `now`; those older than the window are forgotten. */
  add(ms: number, now: number): void {
    this.#samples.push([now, ms]);
    while ((this.#samples[0]?.[0] ?? now) < now - PATH_RTT_WINDOW_MS) this.#samples.shift();
  }

  /** The newest one: [when it was measured, ms]. */
  get latest(): readonly [number, number] | undefined {
    return this.#samples.at(-1);
  }

  /** The path's own round trip: the least of the window. */
  get least(): number | undefined {
    let least: number | undefined;
    for (const [, ms] of this.#samples) least = Math.min(least ?? ms, ms);
    return least;
  }

  /**
   * Whether the latest round trip (if measured since `since`) shows a queue: above the path's own by
   * {@link LAYER_PROBE_RTT_RISE_MS} or {@link LAYER_PROBE_RTT_RISE_SHARE} of it, whichever is more.
   */
  queueing(since = Number.NEGATIVE_INFINITY): boolean {
    const [at, latest] = this.latest ?? [];
    if (latest === undefined || (at as number) < since) return false;
    const base = this.least ?? latest;
    return latest > base + Math.max(LAYER_PROBE_RTT_RISE_MS, base * LAYER_PROBE_RTT_RISE_SHARE);
  }
}
