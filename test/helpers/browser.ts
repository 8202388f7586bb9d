/**
 * Debian's Chromium (/usr/bin/chromium) driven by playwright-core, with fake camera and microphone.
 * Playwright adds --headless, --no-sandbox and --mute-audio itself; audio is still received and decoded.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { onCleanup } from "./cleanup.ts";
import { CHROMIUM_WEBRTC_ARGS } from "./netns.ts";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface LaunchOptions {
  /** Extra Chromium flags (e.g. certificate pinning). */
  args?: string[];
  ignoreHTTPSErrors?: boolean;
  /** The Chromium to run (e.g. a wrapper that enters a network namespace of the test bed). */
  executablePath?: string;
  /** Flags instead of CHROMIUM_WEBRTC_ARGS (e.g. CHROMIUM_BED_ARGS: default ICE settings). */
  baseArgs?: string[];
}

/** Launches Chromium with a fresh profile; closed (and the profile removed) after the test. */
export async function launchBrowser(options: LaunchOptions = {}): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), "device-rtc-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: options.executablePath ?? CHROMIUM_PATH,
    headless: true,
    args: [...(options.baseArgs ?? CHROMIUM_WEBRTC_ARGS), ...(options.args ?? [])],
    ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
  });
  onCleanup(async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

/** Collects the page's console output, for failure messages. */
export function consoleOf(page: Page): string[] {
  const lines: string[] = [];
  page.on("console", (message) => lines.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => lines.push(`pageerror: ${error.message}`));
  return lines;
}

/** Polls `fn` in the page until it returns a truthy value; fails with the page's console on timeout. */
export async function waitInPage<T>(
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
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
