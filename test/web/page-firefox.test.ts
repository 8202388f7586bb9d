/**
 * The page in Debian's Firefox ESR (puppeteer-core over WebDriver BiDi) on its own host of the LAN bed,
 * trusting the device's CA as a user who imported it: the device plays, the camera's echo comes back,
 * the preview is a corner picture, the snapshot is downloaded, a recording plays in the panel, and
 * the "not allowed" and "device offline" states show. Screenshots: test-artifacts/firefox-*.png.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "puppeteer-core";
import { describe, expect, it } from "vitest";
import { type ApiServe, pollUntil, startApiServe } from "../helpers/api.ts";
import { mediaFor } from "../helpers/device.ts";
import { firefoxConsole, launchFirefox, waitInFirefox } from "../helpers/firefox.ts";
import { pngLuma } from "../helpers/media.ts";
import { bedAvailable } from "../helpers/netbed.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const VIDEO = (id: string) =>
  `(() => { const v = document.getElementById("${id}"); return { width: v.videoWidth, time: v.currentTime }; })()`;

/** Waits until the video element `id` has a picture and its time moves. */
async function waitForPicture(page: Page, log: string[], id: string, timeoutMs = 30_000): Promise<void> {
  const first = await waitInFirefox<{ time: number }>(
    page,
    `(${VIDEO(id)}).width > 0 ? ${VIDEO(id)} : null`,
    `video in #${id}`,
    timeoutMs,
    log,
  );
  await waitInFirefox(page, `(${VIDEO(id)}).time > ${first.time + 0.3}`, `#${id} playing`, 15_000, log);
}

async function box(page: Page, id: string): Promise<Box> {
  return (await page.evaluate(
    `(() => { const r = document.getElementById(${JSON.stringify(id)}).getBoundingClientRect(); return { x: r.x, y: r.y, width: r.width, height: r.height }; })()`,
  )) as Box;
}

function expectPictureInPicture(pip: Box, stage: Box, label: string): void {
  expect(pip.width, label).toBeGreaterThan(0);
  expect(pip.width, label).toBeLessThanOrEqual(stage.width * 0.3);
  expect(pip.x + pip.width, label).toBeLessThanOrEqual(stage.x + stage.width + 0.5);
  expect(pip.y + pip.height, label).toBeLessThanOrEqual(stage.y + stage.height + 0.5);
  expect(pip.x + pip.width / 2, label).toBeGreaterThan(stage.x + stage.width / 2);
}

/** Firefox on its own host, trusting serve's CA, logged in by `path` (a pairing or token link). */
async function openInFirefox(
  api: ApiServe,
  path: string,
  windowSize: { width: number; height: number },
  downloads?: string,
) {
  const host = await api.served.bed?.host("firefox");
  if (!host) throw new Error("no bed");
  // The window's size is set at launch: Firefox ESR's BiDi has no viewport override.
  const browser = await launchFirefox(host, { ca: api.ca, downloads, windowSize });
  // The first window: it has the size given at launch (a new one would get the default size).
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  const log = firefoxConsole(page);
  await page.goto(`${api.origin}/${path}`);
  await waitInFirefox(
    page,
    `location.pathname === "/" && !location.hash`,
    "the app after pairing",
    15_000,
    log,
  );
  return { page, log };
}

async function click(page: Page, id: string): Promise<void> {
  await page.evaluate(`document.getElementById(${JSON.stringify(id)}).click()`);
}

