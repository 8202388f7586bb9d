/**
 * A codec per viewer, on the LAN bed: the device prefers H.264 (`--codec h264`); Chromium takes it,
 * while Debian's Firefox ESR, which has no H.264 decoder (no OpenH264), takes VP8 — both from the one
 * capture, each codec's ladder encoded only while a viewer uses it (docs/MEDIA.md §12). Before, the
 * device offered its one codec: Firefox rejected the video and the device dropped the whole session,
 * audio included, ten times over.
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
import { playInFirefox } from "../helpers/firefox.ts";
import { bedAvailable } from "../helpers/netbed.ts";

/** Frames a page decoded per second over `ms` of playing. */
async function fps(read: () => Promise<Inbound>, ms: number): Promise<number> {
  const before = await read();
  await mediaFor(ms);
  const after = await read();
  return ((after.framesDecoded ?? 0) - (before.framesDecoded ?? 0)) / (ms / 1000);
}

describe.runIf(bedAvailable())("a codec per viewer", () => {
  it("Firefox (VP8 only) plays beside a Chromium viewer on H.264; VP8 stops when Firefox leaves", async () => {
    const s = await stage();
    if (!s.bed) throw new Error("no bed");
    const device = await startTestDevice(s.signalling, ["--codec", "h264"]);
    const chromium = await s.openPage("chromium");
    const chromiumRead = async () => (await chromium.page.evaluate("t.inbound()")) as Inbound;
    const first = await consumeProducer(chromium.page, "dev", chromium.log);
    await playing(chromium.page, first, chromium.log);
    expect((await chromiumRead()).codec?.toLowerCase()).toBe("video/h264");

    const {
      browser: firefox,
      first: firefoxFirst,
      later: firefoxLater,
    } = await playInFirefox<Inbound>(await s.bed.host("firefox"), s.pageUrl, "firefox");
    await device.waitFor(/"codec":"vp8"[^\n]*encoding another codec for a viewer/, 15_000);
    expect(firefoxLater.videoWidth).toBe(640);
    expect(firefoxLater.codec?.toLowerCase()).toBe("video/vp8");
    expect(firefoxLater.audioBytes ?? 0).toBeGreaterThan(firefoxFirst.audioBytes ?? 0);
    // The Chromium viewer went on through the restart that added VP8, still on H.264 at full size.
    expect(await fps(chromiumRead, 3000)).toBeGreaterThan(20);
    const chromiumNow = await chromiumRead();
    expect(chromiumNow.codec?.toLowerCase()).toBe("video/h264");
    expect(chromiumNow.frameWidth).toBe(640);

    // Firefox leaves: its codec is no longer encoded; Chromium plays on.
    await firefox.close();
    await device.waitFor(/"codec":"vp8"[^\n]*stopped encoding a codec no viewer uses/, 30_000);
    await mediaFor(1000);
    expect(await fps(chromiumRead, 3000)).toBeGreaterThan(20);
  });
});
