/**
 * A LAN with no internet, as a first-time visitor meets it: Chromium with its default ICE settings
 * and no camera/microphone permission offers only an mDNS name (uuid.local) as its host candidate
 * (and only when its host has a default route, as every LAN does); the device can resolve it
 * (werift's mDNS lookup over the bed's multicast) and the call connects.
 */
import { describe, expect, it } from "vitest";
import { consoleOf } from "../helpers/browser.ts";
import { consumeProducer, launchBrowserOn, playing, stage, startTestDevice } from "../helpers/device.ts";
import { bedAvailable } from "../helpers/netbed.ts";

describe.runIf(bedAvailable())("LAN bed", () => {
  it("a viewer without camera permission offers an mDNS host candidate; the device resolves it", async () => {
    const s = await stage();
    await startTestDevice(s.signalling);
    if (!s.bed) throw new Error("no bed");
    const host = await s.bed.host("first-visit");
    const browser = await launchBrowserOn(host, [], { permissions: "ask" });
    const page = await browser.newPage();
    const log = consoleOf(page);
    await page.goto(s.pageUrl);
    await page.evaluate(`t.connect("visitor")`);
    const first = await consumeProducer(page, "dev", log);
    await playing(page, first, log);
    const candidates = (await page.evaluate(
      "t.consumer.rtcPeerConnection.localDescription.sdp.split('\\r\\n').filter((l) => l.startsWith('a=candidate'))",
    )) as string[];
    expect(candidates.length).toBeGreaterThan(0);
    for (const line of candidates) expect(line).toMatch(/ [0-9a-f-]{36}\.local \d+ typ host/);
    const pair = (await page.evaluate("t.selectedPair()")) as { local: { type: string } };
    // Peer-reflexive here would mean Chromium gathered no host candidate (as on a LAN without a
    // default route) and was found only through the device's checks.
    expect(pair.local.type).toBe("host");
  });
});
