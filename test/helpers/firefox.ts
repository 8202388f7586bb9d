/**
 * Debian's Firefox ESR as a peer, driven by puppeteer-core over WebDriver BiDi (no browser download:
 * the system's /usr/bin/firefox-esr), on its own host of the network test bed. Fake camera and
 * microphone, no permission prompts; Firefox's default ICE settings (mDNS host candidates).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { onCleanup } from "./cleanup.ts";
import type { BedHost } from "./netbed.ts";
import { startChild } from "./processes.ts";

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";

const PREFS: Record<string, string | number | boolean> = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  // The bed's pages are plain http:// on a LAN address.
  "media.devices.insecure.enabled": true,
  "media.getusermedia.insecure.enabled": true,
  "media.autoplay.default": 0,
  // No background traffic.
  "network.captive-portal-service.enabled": false,
  "network.connectivity-service.enabled": false,
  "browser.safebrowsing.update.enabled": false,
  "app.update.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "toolkit.telemetry.enabled": false,
  "browser.shell.checkDefaultBrowser": false,
  "remote.prefs.recommended": true,
};

/**
 * Firefox ESR on `host`. Its WebDriver BiDi endpoint listens on 127.0.0.1 inside the host's
 * namespace; a relay there exposes it on a Unix socket (a path, shared by all namespaces), and a
 * relay here turns that back into a local TCP port for puppeteer.
 */
export async function launchFirefox(
  host: BedHost,
  options: {
    /** A CA certificate (PEM) the profile trusts for web sites, as a user who imported it. */
    ca?: string;
    /** Where downloads go, without asking. */
    downloads?: string;
    /** The window's (headless: the viewport's) size, e.g. a phone's 390x844. */
    windowSize?: { width: number; height: number };
  } = {},
): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "device-rtc-firefox-"));
  onCleanup(() => rmSync(profile, { recursive: true, force: true }));
  const prefs: Record<string, string | number | boolean> = { ...PREFS };
  if (options.downloads) {
    Object.assign(prefs, {
      "browser.download.folderList": 2,
      "browser.download.dir": options.downloads,
      "browser.download.useDownloadDir": true,
      "browser.download.always_ask_before_handling_new_types": false,
    });
  }
  writeFileSync(
    join(profile, "user.js"),
    Object.entries(prefs)
      .map(([key, value]) => `user_pref(${JSON.stringify(key)}, ${JSON.stringify(value)});`)
      .join("\n"),
  );
  if (options.ca) {
    // The profile's NSS database, with the CA trusted for web sites ("C,,"), as Firefox's certificate
    // manager would store it.
    const caFile = join(profile, "device-rtc-ca.crt");
    writeFileSync(caFile, options.ca);
    execFileSync("certutil", ["-N", "-d", `sql:${profile}`, "--empty-password"]);
    execFileSync("certutil", ["-A", "-n", "device-rtc", "-t", "C,,", "-i", caFile, "-d", `sql:${profile}`]);
  }
  // Firefox checks the Host header of the WebSocket handshake: the relay here listens on the same
  // port as Firefox does in its namespace.
  const local = createServer((client) => {
    const upstream = createConnection(socket);
    client.pipe(upstream).pipe(client);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => local.listen(0, "127.0.0.1", resolve));
  onCleanup(() => new Promise<void>((resolve) => local.close(() => resolve())));
  const port = (local.address() as { port: number }).port;
  const socket = join(profile, "bidi.sock");
  const firefox = startChild(
    "nsenter",
    [
      "-t",
      String(host.pid),
      "-n",
      "--",
      FIREFOX_PATH,
      "--headless",
      "--no-remote",
      "--profile",
      profile,
      `--remote-debugging-port=${port}`,
      "about:blank",
    ],
    // Headless Firefox takes its window's size from these (it ignores --window-size).
    options.windowSize
      ? {
          MOZ_HEADLESS_WIDTH: String(options.windowSize.width),
          MOZ_HEADLESS_HEIGHT: String(options.windowSize.height),
        }
      : {},
  );
  await firefox.waitFor(/WebDriver BiDi listening on ws:\/\/127\.0\.0\.1:\d+/, 30_000);
  const relay = host.run(process.execPath, [
    "-e",
    `const net = require("node:net");
     net.createServer((c) => { const u = net.connect(${port}, "127.0.0.1"); c.pipe(u).pipe(c); c.on("error", () => u.destroy()); u.on("error", () => c.destroy()); })
       .listen(${JSON.stringify(socket)}, () => console.log("relay ready"));`,
  ]);
  await relay.waitFor(/relay ready/);
  const browser = await puppeteer.connect({
    browserWSEndpoint: `ws://127.0.0.1:${port}/session`,
    protocol: "webDriverBiDi",
  });
  onCleanup(async () => {
    await browser.close().catch(() => {});
    await firefox.stop();
  });
  return browser;
}

/** Collects the page's console output, for failure messages. */
export function firefoxConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on("console", (message) => lines.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => lines.push(`pageerror: ${String(error)}`));
  return lines;
}

/** Polls `fn` in the page until it returns a truthy value. */
export async function waitInFirefox<T>(
  page: Page,
  fn: string,
  what: string,
  timeoutMs = 20_000,
  log: string[] = [],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = (await page.evaluate(fn)) as T;
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Firefox on `host` opens the test page at `pageUrl`, connects as `name`, consumes the producer called
 * `producer` and plays it: resolves with the stats of its first decoded frame and of 30 frames later.
 */
export async function playInFirefox<Stats extends { framesDecoded?: number }>(
  host: BedHost,
  pageUrl: string,
  name: string,
  producer = "dev",
): Promise<{ browser: Browser; page: Page; log: string[]; first: Stats; later: Stats }> {
  const browser = await launchFirefox(host);
  const page = await browser.newPage();
  const log = firefoxConsole(page);
  await page.goto(pageUrl);
  await page.evaluate(`t.connect(${JSON.stringify(name)})`);
  const id = await waitInFirefox<string>(
    page,
    `t.findProducer(${JSON.stringify(producer)})`,
    `producer ${producer} listed`,
    15_000,
    log,
  );
  await page.evaluate(`t.consume(${JSON.stringify(id)})`);
  const first = await waitInFirefox<Stats>(
    page,
    `t.inbound().then((s) => (s.videoWidth > 0 && s.framesDecoded > 0 ? s : null))`,
    "a decoded frame in Firefox",
    20_000,
    log,
  );
  const later = await waitInFirefox<Stats>(
    page,
    `t.inbound().then((s) => (s.framesDecoded > ${(first.framesDecoded ?? 0) + 30} ? s : null))`,
    "Firefox playing on",
    10_000,
    log,
  );
  return { browser, page, log, first, later };
}
