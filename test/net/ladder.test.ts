/**
 * The ladder on the LAN bed: one viewer behind a slow link, one on a clean one, the same device. The
 * slow one is moved to a smaller encoding and keeps playing; the clean one keeps the full picture —
 * one encode per layer, a layer per viewer (docs/MEDIA.md §10). Before the ladder, a viewer whose link
 * was slower than the stream got no picture at all (0 fps at 600 kbit/s).
 */
import { describe, expect, it } from "vitest";
import { consoleOf } from "../helpers/browser.ts";
import {
  consumeProducer,
  type Inbound,
  launchBrowserOn,
  mediaFor,
  playing,
  stage,
  startTestDevice,
} from "../helpers/device.ts";
import { bedAvailable } from "../helpers/netbed.ts";

describe.runIf(bedAvailable())("the ladder", () => {
  it("a viewer behind a 500 kbit/s link is moved to a smaller encoding and plays; a clean one keeps 640x480", async () => {
    // The stage's own viewer is the slow one (towards it: 500 kbit/s, a 200 ms queue).
    const s = await stage({ viewer: { impair: { rateKbps: 500, queueMs: 200, delayMs: 5 } } });
    if (!s.bed) throw new Error("no bed");
    const device = await startTestDevice(s.signalling);
    const slow = await s.openPage("slow");
    const cleanHost = await s.bed.host("clean");
    const cleanBrowser = await launchBrowserOn(cleanHost, [new URL(s.pageUrl).origin]);
    const cleanPage = await cleanBrowser.newPage();
    const cleanLog = consoleOf(cleanPage);
    await cleanPage.goto(s.pageUrl);
    await cleanPage.evaluate(`t.connect("clean")`);

    const slowFirst = await consumeProducer(slow.page, "dev", slow.log);
    const cleanFirst = await consumeProducer(cleanPage, "dev", cleanLog);
    await playing(slow.page, slowFirst, slow.log);
    await playing(cleanPage, cleanFirst, cleanLog);
    // The slow viewer is moved down (the device says so, naming the layer)…
    await device.waitFor(/"layer":"(320x240|160x120)"[^\n]*viewer moved to another layer/, 20_000);
    // …and from then on plays smoothly at the smaller size, while the clean one keeps the full size.
    await mediaFor(3000);
    const before = {
      slow: (await slow.page.evaluate("t.inbound()")) as Inbound,
      clean: (await cleanPage.evaluate("t.inbound()")) as Inbound,
    };
    await mediaFor(5000);
    const after = {
      slow: (await slow.page.evaluate("t.inbound()")) as Inbound,
      clean: (await cleanPage.evaluate("t.inbound()")) as Inbound,
    };
    const fps = (which: "slow" | "clean") =>
      ((after[which].framesDecoded ?? 0) - (before[which].framesDecoded ?? 0)) / 5;
    expect(after.slow.frameWidth).toBeLessThan(640);
    expect(fps("slow")).toBeGreaterThan(20);
    expect(after.clean.frameWidth).toBe(640);
    expect(fps("clean")).toBeGreaterThan(20);
  });
});
