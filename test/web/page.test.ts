/**
 * The page as its users meet it, in Chromium: a compact stage with the local preview as a small
 * picture-in-picture, a snapshot that downloads the device's picture, the recordings panel playing what
 * the device recorded, and clear states for "not allowed", "camera unavailable" and "device offline".
 * Screenshots for a desktop (1280x800) and a phone (390x844) go to test-artifacts/.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { type ApiServe, openApp, pollUntil, startApiServe } from "../helpers/api.ts";
import { waitInPage } from "../helpers/browser.ts";
import { mediaFor } from "../helpers/device.ts";
import { pngLuma } from "../helpers/media.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

const VIDEO = (id: string) =>
  `(() => { const v = document.getElementById("${id}"); return { width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames }; })()`;

/** Waits until the video element `id` shows frames, and a few more. */
async function waitForPicture(page: Page, log: string[], id: string): Promise<void> {
  const first = await waitInPage<{ frames: number }>(
    page,
    `(${VIDEO(id)}).width > 0 ? ${VIDEO(id)} : null`,
    `video in #${id}`,
    30_000,
    log,
  );
  await waitInPage(page, `(${VIDEO(id)}).frames > ${first.frames + 5}`, `#${id} playing`, 15_000, log);
}

/** A PNG's size from its IHDR chunk (PNG spec §11.2.2), after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

async function box(page: Page, selector: string): Promise<Box> {
  const found = await page.locator(selector).boundingBox();
  if (!found) throw new Error(`${selector} is not shown`);
  return found;
}

/** The preview is a small picture inside the stage (in a corner), not a full-width video. */
function expectPictureInPicture(pip: Box, stage: Box, label: string): void {
  expect(pip.width, label).toBeLessThanOrEqual(stage.width * 0.3);
  expect(pip.x, label).toBeGreaterThanOrEqual(stage.x);
  expect(pip.y, label).toBeGreaterThanOrEqual(stage.y);
  expect(pip.x + pip.width, label).toBeLessThanOrEqual(stage.x + stage.width + 0.5);
  expect(pip.y + pip.height, label).toBeLessThanOrEqual(stage.y + stage.height + 0.5);
  // In the bottom right corner.
  expect(pip.x + pip.width / 2, label).toBeGreaterThan(stage.x + stage.width / 2);
}

async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path });
  return path;
}

/** Opens the app with a token's link (it logs the browser in with the token's role). */
function openWithToken(served: ApiServe, secret: string) {
  return openApp(served, `pair#code=${secret}`);
}

