/**
 * `device-rtc serve`, as a user meets it: a fresh data directory, Chromium opening the printed HTTPS
 * address while trusting only our CA, the device's picture on screen, "Talk" reaching the speaker,
 * "Camera" coming back as the echo, and the page finding its way back after a server restart.
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { waitInPage } from "../helpers/browser.ts";
import { pngLuma, wavRms } from "../helpers/media.ts";
import { openServePage, type Served, type ServeOptions, startServe } from "../helpers/serve.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

const SERVE_ARGS = ["--name", "Porch", "--video", "test", "--audio", "test"];

/** `device-rtc serve` on the LAN bed (test/helpers/serve.ts); `extra` flags after the usual ones. */
function serve(
  dataDir: string,
  port: number,
  extra: string[] = [],
  options: ServeOptions = {},
): Promise<Served> {
  return startServe(dataDir, port, [...SERVE_ARGS, ...extra], options);
}

/**
 * Opens the app in Chromium (its own host of the bed, default ICE settings, no camera/microphone
 * permission until the test grants it), trusting exactly our CA, and waits for the device's picture.
 */
async function openApp(
  served: Served,
): Promise<{ page: Page; log: string[]; grantMedia: () => Promise<void> }> {
  const { page, log, grantMedia } = await openServePage(served);
  await waitForPicture(page, log);
  return { page, log, grantMedia };
}

interface PageVideo {
  width: number;
  time: number;
  frames: number;
}

const VIDEO = (id: string) =>
  `(() => { const v = document.getElementById("${id}"); return { width: v.videoWidth, time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames }; })()`;

async function waitForPicture(page: Page, log: string[], id = "remote"): Promise<PageVideo> {
  const first = await waitInPage<PageVideo>(
    page,
    `(${VIDEO(id)}).width > 0 ? ${VIDEO(id)} : null`,
    `video in #${id}`,
    30_000,
    log,
  );
  await waitInPage(page, `(${VIDEO(id)}).frames > ${first.frames + 10}`, `#${id} playing`, 10_000, log);
  return first;
}

describe("device-rtc serve", () => {
  it("creates its PKI on first run; the PKCS#12 opens with its password", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-data-"));
    const port = 23000 + Math.floor(Math.random() * 10000);
    const served = await serve(dataDir, port);
    expect(served.child.output()).toContain(served.url);
    expect(served.child.output()).toContain(join(dataDir, "pki", "ca.crt"));
    const pki = join(dataDir, "pki");
    const password = readFileSync(join(pki, "server.p12.password"), "utf8").trim();
    expect(() =>
      createSecureContext({ pfx: readFileSync(join(pki, "server.p12")), passphrase: password }),
    ).not.toThrow();
    expect(() =>
      createSecureContext({ pfx: readFileSync(join(pki, "server.p12")), passphrase: "wrong" }),
    ).toThrow();
  });

  it("the page plays the device; Talk reaches the speaker; Camera comes back as the echo", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-data-"));
    const wav = join(dataDir, "speaker.wav");
    const port = 23000 + Math.floor(Math.random() * 10000);
    const served = await serve(dataDir, port, ["--speaker", `file:${wav}`, "--incoming-video", "echo"]);
    const server = served.child;
    const { page, log, grantMedia } = await openApp(served);

    // The user allows the microphone and camera when the page first asks.
    await grantMedia();
    await page.getByRole("button", { name: /Talk/ }).click();
    await page.getByRole("button", { name: /Camera/ }).click();
    await waitForPicture(page, log, "local");
    await waitForPicture(page, log, "echo");
    expect(await page.getByRole("button", { name: /Talk/ }).getAttribute("aria-pressed")).toBe("true");
    await page.waitForTimeout(1500);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, "serve-page.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    const stage = join(ARTIFACTS, "serve-stage.png");
    await page.locator("#remote").screenshot({ path: stage });
    // The stage shows the moving test pattern, not a blank (uniform) box.
    const luma = pngLuma(stage);
    expect(luma.stddev).toBeGreaterThan(30);
    expect(await page.locator("#stat-bitrate").textContent()).toMatch(/\d+ kbit\/s/);

    server.signal("SIGTERM");
    expect(await server.exited()).toBe(0);
    expect(wavRms(wav)).toBeGreaterThan(0.005);
  });

  it("the page reconnects after the server restarts", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-data-"));
    const port = 23000 + Math.floor(Math.random() * 10000);
    const served = await serve(dataDir, port);
    let server = served.child;
    const { page, log } = await openApp(served);
    server.signal("SIGTERM");
    expect(await server.exited()).toBe(0);
    await waitInPage(
      page,
      `document.getElementById("status").textContent.includes("reconnecting")`,
      "the page to notice",
      10_000,
      log,
    );
    server = (await serve(dataDir, port, [], { bed: served.bed, host: served.host })).child;
    await waitInPage(
      page,
      `document.getElementById("status").textContent === "connected"`,
      "the page to reconnect",
      20_000,
      log,
    );
    const before = (await page.evaluate(VIDEO("remote"))) as PageVideo;
    await waitInPage(
      page,
      `(${VIDEO("remote")}).frames > ${before.frames + 30}`,
      "the device's picture again",
      20_000,
      log,
    );
  });
});

describe("the web app's messages", () => {
  it("says so clearly when the signalling server cannot be reached", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-data-"));
    const port = 23000 + Math.floor(Math.random() * 10000);
    const served = await serve(dataDir, port);
    const { page, log } = await openServePage(served, {
      path: `?signalling=${encodeURIComponent("wss://127.0.0.1:9/")}`,
    });
    await waitInPage(
      page,
      `document.getElementById("message").textContent.includes("Cannot reach the signalling server at wss://127.0.0.1:9/")`,
      "the message",
      15_000,
      log,
    );
    expect(await page.locator("#message").textContent()).toMatch(/trust that CA/);
    expect(await page.locator("#status").textContent()).toBe("unreachable");
  });
});
