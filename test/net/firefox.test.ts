/**
 * Debian's Firefox ESR as a real peer on the LAN bed (puppeteer-core over WebDriver BiDi): it plays
 * the device, and what it sends (a max-bundle offer: its audio section is bundle-only) is recorded
 * with both tracks.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mediaFor, stage, startDevice, startTestDevice } from "../helpers/device.ts";
import { firefoxConsole, launchFirefox, playInFirefox, waitInFirefox } from "../helpers/firefox.ts";
import { discover } from "../helpers/media.ts";
import { bedAvailable } from "../helpers/netbed.ts";

async function bedHost(s: Awaited<ReturnType<typeof stage>>, name: string) {
  if (!s.bed) throw new Error("no bed");
  return s.bed.host(name);
}

interface Inbound {
  videoWidth: number;
  framesDecoded?: number;
  audioBytes?: number;
}

describe.runIf(bedAvailable())("Firefox ESR on the LAN bed", () => {
  it("plays the device's video and audio", async () => {
    const s = await stage();
    await startTestDevice(s.signalling);
    const { first, later } = await playInFirefox<Inbound>(await bedHost(s, "firefox"), s.pageUrl, "firefox");
    expect(later.videoWidth).toBe(640);
    expect(later.audioBytes ?? 0).toBeGreaterThan(first.audioBytes ?? 0);
  });

  it("its camera and microphone are recorded with both tracks", async () => {
    const s = await stage();
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-rec-"));
    const device = await startDevice(
      s.signalling,
      [
        "--name",
        "dev",
        "--video",
        "none",
        "--audio",
        "none",
        "--incoming-video",
        "record",
        "--incoming-audio",
        "record",
        "--record-dir",
        dir,
      ],
      {},
      { ready: /registered as consumer/ },
    );
    const browser = await launchFirefox(await bedHost(s, "firefox"));
    const page = await browser.newPage();
    const log = firefoxConsole(page);
    await page.goto(s.pageUrl);
    await page.evaluate(`t.connect("firefox")`);
    const id = await waitInFirefox<string>(page, `t.findConsumer("dev")`, "the device listed", 15_000, log);
    await page.evaluate(`t.produce(${JSON.stringify(id)})`);
    await device.waitFor(/"msg":"recording"/, 20_000);
    await mediaFor(4000);
    await device.stop(10_000);
    const [file] = readdirSync(dir).filter((f) => /\.(webm|mkv)$/.test(f));
    if (!file) throw new Error(`no recording in ${dir}:\n${device.output()}`);
    const found = discover(join(dir, file));
    expect(found.video.join()).toMatch(/vp8|h264/i);
    expect(found.audio.join()).toMatch(/opus/i);
  });
});
