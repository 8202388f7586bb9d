/** Starting a real `device-rtc device` process and a gstwebrtc-api page that consumes it. */
import type { BrowserContext, Page } from "playwright-core";
import { SignallingServer } from "../../src/signalling/SignallingServer.ts";
import { CHROMIUM_PATH, consoleOf, type LaunchOptions, launchBrowser, waitInPage } from "./browser.ts";
import { onCleanup } from "./cleanup.ts";
import { type BedHost, bedAvailable, bedOf, type HostOptions, NetBed } from "./netbed.ts";
import { CHROMIUM_BED_ARGS, inLoopbackOnlyNamespace } from "./netns.ts";
import { type Child, startCli } from "./processes.ts";
import { startServer } from "./signalling.ts";
import { GSTWEBRTC_API_BUNDLE, serveStatic } from "./static-server.ts";

const PAGE = new URL("../pages/gstwebrtc-client.html", import.meta.url).pathname;

/** Flags every test device gets: loopback-only ICE when the suite is not inside a namespace. */
export function loopbackFlags(): string[] {
  return inLoopbackOnlyNamespace() ? [] : ["--loopback-only"];
}

/**
 * Starts `device-rtc device` against `signalling` and waits until it has registered. When the
 * signalling server is on a test bed's LAN, the device runs on its own host of that LAN.
 */
export async function startDevice(
  signalling: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: HostOptions & { ready?: RegExp } = {},
): Promise<Child> {
  const bed = bedOf(signalling);
  const device = bed
    ? (await bed.host(`device${bed.hosts.length}`, options)).cli(
        ["device", "--server", signalling, ...args],
        env,
      )
    : startCli(["device", "--server", signalling, ...loopbackFlags(), ...args], env);
  await device.waitFor(options.ready ?? /registered as producer/, 30_000);
  return device;
}

/**
 * Chromium on its own host of the bed, with default ICE settings. `origins` are http:// origins on
 * the bed that may use the camera and microphone (a LAN address is not a secure context).
 * With `permissions: "ask"` no camera/microphone permission is given up front (as for a first-time
 * visitor: Chromium then hides its addresses behind mDNS names); call grantPermissions() later, as
 * a user clicking "Allow" would. The default grants every request (fake UI), which also makes
 * Chromium show its host addresses in candidates, as it does for a page that has the camera.
 */
export async function launchBrowserOn(
  host: BedHost,
  origins: string[] = [],
  options: LaunchOptions & { permissions?: "granted" | "ask" } = {},
): Promise<BrowserContext> {
  return launchBrowser({
    executablePath: host.wrapper(CHROMIUM_PATH),
    baseArgs:
      options.permissions === "ask"
        ? CHROMIUM_BED_ARGS.filter((flag) => flag !== "--use-fake-ui-for-media-stream")
        : CHROMIUM_BED_ARGS,
    ...options,
    args: [
      ...(origins.length ? [`--unsafely-treat-insecure-origin-as-secure=${origins.join(",")}`] : []),
      ...(options.args ?? []),
    ],
  });
}

/** A device called "dev" sending the test pattern and tone, plus `extra` flags (later flags win). */
export function startTestDevice(signalling: string, extra: string[] = []): Promise<Child> {
  return startDevice(signalling, ["--name", "dev", "--video", "test", "--audio", "test", ...extra]);
}

export interface Stage {
  signalling: string;
  server: SignallingServer;
  browser: BrowserContext;
  pageUrl: string;
  /** The LAN, when the test runs on the network test bed (see netbed.ts). */
  bed?: NetBed;
  /** The browser's host on the bed. */
  viewer?: BedHost;
  /** Opens a page connected to the signalling server as `name`. */
  openPage(name: string): Promise<{ page: Page; log: string[] }>;
}

export interface StageOptions {
  /** The browser's link (e.g. impaired through the link emulator). */
  viewer?: HostOptions;
  /** Extra query parameters for the test page (e.g. ice: a JSON list of RTCIceServer). */
  query?: Record<string, string>;
}

/**
 * A signalling server, a static server for the test page and a browser; all closed after the test.
 * On the network test bed (npm test, as root) the servers listen on the LAN's switch address and
 * the browser runs on its own host with default ICE settings; startDevice() then puts the device on
 * another host of the same LAN. Elsewhere everything is on 127.0.0.1.
 */
export async function stage(options: StageOptions = {}): Promise<Stage> {
  let signalling: string;
  let server: SignallingServer;
  let origin: string;
  let browser: BrowserContext;
  let bed: NetBed | undefined;
  let viewer: BedHost | undefined;
  const routes = {
    "/": { file: PAGE },
    "/gstwebrtc-api.js": { file: GSTWEBRTC_API_BUNDLE },
  };
  if (bedAvailable()) {
    bed = await NetBed.create();
    server = await SignallingServer.create({ host: bed.lanAddress, port: 0 });
    const stopServer = server;
    onCleanup(() => stopServer.close());
    signalling = `ws://${bed.lanAddress}:${server.address?.port}`;
    origin = await serveStatic(routes, bed.lanAddress);
    viewer = await bed.host("viewer", options.viewer);
    browser = await launchBrowserOn(viewer, [origin]);
  } else {
    ({ url: signalling, server } = await startServer());
    origin = await serveStatic(routes);
    browser = await launchBrowser();
  }
  const query = new URLSearchParams({ signalling, ...options.query });
  const pageUrl = `${origin}/?${query}`;
  return {
    signalling,
    server,
    browser,
    pageUrl,
    ...(bed ? { bed, viewer } : {}),
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
  /** Video: NACKs sent, packets that came back over RTX (RFC 4588), packets lost for good. */
  nackCount?: number;
  retransmittedPacketsReceived?: number;
  videoPacketsLost?: number;
  /** Video: Chrome's stalls (a frame later than 3 frame times, or 150 ms past the average) and their seconds. */
  freezeCount?: number;
  totalFreezesDuration?: number;
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

/** The id of the device's consumer (its passive receiver of pages' media), once the page lists it. */
export function deviceConsumer(page: Page, log: string[], deviceName = "dev"): Promise<string> {
  return waitInPage<string>(
    page,
    `t.findConsumer(${JSON.stringify(deviceName)})`,
    "the device's consumer",
    15_000,
    log,
  );
}

/**
 * The page sends its camera and microphone (`media`: the test page's produce() options) to the device's
 * consumer; resolves once bytes of both flow, with that time.
 */
export async function sendToDevice(
  page: Page,
  log: string[],
  deviceName = "dev",
  media: { audio?: true | { tone: number } } = {},
): Promise<number> {
  const consumerId = await deviceConsumer(page, log, deviceName);
  await page.evaluate(`t.produce(${JSON.stringify(consumerId)}, ${JSON.stringify(media)})`);
  await waitInPage(
    page,
    "t.outbound().then((o) => o.video > 0 && o.audio > 0)",
    "media flowing to the device",
    15_000,
    log,
  );
  return Date.now();
}

/**
 * A test device recording what it receives into `dir` (plus `extra` flags), and a page "phone" sending
 * its camera and microphone to it; `flowing` is when the bytes began to flow.
 */
export async function phoneToRecorder(
  dir: string,
  extra: string[] = [],
): Promise<{ device: Child; page: Page; log: string[]; flowing: number }> {
  const s = await stage();
  const device = await startTestDevice(s.signalling, [
    "--incoming-video",
    "record",
    "--record-dir",
    dir,
    ...extra,
  ]);
  const { page, log } = await s.openPage("phone");
  const flowing = await sendToDevice(page, log);
  return { device, page, log, flowing };
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
