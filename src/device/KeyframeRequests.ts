/**
 * One viewer's keyframe requests (PLI/FIR, RFC 4585 §6.3.1, RFC 5104 §4.3.1): served by its own layer
 * at most once per {@link VIEWER_KEYFRAME_MIN_INTERVAL_MS}, since every viewer of the layer pays for each
 * keyframe; and counted, so that a viewer asking too often can be moved down a layer instead
 * (docs/MEDIA.md §10 "Keyframe requests").
 */
import {
  VIEWER_KEYFRAME_MIN_INTERVAL_MS,
  VIEWER_KEYFRAME_REQUESTS_MAX,
  VIEWER_KEYFRAME_WINDOW_MS,
} from "./constants.ts";

export class KeyframeRequests {
  readonly #serve: () => void;
  /** When the requests of the last {@link VIEWER_KEYFRAME_WINDOW_MS} came. */
  readonly #times: number[] = [];
  #lastServed = Number.NEGATIVE_INFINITY;
  #deferred: NodeJS.Timeout | undefined;
  #closed = false;

  /** `serve` asks the viewer's layer for a keyframe. */
  constructor(serve: () => void) {
    this.#serve = serve;
  }

  /**
   * Counts a request at `now`; true when it is one too many for the window (the count starts again):
   * the caller may move the viewer down rather than {@link serve} it.
   */
  tooOften(now: number): boolean {
    while (this.#times.length && (this.#times[0] as number) < now - VIEWER_KEYFRAME_WINDOW_MS)
      this.#times.shift();
    this.#times.push(now);
    if (this.#times.length <= VIEWER_KEYFRAME_REQUESTS_MAX) return false;
    this.#times.length = 0;
    return true;
  }

  /**
   * Serves a request now, or when the interval since the last one served is over. Put off, never
   * dropped: a browser does not ask again for a keyframe that was lost in a full queue, but waits 3 s
   * for a decodable frame first (bench/network S7: the floor's keyframe was lost in the 300 kbit/s
   * link's queue, the requests after it fell within the second, and the picture stood still for 3.2 s).
   */
  serve(now: number): void {
    if (this.#closed) return;
    const wait = this.#lastServed + VIEWER_KEYFRAME_MIN_INTERVAL_MS - now;
    if (wait <= 0) this.#serveNow(now);
    else this.#deferred ??= setTimeout(() => this.#serveNow(performance.now()), wait);
  }

  /** The viewer was moved: the new layer's keyframe is on its way, so a request put off is dropped. */
  moved(): void {
    this.#dropDeferred();
  }

  close(): void {
    this.#closed = true;
    this.#dropDeferred();
  }

  #serveNow(now: number): void {
    this.#dropDeferred();
    this.#lastServed = now;
    this.#serve();
  }

  #dropDeferred(): void {
    clearTimeout(this.#deferred);
    this.#deferred = undefined;
  }
}
