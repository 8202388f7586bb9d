/**
 * Lost packets come back over RTX (RFC 4588), on the LAN bed: a viewer behind a link that loses 3 % of
 * its packets (20 ms each way) asks for them (NACK), the device re-sends them on the RTX stream it
 * negotiated, and the picture plays on. Before RTX, re-sent packets went out on the media SSRC and the
 * browser could not tell them from late ones (its `retransmittedPacketsReceived` stayed 0).
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
});
