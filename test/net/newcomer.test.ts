/**
 * The newcomer path on the LAN bed: `device-rtc serve` on one host, Chromium with its default
 * settings on another (no camera/microphone permission until the user allows it) opening the pairing
 * link `serve` printed for the device's LAN address; the picture plays, Talk reaches the speaker and
 * Camera comes back as the echo.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { waitInPage } from "../helpers/browser.ts";
import { wavRms } from "../helpers/media.ts";
import { bedAvailable } from "../helpers/netbed.ts";
import { openServePage, serveTestDevice } from "../helpers/serve.ts";
import { eventually } from "../helpers/signalling.ts";

const VIDEO = (id: string) =>
  `(() => { const v = document.getElementById("${id}"); return { width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames }; })()`;

async function playing(page: Page, log: string[], id: string): Promise<void> {
  const first = await waitInPage<{ frames: number }>(
    page,
    `(${VIDEO(id)}).width > 0 ? ${VIDEO(id)} : null`,
    `video in #${id}`,
    30_000,
    log,
  );
  await waitInPage(page, `(${VIDEO(id)}).frames > ${first.frames + 10}`, `#${id} playing`, 10_000, log);
}

describe.runIf(bedAvailable())("newcomer on the LAN bed", () => {
  it("opens the printed LAN pairing link: the picture plays, Talk reaches the speaker, Camera echoes", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-data-"));
    const wav = join(dataDir, "speaker.wav");
    const served = await serveTestDevice(["--speaker", `file:${wav}`, "--incoming-video", "echo"], {
      dataDir,
    });
    // The link printed for the device's LAN address (the one a phone on the LAN would open).
    const origin = served.origin.replaceAll(".", "\\.");
    const link = served.child.output().match(new RegExp(`${origin}/pair#code=[A-Za-z0-9_%-]+`))?.[0];
    if (!link) throw new Error(`no pairing link for ${served.url}:\n${served.child.output()}`);
    const { page, log, grantMedia } = await openServePage(served, { path: link.slice(served.url.length) });
    await page.waitForURL(served.url, { timeout: 15_000 });
    await playing(page, log, "remote");

    // The user allows the microphone and camera when the page first asks.
    await grantMedia();
    await page.getByRole("button", { name: /Talk/ }).click();
    await page.getByRole("button", { name: /Camera/ }).click();
    await playing(page, log, "local");
    await playing(page, log, "echo");
    await eventually(() => existsSync(wav) && wavRms(wav) > 0.005, "the talk in the speaker's WAV", 15_000);
    served.child.signal("SIGTERM");
    expect(await served.child.exited()).toBe(0);
    expect(wavRms(wav)).toBeGreaterThan(0.005);
  });
});
