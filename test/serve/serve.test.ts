/**
 * `device-rtc serve`, as a user meets it: a fresh data directory, Chromium opening the printed pairing
 * link while trusting only our CA, the device's picture on screen, "Talk" reaching the speaker,
 * "Camera" coming back as the echo, and the page finding its way back after a server restart.
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { spkiFingerprint } from "../../src/pki/certificates.ts";
import { consoleOf, launchBrowser, waitInPage } from "../helpers/browser.ts";
import { pngLuma, wavRms } from "../helpers/media.ts";
import { startCli } from "../helpers/processes.ts";
import { openServePage, type Served, serveTestDevice } from "../helpers/serve.ts";

const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

/** serve of the test device on 127.0.0.1, where this file's Chromium runs. */
function serve(extra: string[] = [], options: { dataDir?: string; port?: number } = {}): Promise<Served> {
  return serveTestDevice(extra, { ...options, local: true });
}

interface PageVideo {
  width: number;
  time: number;
  frames: number;
}

/** The pairing link `serve` printed for 127.0.0.1 (first run). */
function pairingLink({ child, port }: Served): string {
  const match = child.output().match(new RegExp(`https://127\\.0\\.0\\.1:${port}/pair#code=[A-Za-z0-9_%-]+`));
  if (!match) throw new Error(`no pairing link in the output:\n${child.output()}`);
  return match[0];
}

/**
 * Opens the printed pairing link in Chromium, trusting exactly our CA (by its public key), as a newcomer
 * would, and waits for the device's picture.
 */
