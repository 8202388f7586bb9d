/**
 * When to try the signalling server again after losing it. Pluggable, as livekit's client does: a
 * policy returns the next delay, or null to give up.
 */

export interface ReconnectContext {
  /** Attempts made since the connection was lost (0 before the first retry). */
  retryCount: number;
  /** Milliseconds since the connection was lost. */
  elapsedMs: number;
}

export interface ReconnectPolicy {
  nextRetryDelayInMs(context: ReconnectContext): number | null;
}

/**
 * Retries forever: quickly at first, then every 7 s, each delay plus up to 1 s of random jitter so a
 * fleet of devices does not reconnect in lockstep after a server restart. A device has no user to
 * press "retry", so it never gives up.
 */
export class DefaultReconnectPolicy implements ReconnectPolicy {
  /** The delay before each retry; the last repeats forever (livekit's default policy's shape). */
  static readonly DELAYS_MS = [0, 300, 1200, 2700, 4800, 7000] as const;
  /** At most this much is added at random to each delay but the first, ms. */
  static readonly MAX_JITTER_MS = 1000;
  readonly #random: () => number;

  /** `random`: a source of numbers in [0, 1) for the jitter (tests pass a fixed one). */
  constructor(options: { random?: () => number } = {}) {
    this.#random = options.random ?? Math.random;
  }

  nextRetryDelayInMs({ retryCount }: ReconnectContext): number {
    const delays = DefaultReconnectPolicy.DELAYS_MS;
    const base = delays[Math.min(retryCount, delays.length - 1)] as number;
    // The very first retry is immediate (a blip); later ones are spread out.
    return retryCount === 0 ? base : base + Math.round(this.#random() * DefaultReconnectPolicy.MAX_JITTER_MS);
  }
}
