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

  it("a viewer whose link comes back is probed and moved back up to 640x480 within 15 s", async () => {
    const s = await stage({ viewer: { impair: { rateKbps: 300, queueMs: 200, delayMs: 5 } } });
    if (!s.viewer?.link) throw new Error("no bed");
    const device = await startTestDevice(s.signalling);
    const viewer = await s.openPage("viewer");
    const first = await consumeProducer(viewer.page, "dev", viewer.log);
    await playing(viewer.page, first, viewer.log);
    await device.waitFor(/"layer":"160x120"[^\n]*viewer moved to another layer/, 20_000);
    const inbound = async () => (await viewer.page.evaluate("t.inbound()")) as Inbound;
    expect((await inbound()).frameWidth).toBeLessThan(640);
    // The link is back at 2 Mbit/s: the estimate alone took 20 s and more to show room (docs/MEDIA.md
    // §10); probes ask the link, and the viewer is moved up a layer after each one that held.
    await s.viewer.link.set("down", { rateKbps: 2000 });
    const back = Date.now();
    await device.waitFor(/"layer":"640x480","reason":"probe for 1000 kbit\/s held"/, 15_000);
    let latest = await inbound();
    while (latest.frameWidth !== 640 && Date.now() - back < 15_000) {
      await mediaFor(250);
      latest = await inbound();
    }
    expect(latest.frameWidth).toBe(640);
    const before = latest;
    await mediaFor(3000);
    const after = await inbound();
    expect(((after.framesDecoded ?? 0) - (before.framesDecoded ?? 0)) / 3).toBeGreaterThan(20);
    expect(after.frameWidth).toBe(640);
  });
});
