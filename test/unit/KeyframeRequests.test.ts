/** One viewer's keyframe requests: served at most once a second, put off rather than dropped, counted. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  VIEWER_KEYFRAME_MIN_INTERVAL_MS,
  VIEWER_KEYFRAME_REQUESTS_MAX,
  VIEWER_KEYFRAME_WINDOW_MS,
} from "../../src/device/constants.ts";
import { KeyframeRequests } from "../../src/device/KeyframeRequests.ts";

describe("KeyframeRequests", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Requests served, and when (fake ms). */
  const served: number[] = [];
  const requests = () => {
    served.length = 0;
    return new KeyframeRequests(() => served.push(performance.now()));
  };

  it("regression: a request within the second after one served was dropped, and the browser asked again only after 3 s (S7's 3.2 s gap)", () => {
    const keyframes = requests();
    const start = performance.now();
    keyframes.serve(start);
    expect(served).toHaveLength(1);
    // The keyframe is lost in a full queue; the browser asks again 200 and 400 ms later.
    vi.advanceTimersByTime(200);
    keyframes.serve(performance.now());
    vi.advanceTimersByTime(200);
    keyframes.serve(performance.now());
    expect(served).toHaveLength(1);
    // One more keyframe, when the second is over — not one per request.
    vi.advanceTimersByTime(VIEWER_KEYFRAME_MIN_INTERVAL_MS);
    expect(served).toHaveLength(2);
    expect((served[1] as number) - start).toBe(VIEWER_KEYFRAME_MIN_INTERVAL_MS);
    keyframes.close();
  });

  it("a move drops a request put off (the new layer's keyframe is on its way); close drops it too", () => {
    const keyframes = requests();
    keyframes.serve(performance.now());
    vi.advanceTimersByTime(100);
    keyframes.serve(performance.now());
    keyframes.moved();
    vi.advanceTimersByTime(5 * VIEWER_KEYFRAME_MIN_INTERVAL_MS);
    expect(served).toHaveLength(1);
    keyframes.serve(performance.now());
    expect(served).toHaveLength(2);
    vi.advanceTimersByTime(100);
    keyframes.serve(performance.now());
    keyframes.close();
    vi.advanceTimersByTime(5 * VIEWER_KEYFRAME_MIN_INTERVAL_MS);
    keyframes.serve(performance.now());
    expect(served).toHaveLength(2);
  });

  it(`more than ${VIEWER_KEYFRAME_REQUESTS_MAX} requests in ${VIEWER_KEYFRAME_WINDOW_MS} ms are too often; then the count starts again`, () => {
    const keyframes = requests();
    const answers = [];
    for (let i = 0; i <= VIEWER_KEYFRAME_REQUESTS_MAX; i++) answers.push(keyframes.tooOften(i * 900));
    expect(answers).toEqual([...Array(VIEWER_KEYFRAME_REQUESTS_MAX).fill(false), true]);
    expect(keyframes.tooOften(VIEWER_KEYFRAME_REQUESTS_MAX * 900 + 10)).toBe(false);
    // Spread out, they never are.
    const spread = requests();
    for (let i = 0; i < 20; i++)
      expect(spread.tooOften(i * (VIEWER_KEYFRAME_WINDOW_MS / VIEWER_KEYFRAME_REQUESTS_MAX + 1))).toBe(false);
    keyframes.close();
    spread.close();
  });
});
