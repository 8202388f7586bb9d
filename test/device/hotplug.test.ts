/**
 * Hot-plug: a video source that goes away while the device runs, and comes back. There is no camera
 * here, so the source that disappears is a file (the mechanism is the same for every source:
 * src/media/SourceFailover.ts): `device-rtc serve` sends a solid blue clip in a loop; the clip is
 * renamed away, and the loop's next start fails. The page the user has open keeps its session and its
 * moving picture — the test picture with a notice — says "Camera unavailable", and the API reports
 * the source `unavailable`; once the clip is back, the picture is blue again, in the same session.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { type ApiServe, openApp, pollUntil, startApiServe } from "../helpers/api.ts";
import { waitInPage } from "../helpers/browser.ts";

/** Decoded frames of the page's picture (#remote). */
const FRAMES = `document.getElementById("remote").getVideoPlaybackQuality().totalVideoFrames`;

/** Eight pixels across the middle row of the picture as [r, g, b], read through a canvas. */
const ROW = `(() => {
  const v = document.getElementById("remote");
  const c = document.createElement("canvas");
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  const g = c.getContext("2d");
  g.drawImage(v, 0, 0);
  return Array.from({ length: 8 }, (_, i) =>
    Array.from(g.getImageData(Math.round(((i + 0.5) * c.width) / 8), Math.round(c.height * 0.7), 1, 1).data.slice(0, 3)));
})()`;

/** Is every sampled pixel the clip's blue? (videotestsrc pattern=blue; VP8 leaves it near 0,0,255.) */
const ALL_BLUE = `(${ROW}).every(([r, g, b]) => r < 60 && g < 60 && b > 190)`;

async function frames(page: Page): Promise<number> {
  return (await page.evaluate(FRAMES)) as number;
}

async function videoSource(served: ApiServe): Promise<{ state: string; reason?: string }> {
  const status = JSON.parse((await served.call("/api/status")).body);
  return status.sources.video;
}

async function viewerSessions(served: ApiServe): Promise<string[]> {
  const body = JSON.parse((await served.call("/api/viewers")).body);
  return body.viewers.map((viewer: { sessionId: string }) => viewer.sessionId);
}

/** 1 s of solid blue, VP8 in Matroska, at `path`: it loops, so its process starts again every second. */
function makeBlueClip(path: string): void {
  execFileSync("gst-launch-1.0", [
    "-q",
    "videotestsrc",
    "num-buffers=30",
    "pattern=blue",
    "!",
    "video/x-raw,width=320,height=240,framerate=30/1",
    "!",
    "vp8enc",
    "!",
    "matroskamux",
    "!",
    "filesink",
    `location=${path}`,
  ]);
}

describe("hot-plug", () => {
  it("a source that disappears is replaced by the test picture with a notice, and resumes in the same session when it is back", async () => {
    const media = mkdtempSync(join(tmpdir(), "device-rtc-hotplug-"));
    const clip = join(media, "blue.mkv");
    const away = join(media, "away.mkv");
    makeBlueClip(clip);
    const served = await startApiServe(["--video", `file:${clip}`, "--audio", "none"]);
    expect(await videoSource(served)).toMatchObject({ state: "live" });
    const { page, log } = await openApp(served);
    await waitInPage(page, ALL_BLUE, "the blue picture", 30_000, log);
    const [session] = await viewerSessions(served);
    expect(session).toBeDefined();

    renameSync(clip, away);
    const gone = await pollUntil(
      async () => ((await videoSource(served)).state === "unavailable" ? videoSource(served) : undefined),
      "the source reported unavailable",
    );
    expect(gone.reason).toMatch(/blue\.mkv does not exist/);
    await expect
      .poll(() => page.locator("#notice").textContent(), { timeout: 15_000 })
      .toMatch(/Camera unavailable/);
    // The picture keeps moving, and it is the test picture now (colour bars), not the blue clip.
    const during = await frames(page);
    await waitInPage(page, `${FRAMES} > ${during + 30}`, "frames during the outage", 15_000, log);
    expect(await page.evaluate(ALL_BLUE)).toBe(false);

    renameSync(away, clip);
    await pollUntil(
      async () => ((await videoSource(served)).state === "live" ? true : undefined),
      "the source reported live again",
    );
    await waitInPage(page, ALL_BLUE, "the blue picture again", 15_000, log);
    await expect.poll(() => page.locator("#notice").isVisible(), { timeout: 15_000 }).toBe(false);
    const after = await frames(page);
    await waitInPage(page, `${FRAMES} > ${after + 30}`, "frames after the return", 15_000, log);
    // The same session throughout: nobody had to reconnect.
    expect(await viewerSessions(served)).toEqual([session]);
    // One line for each change of state.
    const output = served.child.output();
    expect(output.match(/"msg":"video source unavailable"/g)).toHaveLength(1);
    expect(output.match(/"msg":"video source live"/g)).toHaveLength(1);
  });

  it("with --fallback test, a source absent at start is picked up when it appears", async () => {
    const media = mkdtempSync(join(tmpdir(), "device-rtc-hotplug-"));
    const clip = join(media, "later.mkv");
    const served = await startApiServe(["--video", `file:${clip}`, "--audio", "none", "--fallback", "test"]);
    expect(await videoSource(served)).toMatchObject({
      state: "unavailable",
      reason: expect.stringMatching(/later\.mkv does not exist/),
    });
    const { page, log } = await openApp(served);
    await expect
      .poll(() => page.locator("#notice").textContent(), { timeout: 15_000 })
      .toMatch(/Camera unavailable/);
    // The stand-in plays (the notice comes from the API, which can be quicker than the session).
    await waitInPage(page, `${FRAMES} > 30`, "the stand-in playing", 30_000, log);
    expect(await page.evaluate(ALL_BLUE)).toBe(false);
    const [session] = await viewerSessions(served);
    expect(session).toBeDefined();

    makeBlueClip(join(media, "partial.mkv"));
    // Appears at once, whole (a clip still being written could be read half-way).
    renameSync(join(media, "partial.mkv"), clip);
    await pollUntil(
      async () => ((await videoSource(served)).state === "live" ? true : undefined),
      "the source reported live",
    );
    await waitInPage(page, ALL_BLUE, "the blue picture", 15_000, log);
    await expect.poll(() => page.locator("#notice").isVisible(), { timeout: 15_000 }).toBe(false);
    expect(await viewerSessions(served)).toEqual([session]);
  });
});
