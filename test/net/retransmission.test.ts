/**
 * Lost packets come back over RTX (RFC 4588), on the LAN bed: a viewer behind a link that loses 3 % of
 * its packets (20 ms each way) asks for them (NACK), the device re-sends them on the RTX stream it
 * negotiated, and the picture plays on. Before RTX, re-sent packets went out on the media SSRC and the
 * browser could not tell them from late ones (its `retransmittedPacketsReceived` stayed 0).
 * Where a re-send comes too late — a 100 ms round trip — FEC (RED + ULPFEC) rebuilds them at once.
 */
import { describe, expect, it } from "vitest";
import {
  consumeProducer,
  type Inbound,
  mediaFor,
  playing,
  stage,
  startTestDevice,
} from "../helpers/device.ts";
import { bedAvailable } from "../helpers/netbed.ts";

describe.runIf(bedAvailable())("retransmission", () => {
  it("a viewer losing 3 % gets its lost packets back over RTX and plays on", async () => {
    const s = await stage({ viewer: { impair: { loss: 0.03, delayMs: 20 } } });
    // One encoding: what is measured is retransmission, not the ladder moving the viewer (a move
    // costs frames of its own).
    await startTestDevice(s.signalling, ["--ladder", "off"]);
    const { page, log } = await s.openPage("lossy");
    const first = await consumeProducer(page, "dev", log);
    await playing(page, first, log);
    const read = async () => (await page.evaluate("t.inbound()")) as Inbound;
    const before = await read();
    await mediaFor(6000);
    const after = await read();
    expect(after.nackCount ?? 0).toBeGreaterThan(before.nackCount ?? 0);
    expect(after.retransmittedPacketsReceived ?? 0).toBeGreaterThan(before.retransmittedPacketsReceived ?? 0);
    // The picture moves on (30 fps sent; a frozen one would decode none).
    expect(((after.framesDecoded ?? 0) - (before.framesDecoded ?? 0)) / 6).toBeGreaterThan(15);
  });

  it("regression: a viewer losing 5 % over a 100 ms round trip saw the picture stall every few frames (NACK alone); FEC keeps it flowing", async () => {
    const s = await stage({ viewer: { impair: { loss: 0.05, delayMs: 50 } } });
    await startTestDevice(s.signalling, ["--ladder", "off", "--framerate", "30"]);
    const { page, log } = await s.openPage("far");
    const first = await consumeProducer(page, "dev", log);
    await page.evaluate("t.watchFrames()");
    await playing(page, first, log);
    // FEC starts once the loss is measured (a second's worth of reports) and the estimate has room.
    await mediaFor(5000);
    const since = (await page.evaluate("performance.now()")) as number;
    await mediaFor(12_000);
    const { frames, stalls } = (await page.evaluate(`t.stalls(120, ${since})`)) as {
      frames: number;
      stalls: number;
    };
    // 30 frames a second are decoded either way; what the page shows differs. With NACK alone a frame
    // with a lost packet (one in five) waits a round trip and more, and the frames behind it come in
    // a burst: 14–24 stalls over 120 ms in 10 s here, 143–188 frames shown. With FEC: 2–10, 212–268.
    expect(frames, `${stalls} stalls`).toBeGreaterThanOrEqual(12 * 20);
    expect(stalls, `${frames} frames shown`).toBeLessThanOrEqual(15);
  });
});
