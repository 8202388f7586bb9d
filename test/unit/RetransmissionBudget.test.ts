/** A viewer's NACKs are answered once per round trip, only while useful, and within a budget. */
import { describe, expect, it } from "vitest";
import { NACK_MAX_AGE_MS, NACK_MIN_BUDGET_BPS } from "../../src/device/constants.ts";
import { RetransmissionBudget } from "../../src/device/RetransmissionBudget.ts";

describe("RetransmissionBudget", () => {
  it("re-sends a packet once per round trip", () => {
    const budget = new RetransmissionBudget();
    budget.rttMs = 100;
    budget.sent(10, 0);
    expect(budget.allow(10, 1200, 50)).toBe(true);
    expect(budget.allow(10, 1200, 120)).toBe(false); // a duplicate NACK within the round trip
    expect(budget.allow(10, 1200, 160)).toBe(true);
    expect(budget.counts).toMatchObject({ allowed: 2, duplicate: 1 });
  });

  it("does not re-send what is too old to use, nor what was never sent (and says so, for a keyframe)", () => {
    const budget = new RetransmissionBudget();
    budget.rttMs = 20;
    budget.sent(10, 0);
    expect(budget.allow(10, 1200, NACK_MAX_AGE_MS + 1)).toBe(false);
    expect(budget.allow(11, 1200, 10)).toBe(false);
    expect(budget.takeRefusedAsOld()).toBe(2);
    expect(budget.takeRefusedAsOld()).toBe(0);
  });

  it("re-sends within a share of the estimate: a burst of NACKs on a slow link is cut off", () => {
    const budget = new RetransmissionBudget();
    budget.estimateBps = 400_000; // → 100 kbit/s for repairs
    for (let seq = 0; seq < 200; seq++) budget.sent(seq, 1000);
    let allowed = 0;
    for (let seq = 0; seq < 200; seq++) if (budget.allow(seq, 1200, 1000 + seq)) allowed++;
    // 200 ms at 100 kbit/s plus a 250 ms burst: about 4.7 kB, four packets of 1200 bytes.
    const expected = ((NACK_MIN_BUDGET_BPS / 8) * 0.45) / 1200;
    expect(allowed).toBeGreaterThanOrEqual(Math.floor(expected) - 1);
    expect(allowed).toBeLessThanOrEqual(Math.ceil(expected) + 1);
    expect(budget.counts.overBudget).toBe(200 - allowed);
  });

  it("hostile NACKs (numbers a peer makes up: negative, past 16 bits, not numbers, 10,000 at once) re-send nothing and cost nothing", () => {
    const budget = new RetransmissionBudget();
    for (let seq = 0; seq < 100; seq++) budget.sent(seq, 0);
    for (const seq of [-1, 65_536, 70_000, Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      expect(budget.allow(seq, 1200, 10)).toBe(false);
    }
    // A flood of requests for one real packet: it is re-sent once per round trip, not 10,000 times.
    let resent = 0;
    for (let i = 0; i < 10_000; i++) if (budget.allow(5, 1200, 20)) resent++;
    expect(resent).toBe(1);
  });
});