describe.runIf(bedAvailable())("the page (Firefox ESR)", () => {
  it("plays the device; the camera's echo comes back; corner preview; snapshot downloaded; a recording plays", async () => {
    const api = await startApiServe(["--incoming-video", "record,echo", "--incoming-audio", "discard"]);
    const downloads = mkdtempSync(join(tmpdir(), "device-rtc-downloads-"));
    const { page, log } = await openInFirefox(
      api,
      api.pairingPath(),
      { width: 1280, height: 800 },
      downloads,
    );
    await waitForPicture(page, log, "remote");

    // Snapshot: downloaded as a PNG of the device's frame at the video's size.
    await click(page, "snapshot");
    // Firefox creates the file before it writes it (and a .part beside it): wait until it is whole.
    const file = await pollUntil(async () => {
      const names = readdirSync(downloads);
      if (names.some((name) => name.endsWith(".part"))) return undefined;
      const png = names.find((name) => /^Porch-.*\.png$/.test(name));
      return png && statSync(join(downloads, png)).size > 24 ? png : undefined;
    }, "the snapshot in Firefox's download folder");
    const png = readFileSync(join(downloads, file));
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) }).toEqual({
      width: 640,
      height: 480,
    });
    expect(pngLuma(join(downloads, file)).stddev).toBeGreaterThan(30);

    // Talk and Camera: the preview, and the device's echo of the camera (Firefox's own encoder).
    await click(page, "talk");
    await click(page, "camera");
    await waitForPicture(page, log, "local");
    await waitForPicture(page, log, "echo", 45_000).catch((error: Error) => {
      throw new Error(
        `${error.message}\n--- device:\n${api.child
          .output()
          .split("\n")
          .filter((l) => /echo|keyframe|sender|record/i.test(l))
          .slice(-40)
          .join("\n")}`,
      );
    });
    const stage = await box(page, "stage");
    expectPictureInPicture(await box(page, "local"), stage, "preview");
    expectPictureInPicture(await box(page, "echo"), stage, "echo");
    await mediaFor(3000);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "firefox-desktop.png") });

    // The camera off ends the recording; the panel plays it (WebM/VP8, which Firefox plays).
    await click(page, "camera");
    await click(page, "talk");
    const name = await pollUntil(async () => {
      const recordings = JSON.parse((await api.call("/api/recordings")).body).recordings;
      return recordings[0] && !recordings[0].active ? (recordings[0].name as string) : undefined;
    }, "the finished recording");
    await click(page, "recordings-refresh");
    await waitInFirefox(
      page,
      `document.querySelector('#recordings-list li[data-name="${name}"] button') !== null`,
      "the recording listed",
      10_000,
      log,
    );
    await page.evaluate(`document.querySelector('#recordings-list li[data-name="${name}"] button').click()`);
    await waitInFirefox(
      page,
      `(() => { const v = document.getElementById("player"); return v.videoWidth > 0 && v.currentTime > 0.5; })()`,
      "the recording playing in Firefox",
      20_000,
      log,
    );
    expect(log.filter((line) => /Content[- ]Security[- ]Policy|CSP/.test(line))).toEqual([]);
  });

  it("a view token: not allowed to talk, no recordings; the device offline when it stops", async () => {
    const api = await startApiServe();
    const { page, log } = await openInFirefox(api, `pair#code=${api.tokens.view.secret}`, {
      width: 390,
      height: 844,
    });
    await waitForPicture(page, log, "remote");
    const state = (await page.evaluate(`({
      note: document.getElementById("role-note").textContent,
      noteShown: !document.getElementById("role-note").hidden,
      talk: document.getElementById("talk").disabled,
      camera: document.getElementById("camera").disabled,
      recordings: document.getElementById("recordings").hidden,
    })`)) as Record<string, string | boolean>;
    expect(state).toMatchObject({ noteShown: true, talk: true, camera: true, recordings: true });
    expect(state.note).toMatch(/Not allowed to talk/);
    // One column, the stage the window's width (Firefox keeps a window at least 450 px wide).
    const stage = await box(page, "stage");
    const width = (await page.evaluate("window.innerWidth")) as number;
    expect(width).toBeLessThanOrEqual(450);
    expect(stage.width).toBeGreaterThan(width * 0.9);
    expect((await box(page, "talk")).y).toBeGreaterThan(stage.y + stage.height);
    await page.screenshot({ path: join(ARTIFACTS, "firefox-phone-view-only.png") });

    api.child.signal("SIGTERM");
    expect(await api.child.exited()).toBe(0);
    await waitInFirefox(
      page,
      `(() => { const m = document.getElementById("message"); return !m.hidden && m.textContent.includes("offline"); })()`,
      "the offline state",
      15_000,
      log,
    );
  });
});