async function openApp(served: Served): Promise<{ page: Page; log: string[] }> {
  const { page, log } = await openServePage(served, { path: pairingLink(served).slice(served.url.length) });
  await page.waitForURL(served.url, { timeout: 15_000 });
  await waitForPicture(page, log);
  return { page, log };
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
    const { child: server, dataDir, port } = await serve();
    expect(server.output()).toContain(`https://127.0.0.1:${port}/`);
    expect(server.output()).toContain(join(dataDir, "pki", "ca.crt"));
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
    const served = await serve(["--speaker", `file:${wav}`, "--incoming-video", "echo"], { dataDir });
    const server = served.child;
    const { page, log } = await openApp(served);
    // The page runs under its strict Content-Security-Policy without a single violation.
    expect(log.filter((line) => /Content Security Policy|Refused to/.test(line))).toEqual([]);

    await page.getByRole("button", { name: /Talk/ }).click();
    await page.getByRole("button", { name: /Camera/ }).click();
    await waitForPicture(page, log, "local");
    await waitForPicture(page, log, "echo");
    expect(await page.getByRole("button", { name: /Talk/ }).getAttribute("aria-pressed")).toBe("true");
    // The stats panel shows the device's real bitrate (about 1000 kbit/s of video), not "0 kbit/s".
    const bitrate = await waitInPage<string>(
      page,
      `(() => { const text = document.getElementById("stat-bitrate").textContent; return Number.parseInt(text, 10) >= 100 ? text : null; })()`,
      "a bitrate in the stats panel",
      15_000,
      log,
    );
    expect(bitrate).toMatch(/^[1-9]\d{2,} kbit\/s$/);

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, "serve-page.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    const stage = join(ARTIFACTS, "serve-stage.png");
    await page.locator("#remote").screenshot({ path: stage });
    // The stage shows the moving test pattern, not a blank (uniform) box.
    const luma = pngLuma(stage);
    expect(luma.stddev).toBeGreaterThan(30);

    server.signal("SIGTERM");
    expect(await server.exited()).toBe(0);
    expect(wavRms(wav)).toBeGreaterThan(0.005);
  });

  it("the page reconnects after the server restarts", async () => {
    const served = await serve();
    const { page, log } = await openApp(served);
    served.child.signal("SIGTERM");
    expect(await served.child.exited()).toBe(0);
    await waitInPage(
      page,
      `document.getElementById("status").textContent.includes("reconnecting")`,
      "the page to notice",
      10_000,
      log,
    );
    // Again on its data and port.
    await serve([], { dataDir: served.dataDir, port: served.port });
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

describe("pairing", () => {
  it("a browser that is not paired lands on the login page; `device-rtc pair` pairs it; a used link does not work twice", async () => {
    const served = await serve();
    const { child: server, dataDir, port, ca } = served;
    expect(server.output()).toMatch(/Owner password \(.*\): [a-z2-9]{4}(-[a-z2-9]{4}){4}/);
    const first = pairingLink(served);
    const browser = await launchBrowser({
      args: [`--ignore-certificate-errors-spki-list=${spkiFingerprint(ca)}`],
    });
    const stranger = await browser.newPage();
    await stranger.goto(`https://127.0.0.1:${port}/`);
    await stranger.waitForURL(`https://127.0.0.1:${port}/login`, { timeout: 15_000 });
    expect(await stranger.getByLabel("Owner password").isVisible()).toBe(true);
    // The first link pairs this browser once…
    const log = consoleOf(stranger);
    await stranger.goto(first);
    await stranger.waitForURL(`https://127.0.0.1:${port}/`, { timeout: 15_000 });
    await waitForPicture(stranger, log);
    // …and nobody else: a second browser gets the login page with a message.
    const other = await (
      await launchBrowser({ args: [`--ignore-certificate-errors-spki-list=${spkiFingerprint(ca)}`] })
    ).newPage();
    await other.goto(first);
    await waitInPage(
      other,
      `!document.getElementById("login-error").hidden`,
      "the used-link message",
      10_000,
    );
    expect(await other.locator("#login-error").textContent()).toMatch(/not valid any more/);
    // `device-rtc pair` makes a new one.
    const pair = startCli(["pair", "--data-dir", dataDir, "--url", `https://127.0.0.1:${port}`]);
    expect(await pair.exited()).toBe(0);
    const link = pair.output().match(/https:\/\/127\.0\.0\.1:\d+\/pair#code=\S+/)?.[0] as string;
    await other.goto(link);
    await other.waitForURL(`https://127.0.0.1:${port}/`, { timeout: 15_000 });
    await waitForPicture(other, consoleOf(other));
  });
});

describe("roles in the page", () => {
  it("a view token's link shows the picture, with Talk and Camera disabled", async () => {
    const { dataDir, port, ca } = await serve();
    const token = startCli([
      "token",
      "create",
      "--data-dir",
      dataDir,
      "--role",
      "view",
      "--url",
      `https://127.0.0.1:${port}`,
    ]);
    expect(await token.exited()).toBe(0);
    const link = token.output().match(/https:\/\/127\.0\.0\.1:\d+\/pair#code=\S+/)?.[0] as string;
    const page = await (
      await launchBrowser({ args: [`--ignore-certificate-errors-spki-list=${spkiFingerprint(ca)}`] })
    ).newPage();
    const log = consoleOf(page);
    await page.goto(link);
    await page.waitForURL(`https://127.0.0.1:${port}/`, { timeout: 15_000 });
    await waitForPicture(page, log);
    expect(await page.getByRole("button", { name: /Talk/ }).isDisabled()).toBe(true);
    expect(await page.getByRole("button", { name: /Camera/ }).isDisabled()).toBe(true);
  });
});

describe("the web app's messages", () => {
  it("says so clearly when the signalling server cannot be reached", async () => {
    const { port, ca } = await serve();
    const browser = await launchBrowser({
      args: [`--ignore-certificate-errors-spki-list=${spkiFingerprint(ca)}`],
    });
    const page = await browser.newPage();
    const log = consoleOf(page);
    await page.goto(`https://127.0.0.1:${port}/?signalling=${encodeURIComponent("wss://127.0.0.1:9/")}`);
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
