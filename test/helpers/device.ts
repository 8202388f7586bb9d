/** Starting a real `device-rtc device` process and a gstwebrtc-api page that consumes it. */
import type { BrowserContext, Page } from "playwright-core";
import { consoleOf, launchBrowser, waitInPage } from "./browser.ts";
import { inLoopbackOnlyNamespace } from "./netns.ts";
import { type Child, startCli } from "./processes.ts";
import { startServer } from "./signalling.ts";
import { GSTWEBRTC_API_BUNDLE, serveStatic } from "./static-server.ts";

const PAGE = new URL("../pages/gstwebrtc-client.html", import.meta.url).pathname;

/** Flags every test device gets: loopback-only ICE when the suite is not inside a namespace. */
export function loopbackFlags(): string[] {
  return inLoopbackOnlyNamespace() ? [] : ["--loopback-only"];
}

/** Starts `device-rtc device` against `signalling` and waits until it has registered. */
export async function startDevice(
  signalling: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Child> {
  const device = startCli(["device", "--server", signalling, ...loopbackFlags(), ...args], env);
  await device.waitFor(/registered as producer/, 30_000);
  return device;
}

/** A device called "dev" sending the test pattern and tone, plus `extra` flags (later flags win). */
export function startTestDevice(signalling: string, extra: string[] = []): Promise<Child> {
  return startDevice(signalling, ["--name", "dev", "--video", "test", "--audio", "test", ...extra]);
}

export interface Stage {
  signalling: string;
  server: Awaited<ReturnType<typeof startServer>>["server"];
  browser: BrowserContext;
  pageUrl: string;
  /** Opens a page connected to the signalling server as `name`. */
  openPage(name: string): Promise<{ page: Page; log: string[] }>;
}

/** A signalling server, a static server for the test page and a browser; all closed after the test. */
export async function stage(): Promise<Stage> {
  const { url: signalling, server } = await startServer();
  const origin = await serveStatic({
    "/": { file: PAGE },
    "/gstwebrtc-api.js": { file: GSTWEBRTC_API_BUNDLE },
  });
  const browser = await launchBrowser();
  const pageUrl = `${origin}/?signalling=${encodeURIComponent(signalling)}`;
  return {
    signalling,
    server,
    browser,
    pageUrl,
    async openPage(name) {
      const page = await browser.newPage();
      const log = consoleOf(page);
      await page.goto(pageUrl);
      await page.evaluate(`t.connect(${JSON.stringify(name)})`);
      return { page, log };
    },
  };
}

export interface Inbound {
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  framesDecoded?: number;
  frameWidth?: number;
  audioBytes?: number;
  audioLevel?: number;
  totalAudioEnergy?: number;
  codec?: string;
}

/** Consumes the producer called `producerName` in `page`; resolves with the first stats showing a decoded frame. */
export async function consumeProducer(
  page: Page,
  producerName: string,
  log: string[],
  options: { offer?: boolean } = {},
): Promise<Inbound> {
  const id = await waitInPage<string>(
    page,
    `t.findProducer(${JSON.stringify(producerName)})`,
    `producer ${producerName} listed`,
    15_000,
    log,
  );
  await page.evaluate(`t.consume(${JSON.stringify(id)}, ${options.offer ? "true" : "false"})`);
  return waitInPage<Inbound>(
    page,
    `t.inbound().then((s) => (s.videoWidth > 0 && s.framesDecoded > 0 ? s : null))`,
    "a decoded frame",
    20_000,
    log,
  );
}

/**
 * Waits until the page plays on from `first` — more than 5 frames decoded since, time advancing, and
 * (unless `audio: false`) audio bytes and energy growing — and returns those stats.
 */
export async function playing(
  page: Page,
  first: Inbound,
  log: string[],
  options: { audio?: boolean } = {},
): Promise<Inbound> {
  const audio =
    options.audio === false
      ? ""
      : ` && s.audioBytes > ${first.audioBytes ?? 0} && s.totalAudioEnergy > ${first.totalAudioEnergy ?? 0}`;
  try {
    return await waitInPage<Inbound>(
      page,
      `t.inbound().then((s) => (s.framesDecoded > ${(first.framesDecoded ?? 0) + 5} && s.currentTime > ${first.currentTime}${audio} ? s : null))`,
      "the page to play on",
      15_000,
      log,
    );
  } catch (error) {
    const last = await page.evaluate("t.inbound()").catch(() => undefined);
    throw new Error(`${(error as Error).message}\nfrom ${JSON.stringify(first)}\nto ${JSON.stringify(last)}`);
  }
}

/**
 * Lets the scenario run for `ms`: a length of media to record, play or measure — never a wait for a
 * state, which is always a condition (a log line, a page state, a file's content).
 */
export function mediaFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
