/** Which layer a viewer is put on, from its browser's estimate (REMB) and its reported loss. */
import { describe, expect, it } from "vitest";
import {
  LAYER_MOVE_SETTLE_MS,
  LAYER_PROBE_FAILED_WITHIN_MS,
  LAYER_UP_HOLD_MAX_MS,
  LAYER_UP_HOLD_MS,
} from "../../src/device/constants.ts";
import { LayerPolicy } from "../../src/device/LayerPolicy.ts";

const LADDER = [1_000_000, 250_000, 150_000];

describe("LayerPolicy", () => {
  /** A viewer on `layer` since long ago (past any settling after a move). */
  const onLayer = (layer: number) => new LayerPolicy(LADDER, layer, -60_000);

  it("down fast: an estimate that falls moves the viewer straight to the layer that fits it", () => {
    const policy = onLayer(0);
    expect(policy.onEstimate(2_000_000, 1000)).toBeUndefined();
    // 600 kbit/s link: ~520 kbit/s estimated, ~430 for video → the half layer (250 × 1.2 fits).
    expect(policy.onEstimate(520_000, 2000)).toEqual({
      layer: 1,
      reason: "estimate fell to 430 kbit/s for video",
    });
    // Right after a move the estimate is not read (the move's keyframe is a burst)…
    expect(policy.onEstimate(200_000, 3000)).toBeUndefined();
    // …then a further fall: the floor.
    expect(policy.onEstimate(400_000, 4500)).toBeUndefined();
    expect(policy.onEstimate(250_000, 5000)?.layer).toBe(2);
  });

  it("audio is kept aside: an estimate that only covers the video layer is not enough", () => {
    const policy = onLayer(0);
    expect(policy.onEstimate(2_000_000, 500)).toBeUndefined();
    // 900 kbit/s would carry the 1 Mbit/s layer with its 20 % margin if audio took nothing.
    expect(policy.onEstimate(900_000, 1000)?.layer).toBe(1);
  });

  it("an estimate that rises slowly under a layer the link carries is no reason to move down; a fall is", () => {
    const policy = onLayer(0);
    for (let t = 0; t < 10_000; t += 500)
      expect(policy.onEstimate(700_000 + t * 10, t, 1_200_000)).toBeUndefined();
    expect(policy.onEstimate(600_000, 10_500, 1_200_000)?.layer).toBe(1);
  });

  it("up slowly: only after the link showed room and the loss stayed low for a while", () => {
    const policy = onLayer(1);
    expect(policy.onEstimate(450_000, 1000, 340_000)).toBeUndefined(); // room: the clock starts
    expect(policy.onLoss(0, 1000 + LAYER_UP_HOLD_MS - 1)).toBeUndefined();
    expect(policy.onLoss(0.05, 1000 + LAYER_UP_HOLD_MS)).toBeUndefined(); // loss: start again
    expect(policy.onLoss(0, 2000 + LAYER_UP_HOLD_MS)).toBeUndefined();
    expect(policy.onLoss(0, 2000 + 2 * LAYER_UP_HOLD_MS)).toEqual({ layer: 0, reason: "trying 1000 kbit/s" });
  });

  it("a try up that fails doubles the wait before the next one, up to the cap; one that holds resets it", () => {
    const policy = onLayer(1);
    let now = 0;
    const tryUp = () => {
      for (let step = 0; step < 200; step++) {
        now += 500;
        const decision = policy.onEstimate(500_000, now, 340_000);
        if (decision) return decision;
      }
      throw new Error("never tried up");
    };
    const waits: number[] = [];
    let last = now;
    for (let i = 0; i < 5; i++) {
      expect(tryUp().layer).toBe(0);
      waits.push(now - last);
      // The try does not hold: after the move has settled, the estimate falls within the window.
      now += LAYER_MOVE_SETTLE_MS + 100;
      expect(policy.onEstimate(520_000, now, 1_200_000)).toBeUndefined();
      now += 500;
      expect(policy.onEstimate(400_000, now, 1_200_000)?.layer).toBe(1);
      last = now;
    }
    expect(waits[1]).toBeGreaterThanOrEqual(2 * LAYER_UP_HOLD_MS);
    expect(waits[2]).toBeGreaterThanOrEqual(4 * LAYER_UP_HOLD_MS);
    expect(waits[4]).toBeLessThanOrEqual(LAYER_UP_HOLD_MAX_MS + 500);
    // A try that holds past the window: the next wait is the first one again.
    tryUp();
    now += LAYER_PROBE_FAILED_WITHIN_MS;
    expect(policy.onEstimate(1_500_000, now, 1_200_000)).toBeUndefined();
    expect(policy.struggling(now, "test")?.layer).toBe(1);
    last = now;
    expect(tryUp().layer).toBe(0);
    expect(now - last).toBeLessThanOrEqual(LAYER_UP_HOLD_MS + 500);
  });

  it("no estimate at all (a peer without REMB): loss alone moves it down, once it lasted a second", () => {
    const policy = onLayer(0);
    expect(policy.onLoss(0.2, 1000)).toBeUndefined();
    expect(policy.onLoss(0.2, 1300)).toBeUndefined(); // a burst of reports: not yet a second of loss
    expect(policy.onLoss(0.2, 2000)).toEqual({ layer: 1, reason: "loss 20 %" });
    expect(policy.onLoss(0.01, 3000)).toBeUndefined();
  });
});
