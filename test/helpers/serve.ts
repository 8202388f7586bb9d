/**
 * `device-rtc serve` as a newcomer meets it: on the network test bed the device runs on its own LAN
 * host and the browser on another, opening the printed LAN address with Chromium's default ICE
 * settings and no camera/microphone permission yet (mDNS host candidates). Without the bed (not
 * root), both run on 127.0.0.1 as before.
 *
 * Extra flags, environment and HTTP headers can be passed through, so a credential can be added
 * once `serve` asks for one.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { spkiFingerprint } from "../../src/pki/certificates.ts";
import { consoleOf, launchBrowser } from "./browser.ts";
import { launchBrowserOn, loopbackFlags } from "./device.ts";
import { type BedHost, bedAvailable, NetBed } from "./netbed.ts";
import { type Child, startCli } from "./processes.ts";

export interface Served {
  child: Child;
  /** The address a user on the LAN opens (https://<device's LAN address>:<port>/). */
  url: string;
  /** The same without the path (https://host:port). */
  origin: string;
  /** serve's CA certificate (PEM): what a client trusts to reach it. */
  readonly ca: string;
  dataDir: string;
  port: number;
  bed?: NetBed;
  /** The device's host on the bed. */
  host?: BedHost;
}

export interface ServeOptions {
  env?: NodeJS.ProcessEnv;
  /** An existing bed (e.g. to restart `serve` on the same host). */
  bed?: NetBed;
  host?: BedHost;
  /**
   * On this machine's 127.0.0.1 even where the bed is available: for tests that reach `serve` from
   * this process (signalling clients, HTTPS requests) rather than from a browser on the LAN.
   */
  local?: boolean;
}

/** The device these tests serve: named "Porch", with GStreamer's test picture and tone. */
export const TEST_DEVICE_FLAGS = ["--name", "Porch", "--video", "test", "--audio", "test"];

/**
 * `device-rtc serve` of the test device (TEST_DEVICE_FLAGS) with `args`, in a fresh data directory and
 * on a random port unless given (the same ones restart it on its data); waits until the device registered.
 */
export function serveTestDevice(
  args: string[] = [],
  options: ServeOptions & { dataDir?: string; port?: number } = {},
): Promise<Served> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "device-rtc-data-"));
  const port = options.port ?? 23000 + Math.floor(Math.random() * 10000);
  return startServe(dataDir, port, [...TEST_DEVICE_FLAGS, ...args], options);
}

/** Starts `device-rtc serve --data-dir DIR --port PORT ARGS…` and waits until the device registered. */
export async function startServe(
  dataDir: string,
  port: number,
  args: string[],
  options: ServeOptions = {},
): Promise<Served> {
  const argv = ["serve", "--data-dir", dataDir, "--port", String(port), ...args];
  const scheme = args.includes("--no-tls") ? "http" : "https";
  const served = (child: Child, address: string, bed?: NetBed, host?: BedHost): Served => ({
    child,
    url: `${scheme}://${address}:${port}/`,
    origin: `${scheme}://${address}:${port}`,
    // Read when asked: serve made it before the device registered (none with --no-tls).
    get ca() {
      return readFileSync(join(dataDir, "pki", "ca.crt"), "utf8");
    },
    dataDir,
    port,
    ...(bed && host ? { bed, host } : {}),
  });
  if (bedAvailable() && !options.local) {
    const bed = options.bed ?? (await NetBed.create());
    const host = options.host ?? (await bed.host("device"));
    const child = host.cli(argv, options.env);
    await child.waitFor(/registered as producer/, 30_000);
    return served(child, host.address, bed, host);
  }
  const child = startCli([...argv, ...loopbackFlags()], options.env);
  await child.waitFor(/registered as producer/, 30_000);
  return served(child, "127.0.0.1");
}

export interface ServePageOptions {
  /** Appended to the served address (e.g. "?signalling=…"). */
  path?: string;
  /** Sent with every request of the page (e.g. a credential). */
  headers?: Record<string, string>;
  /** "ask" (default on the bed): no camera/microphone permission until grantMedia(). */
  permissions?: "granted" | "ask";
}

/**
 * Opens the served app in Chromium trusting exactly `serve`'s CA (by its public key): on its own
 * host of the bed when there is one.
 */
export async function openServePage(
  served: Served,
  options: ServePageOptions = {},
): Promise<{ page: Page; log: string[]; browser: BrowserContext; grantMedia: () => Promise<void> }> {
  const args = [`--ignore-certificate-errors-spki-list=${spkiFingerprint(served.ca)}`];
  const permissions = options.permissions ?? (served.bed ? "ask" : "granted");
  const browser = served.bed
    ? await launchBrowserOn(await served.bed.host("viewer"), [], { args, permissions })
    : await launchBrowser({ args });
  const page = await browser.newPage();
  if (options.headers) await page.setExtraHTTPHeaders(options.headers);
  const log = consoleOf(page);
  await page.goto(`${served.url}${options.path ?? ""}`.replace(/\/\?/, "/?"));
  return {
    page,
    log,
    browser,
    grantMedia: () =>
      browser.grantPermissions(["camera", "microphone"], { origin: new URL(served.url).origin }),
  };
}