describe("the page (Chromium)", () => {
  it("compact stage with a picture-in-picture preview, snapshot, recordings panel — desktop and phone", async () => {
    const served = await startApiServe(["--incoming-video", "record,echo", "--incoming-audio", "discard"]);
    const { page, log } = await openApp(served);
    await page.setViewportSize({ width: 1280, height: 800 });
    await waitForPicture(page, log, "remote");
    // No Content-Security-Policy violation in the new parts either.
    expect(log.filter((line) => /Content Security Policy|Refused to/.test(line))).toEqual([]);

    // Snapshot: a PNG of the device's current frame, at the video's size, downloaded.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Snapshot" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^Porch-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.png$/);
    const png = join(tmpdir(), `device-rtc-snapshot-${process.pid}.png`);
    await download.saveAs(png);
    expect(pngSize(readFileSync(png))).toEqual({ width: 640, height: 480 });
    // The moving test pattern, not a blank frame.
    expect(pngLuma(png).stddev).toBeGreaterThan(30);

    // Talk and camera: the preview and the echo are small pictures in the stage's corner.
    await page.getByRole("button", { name: "Talk" }).click();
    await page.getByRole("button", { name: "Camera" }).click();
    await waitForPicture(page, log, "local");
    await waitForPicture(page, log, "echo");
    // Regression (quick Talk then Camera opened two sending sessions): one sender only.
    expect(JSON.parse((await served.call("/api/senders")).body).senders).toHaveLength(1);
    const stage = await box(page, "#stage");
    expect(stage.width).toBeGreaterThan(600);
    expect(stage.y + stage.height).toBeLessThanOrEqual(800);
    expectPictureInPicture(await box(page, "#local"), stage, "preview, desktop");
    expectPictureInPicture(await box(page, "#echo"), stage, "echo, desktop");
    await mediaFor(3000);

    // The recordings panel: the camera off ends the recording, which then plays in the page.
    await page.getByRole("button", { name: "Camera" }).click();
    await page.getByRole("button", { name: "Talk" }).click();
    const name = await pollUntil(async () => {
      const recordings = JSON.parse((await served.call("/api/recordings")).body).recordings;
      return recordings[0] && !recordings[0].active ? (recordings[0].name as string) : undefined;
    }, "the finished recording");
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.getByRole("button", { name: `Play ${name}` }).click();
    await waitInPage(
      page,
      `(() => { const v = document.getElementById("player"); return v.videoWidth === 640 && v.currentTime > 0.5; })()`,
      "the recording playing in the page",
      20_000,
      log,
    );
    expect(await page.getByRole("link", { name: `Download ${name}` }).getAttribute("href")).toBe(
      `/api/recordings/${name}`,
    );
    await page.getByRole("button", { name: "Talk" }).click();
    await page.getByRole("button", { name: "Camera" }).click();
    await waitForPicture(page, log, "local");
    await waitForPicture(page, log, "echo");
    const desktop = await screenshot(page, "page-desktop.png");
    expect(pngLuma(desktop).stddev).toBeGreaterThan(20);

    // A phone: one column, the stage full width, the preview still a corner picture.
    await page.setViewportSize({ width: 390, height: 844 });
    await waitForPicture(page, log, "local");
    const phoneStage = await box(page, "#stage");
    expect(phoneStage.width).toBeGreaterThan(360);
    expectPictureInPicture(await box(page, "#local"), phoneStage, "preview, phone");
    expect((await box(page, "#talk")).y).toBeGreaterThan(phoneStage.y + phoneStage.height);
    await screenshot(page, "page-phone.png");

    // Delete takes a second, confirming click.
    await page.setViewportSize({ width: 1280, height: 800 });
    const remove = page.getByRole("button", { name: `Delete ${name}` });
    await remove.click();
    await expect.poll(() => remove.textContent()).toBe("Really delete?");
    await remove.click();
    await pollUntil(
      async () =>
        JSON.parse((await served.call("/api/recordings")).body).recordings.some(
          (r: { name: string }) => r.name === name,
        )
          ? undefined
          : true,
      "the recording deleted",
    );
    await expect.poll(() => page.locator(`#recordings-list li[data-name="${name}"]`).count()).toBe(0);
  });

  it("a view token's page says what it may not do; an unavailable camera is noticed", async () => {
    // The camera does not exist: the device falls back to the test picture and says so.
    const served = await startApiServe(["--video", "camera:/dev/video-absent", "--fallback", "test"]);
    const status = JSON.parse((await served.call("/api/status", { as: "view" })).body);
    expect(status.sources.video).toMatchObject({ kind: "camera", state: "unavailable" });
    const { page, log } = await openWithToken(served, served.tokens.view.secret);
    await page.setViewportSize({ width: 390, height: 844 });
    await waitForPicture(page, log, "remote");
    await expect
      .poll(() => page.locator("#notice").textContent(), { timeout: 10_000 })
      .toMatch(/Camera unavailable/);
    expect(await page.locator("#notice").isVisible()).toBe(true);
    const note = page.getByRole("note");
    expect(await note.textContent()).toMatch(/Not allowed to talk or show your camera.*view role/);
    expect(await page.getByRole("button", { name: "Talk" }).isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: "Camera" }).isDisabled()).toBe(true);
    // Recordings are for admins: no panel, and the API refuses the page's cookie.
    expect(await page.locator("#recordings").isVisible()).toBe(false);
    const refused = await page.evaluate(async () => (await fetch("/api/recordings")).status);
    expect(refused).toBe(403);
    await screenshot(page, "page-phone-view-only.png");
  });

  it("a browser that decodes none of the device's video codecs hears the sound and is told why", async () => {
    const served = await startApiServe();
    const { page, browser } = await openApp(served);
    // This browser "has" no VP8 and no H.264: the device's offer names them as codecs it does not know,
    // so Chromium rejects the video section in its answer, as a browser without them would.
    await browser.addInitScript(() => {
      type Apply = (this: RTCPeerConnection, description?: RTCSessionDescriptionInit) => Promise<void>;
      const original = RTCPeerConnection.prototype.setRemoteDescription as Apply;
      const unknownVideoCodecs: Apply = function (description) {
        const sdp =
          description?.type === "offer"
            ? description.sdp?.replace(/ (VP8|H264)\/90000/gi, " X-NOT-$1/90000")
            : undefined;
        return original.call(this, sdp ? { type: "offer", sdp } : description);
      };
      RTCPeerConnection.prototype.setRemoteDescription =
        unknownVideoCodecs as typeof RTCPeerConnection.prototype.setRemoteDescription;
    });
    await page.reload();
    await expect
      .poll(() => page.locator("#notice").textContent(), { timeout: 20_000 })
      .toMatch(/This browser cannot play the device's video.*sound only/);
    expect(await page.locator("#notice").isVisible()).toBe(true);
    await served.child.waitFor(/takes none of the device's video codecs: it gets the audio only/, 10_000);
    // The sound plays: the stage has the audio track (no video track) and its time runs on.
    const tracks = () =>
      page.evaluate(async () => {
        const video = document.getElementById("remote") as HTMLVideoElement;
        const stream = video.srcObject as MediaStream | null;
        return { audio: stream?.getAudioTracks().length ?? 0, video: stream?.getVideoTracks().length ?? 0 };
      });
    await expect.poll(tracks, { timeout: 10_000 }).toEqual({ audio: 1, video: 0 });
    const first = Number(await page.evaluate(`(document.getElementById("remote")).currentTime`));
    await mediaFor(2000);
    expect(Number(await page.evaluate(`(document.getElementById("remote")).currentTime`))).toBeGreaterThan(
      first + 1,
    );
    await screenshot(page, "page-no-video-codec.png");
  });

  it("says the device is offline when it stops", async () => {
    const served = await startApiServe();
    const { page, log } = await openApp(served);
    await waitForPicture(page, log, "remote");
    served.child.signal("SIGTERM");
    expect(await served.child.exited()).toBe(0);
    await waitInPage(
      page,
      `(() => { const m = document.getElementById("message"); return !m.hidden && m.classList.contains("offline") && m.textContent.includes("offline"); })()`,
      "the offline state",
      15_000,
      log,
    );
    expect(await page.locator("#status").textContent()).toMatch(/reconnecting|unreachable/);
    for (const name of ["Snapshot", "Talk", "Camera"])
      expect(await page.getByRole("button", { name }).isDisabled(), name).toBe(true);
    await screenshot(page, "page-offline.png");
  });
});
