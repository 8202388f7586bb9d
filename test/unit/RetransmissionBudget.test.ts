/** A viewer's NACKs are answered once per round trip, only while useful, and within a budget. */
import { describe, expect, it } from "vitest";
import {
  NACK_BUDGET_BURST_MS,
  NACK_DEFAULT_RTT_MS,
  NACK_MAX_AGE_MS,
  NACK_MAX_AGE_RTTS,
  NACK_MIN_AGE_WINDOW_MS,
  NACK_MIN_BUDGET_BPS,
} from "../../src/device/constants.ts";
import { RetransmissionBudget } from "../../src/device/RetransmissionBudget.ts";

describe("RetransmissionBudget", () => {
  it("re-sends a packet once per round trip", () => {
    const budget = new RetransmissionBudget();
    budget.setRoundTrip(100, 0);
    budget.sent(10, 0);
    expect(budget.allow(10, 1200, 50)).toBe(true);
    expect(budget.allow(10, 1200, 110)).toBe(false); // a duplicate NACK within the round trip
    expect(budget.allow(10, 1200, 160)).toBe(true);
    expect(budget.counts).toMatchObject({ allowed: 2, duplicate: 1 });
  });

  // Regression (bench/network S3, 100 ms RTT): a browser that receives only asks again every 100 ms
  // (it cannot measure the round trip); its second request for a lost re-send, 95 ms after it, was
  // refused as a duplicate and the frame waited a round trip more.
  it("a request again a little under one measured round trip later is answered", () => {
    const budget = new RetransmissionBudget();
    budget.setRoundTrip(105, 0);
    budget.sent(10, 0);
    expect(budget.allow(10, 1200, 20)).toBe(true);
    expect(budget.allow(10, 1200, 115)).toBe(true);
  });

  it("does not re-send what is too old to use, nor what was never sent (and says so, for a keyframe)", () => {
    const budget = new RetransmissionBudget();
    budget.setRoundTrip(20, 0);
    budget.sent(10, 0);
    expect(budget.allow(10, 1200, NACK_MAX_AGE_MS + 1)).toBe(false);
    expect(budget.allow(11, 1200, 10)).toBe(false);
    expect(budget.takeRefusedAsOld()).toBe(2);
    expect(budget.takeRefusedAsOld()).toBe(0);
  });

  // Regression (bench/network S7, 2 Mbit/s → 300 kbit/s): the round trip rose from 23 to 220 ms with
  // the queue, so packets up to 880 ms old were re-sent into it; the viewer reached the floor 0.6 s later.
  it("a packet's age is counted in the path's own round trip, not one a queue made longer", () => {
    const budget = new RetransmissionBudget();
    budget.setRoundTrip(23, 0);
    budget.setRoundTrip(220, 5000);
    budget.sent(10, 5000);
    expect(budget.allow(10, 1200, 5000 + 400)).toBe(false);
    expect(budget.takeRefusedAsOld()).toBe(1);
    // A queue of the device's own (a probe's padding) drains on the same layer: the latest round trip counts.
    budget.ownQueueUntil = 6000;
    budget.sent(12, 5000);
    expect(budget.allow(12, 1200, 5000 + 400)).toBe(true);
    budget.sent(13, 5700);
    expect(budget.allow(13, 1200, 5700 + 400)).toBe(false);
    // Once the short round trip is long gone, the longer one is the path's.
    budget.setRoundTrip(220, 16_000);
    budget.sent(11, 16_000);
    expect(budget.allow(11, 1200, 16_000 + 400)).toBe(true);
  });

  // Regression (bench/network S3, 100 ms round trip, 5 % loss each way): a packet whose re-send or
  // NACK was lost as well is asked for a third time 300–450 ms on; refused as older than four round
  // trips, each cost the viewer a keyframe (five to seven in 20 s).
  it("a packet asked for a third time on a lossy path is still re-sent (six round trips)", () => {
    const budget = new RetransmissionBudget();
    budget.setRoundTrip(85, 0);
    budget.setRoundTrip(110, 1000);
    budget.sent(10, 1000);
    expect(budget.allow(10, 1200, 1000 + 450)).toBe(true);
    budget.sent(11, 1000);
    expect(budget.allow(11, 1200, 1000 + NACK_MAX_AGE_RTTS * 85 + 1)).toBe(false);
  });

  // Regression (bench/network S3, 100 ms round trip, 5 % loss each way): one repair in ten took a second
  // round trip (its re-send or its NACK lost too), 210–330 ms after the loss, and each froze the picture.
  it("a re-send goes out twice while the path shows no queue, and once while one shows", () => {
    const budget = new RetransmissionBudget();
    budget.setRoundTrip(100, 0);
    budget.sent(10, 0);
    expect(budget.allow(10, 1200, 20)).toBe(true);
    expect(budget.secondCopy(1200, 20)).toBe(true);
    // A queue of the path's (the round trip well over its own) or of the device's own (a probe): once.
    budget.setRoundTrip(300, 100);
    expect(budget.secondCopy(1200, 100)).toBe(false);
    budget.setRoundTrip(100, 200);
    budget.ownQueueUntil = 1000;
    expect(budget.secondCopy(1200, 300)).toBe(false);
    expect(budget.secondCopy(1200, 1000)).toBe(true);
    expect(budget.counts.copies).toBe(2);
  });

  it("second copies spend the repair budget: on a slow link they stop before the re-sends do", () => {
    const budget = new RetransmissionBudget();
    budget.setRoundTrip(100, 0);
    budget.estimateBps = 400_000; // → 100 kbit/s for repairs
    for (let seq = 0; seq < 100; seq++) budget.sent(seq, 1000);
    let allowed = 0;
    let copies = 0;
    for (let seq = 0; seq < 100; seq++) {
      if (!budget.allow(seq, 1200, 1000)) continue;
      allowed++;
      if (budget.secondCopy(1200, 1000)) copies++;
    }
    // A second's budget (12,500 bytes) holds ten packets; copies only from its upper half.
    expect(allowed + copies).toBe(Math.floor(NACK_MIN_BUDGET_BPS / 8 / 1200));
    expect(copies).toBeGreaterThan(0);
    expect(copies).toBeLessThanOrEqual(Math.floor(NACK_MIN_BUDGET_BPS / 8 / 2 / 1200));
    expect(allowed).toBeGreaterThan(copies);
  });

  it("re-sends within a share of the estimate: a burst of NACKs on a slow link is cut off", () => {
    const budget = new RetransmissionBudget();
    budget.estimateBps = 400_000; // → 100 kbit/s for repairs
    for (let seq = 0; seq < 200; seq++) budget.sent(seq, 1000);
    let allowed = 0;
    for (let seq = 0; seq < 200; seq++) if (budget.allow(seq, 1200, 1000 + seq)) allowed++;
    // 200 ms at 100 kbit/s plus the burst it starts with.
    const expected = ((NACK_MIN_BUDGET_BPS / 8) * (0.2 + NACK_BUDGET_BURST_MS / 1000)) / 1200;
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

  it("hostile round trips (a receiver report's LSR/DLSR are the peer's numbers: none, 0, negative, not numbers, huge) neither stretch nor shrink what is re-sent", () => {
    const budget = new RetransmissionBudget();
    for (const value of [undefined, 0, -100, Number.NaN, Number.POSITIVE_INFINITY])
      budget.setRoundTrip(value, 0);
    expect(budget.rttMs).toBe(NACK_DEFAULT_RTT_MS);
    // A round trip of 10 minutes: a packet older than the cap is still refused.
    budget.setRoundTrip(600_000, 0);
    budget.sent(1, 0);
    expect(budget.allow(1, 1200, NACK_MAX_AGE_MS + 1)).toBe(false);
    // A round trip of a microsecond: a fresh packet is still re-sent, within the least window.
    budget.setRoundTrip(0.001, 0);
    budget.sent(2, 0);
    expect(budget.allow(2, 1200, NACK_MIN_AGE_WINDOW_MS - 1)).toBe(true);
  });
});
