/** Which layer a viewer is put on, from its browser's estimate (REMB) and its reported loss. */
import { describe, expect, it } from "vitest";
import {
  LAYER_PROBE_FAILED_WITHIN_MS,
  LAYER_UP_HOLD_MAX_MS,
  LAYER_UP_HOLD_MS,
} from "../../src/device/constants.ts";
import { LayerPolicy } from "../../src/device/LayerPolicy.ts";

const LADDER = [1_000_000, 250_000, 150_000];

describe("LayerPolicy", () => {
  it("down fast: an estimate that falls moves the viewer straight to the layer that fits it", () => {
    const policy = new LayerPolicy(LADDER, 0, 0);
    expect(policy.onEstimate(2_000_000, 1000)).toBeUndefined();
    // 600 kbit/s link: ~520 kbit/s estimated, ~430 for video → the half layer (250 × 1.2 fits).
    expect(policy.onEstimate(520_000, 2000)).toEqual({
      layer: 1,
      reason: "estimate fell to 430 kbit/s for video",
    });
    // 250 kbit/s: the floor.
    expect(policy.onEstimate(250_000, 3000)?.layer).toBe(2);
  });

  it("audio is kept aside: an estimate that only covers the video layer is not enough", () => {
    const policy = new LayerPolicy(LADDER, 0, 0);
    expect(policy.onEstimate(2_000_000, 500)).toBeUndefined();
    // 900 kbit/s would carry the 1 Mbit/s layer with its 20 % margin if audio took nothing.
    expect(policy.onEstimate(900_000, 1000)?.layer).toBe(1);
  });

  it("an estimate that rises slowly under a layer the link carries is no reason to move down; a fall is", () => {
    const policy = new LayerPolicy(LADDER, 0, 0);
    for (let t = 0; t < 10_000; t += 500)
      expect(policy.onEstimate(700_000 + t * 10, t, 1_200_000)).toBeUndefined();
    expect(policy.onEstimate(600_000, 10_500, 1_200_000)?.layer).toBe(1);
  });

  it("up slowly: only after the estimate showed headroom and the loss stayed low for a while", () => {
    const policy = new LayerPolicy(LADDER, 1, 0);
    expect(policy.onEstimate(450_000, 1000)).toBeUndefined(); // headroom seen: the clock starts
    expect(policy.onLoss(0, 1000 + LAYER_UP_HOLD_MS - 1)).toBeUndefined();
    expect(policy.onLoss(0.05, 1000 + LAYER_UP_HOLD_MS)).toBeUndefined(); // loss: start again
    expect(policy.onLoss(0, 2000 + LAYER_UP_HOLD_MS)).toBeUndefined();
    expect(policy.onLoss(0, 2000 + 2 * LAYER_UP_HOLD_MS)).toEqual({ layer: 0, reason: "trying 1000 kbit/s" });
  });

  it("a try up that fails doubles the wait before the next one, up to the cap; one that holds resets it", () => {
    const policy = new LayerPolicy(LADDER, 1, 0);
    let now = 0;
    const tryUp = () => {
      for (let step = 0; step < 200; step++) {
        now += 500;
        const decision = policy.onEstimate(500_000, now);
        if (decision) return decision;
      }
      throw new Error("never tried up");
    };
    const waits: number[] = [];
    let last = now;
    for (let i = 0; i < 5; i++) {
      expect(tryUp().layer).toBe(0);
      waits.push(now - last);
      // The try does not hold: the estimate falls (below where it was at the try) within the window.
      now += 1000;
      expect(policy.onEstimate(400_000, now)?.layer).toBe(1);
      last = now;
    }
    expect(waits[1]).toBeGreaterThanOrEqual(2 * LAYER_UP_HOLD_MS);
    expect(waits[2]).toBeGreaterThanOrEqual(4 * LAYER_UP_HOLD_MS);
    expect(waits[4]).toBeLessThanOrEqual(LAYER_UP_HOLD_MAX_MS + 500);
    // A try that holds past the window: the next wait is short again.
    tryUp();
    now += LAYER_PROBE_FAILED_WITHIN_MS;
    policy.onEstimate(1_500_000, now);
    expect(policy.struggling(now, "test")?.layer).toBe(1);
  });

  it("no estimate at all (a peer without REMB): loss alone moves it down, two bad reports in a row", () => {
    const policy = new LayerPolicy(LADDER, 0, 0);
    expect(policy.onLoss(0.2, 1000)).toBeUndefined();
    expect(policy.onLoss(0.2, 2000)).toEqual({ layer: 1, reason: "loss 20 %" });
    expect(policy.onLoss(0.01, 3000)).toBeUndefined();
  });
});
