/**
 * The device streams to browsers: a real `device-rtc device` (werift + gst-launch-1.0) consumed by
 * Chromium pages running gstwebrtc-api 3.0.0, through our signalling server.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { consoleOf, launchBrowser, waitInPage } from "../helpers/browser.ts";
import {
  consumeProducer,
  type Inbound,
  playing,
  stage,
  startDevice,
  startTestDevice,
} from "../helpers/device.ts";
import { alive, descendants, processGroup, startCli } from "../helpers/processes.ts";
import { GSTWEBRTC_API_BUNDLE, serveStatic } from "../helpers/static-server.ts";

const PAGE = new URL("../pages/gstwebrtc-client.html", import.meta.url).pathname;

/** The video encoder's restart (not the audio encoder's, which logs the same message). */
const VIDEO_RESTARTED = /"stream":"video"[^\n]*"msg":"encoder restarted; stream continues"/;

/** Frames keep coming, time advances and the audio is not silence. */
function expectPlaying(first: Inbound, later: Inbound, options: { audio?: boolean } = {}): void {
  expect(later.framesDecoded ?? 0).toBeGreaterThan((first.framesDecoded ?? 0) + 5);
  expect(later.currentTime).toBeGreaterThan(first.currentTime);
  if (options.audio !== false) {
    expect(later.audioBytes ?? 0).toBeGreaterThan(first.audioBytes ?? 0);
    expect(later.totalAudioEnergy ?? 0).toBeGreaterThan(first.totalAudioEnergy ?? 0);
  }
}

describe.each(["vp8", "h264"] as const)("%s", (codec) => {
  it("a gstwebrtc-api page decodes 640x480 video and hears the tone", async () => {
    const s = await stage();
    await startTestDevice(s.signalling, ["--codec", codec]);
    const { page, log } = await s.openPage("viewer");
    const first = await consumeProducer(page, "dev", log);
    expect(first.codec?.toLowerCase()).toBe(`video/${codec}`);
    const later = await playing(page, first, log);
    expect([later.videoWidth, later.videoHeight]).toEqual([640, 480]);
    expectPlaying(first, later);
  });
});

describe("sources", () => {
  const media = mkdtempSync(join(tmpdir(), "device-rtc-media-"));

  it("file: a clip made with GStreamer plays, video and audio, and loops", async () => {
    const clip = join(media, "clip.mkv");
    // 2 s of a moving ball with a tone, VP8 + Opus in Matroska.
    execFileSync("gst-launch-1.0", [
      "-q",
      "matroskamux",
      "name=mux",
      "!",
      "filesink",
      `location=${clip}`,
      "videotestsrc",
      "num-buffers=60",
      "pattern=ball",
      "!",
      "video/x-raw,width=320,height=240,framerate=30/1",
      "!",
      "vp8enc",
      "!",
      "mux.",
      "audiotestsrc",
      "num-buffers=94",
      "samplesperbuffer=1024",
      "freq=660",
      "!",
      "audio/x-raw,rate=48000,channels=2",
      "!",
      "opusenc",
      "!",
      "mux.",
    ]);
    const s = await stage();
    const device = await startDevice(s.signalling, [
      "--name",
      "dev",
      "--video",
      `file:${clip}`,
      "--audio",
      `file:${clip}`,
    ]);
    const { page, log } = await s.openPage("viewer");
    await consumeProducer(page, "dev", log);
    // The 2 s clip ends and the video encoder starts again (the audio one does too: its own line)…
    await device.waitFor(VIDEO_RESTARTED, 15_000);
    // …and the viewer keeps playing across the loop, in the same session.
    const atLoop = (await page.evaluate("t.inbound()")) as Inbound;
    const later = await playing(page, atLoop, log);
    expect([later.videoWidth, later.videoHeight]).toEqual([640, 480]);
    expectPlaying(atLoop, later);
  });

  it("image: a still picture is sent as live video (a red PNG arrives red)", async () => {
    const png = join(media, "red.png");
    execFileSync("gst-launch-1.0", [
      "-q",
      "videotestsrc",
      "num-buffers=1",
      "pattern=red",
      "!",
      "video/x-raw,width=320,height=240",
      "!",
      "pngenc",
      "!",
      "filesink",
      `location=${png}`,
    ]);
    const s = await stage();
    await startDevice(s.signalling, ["--name", "dev", "--video", `image:${png}`, "--audio", "none"]);
    const { page, log } = await s.openPage("viewer");
    const first = await consumeProducer(page, "dev", log);
    const later = await playing(page, first, log, { audio: false });
    expectPlaying(first, later, { audio: false });
    const [r, g, b] = (await page.evaluate("t.pixel(320, 240)")) as number[];
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(60);
    expect(b).toBeLessThan(60);
  });

  it("tts: espeak's speech is heard", async () => {
    const s = await stage();
    await startDevice(s.signalling, [
      "--name",
      "dev",
      "--video",
      "test",
      "--audio",
      "tts:Hello from the device",
    ]);
    const { page, log } = await s.openPage("viewer");
    const first = await consumeProducer(page, "dev", log);
    const later = await playing(page, first, log);
    expectPlaying(first, later);
  });
});

describe("bad sources", () => {
  it.each([
    ["camera:/dev/video99", ["--video", "camera:/dev/video99"], /camera \/dev\/video99 does not exist/],
    ["file:/missing", ["--video", "file:/missing"], /\/missing does not exist/],
    [
      "an undecodable file",
      ["--video", `file:${new URL(import.meta.url).pathname}`],
      /video source file:.*streaming\.test\.ts/,
    ],
    ["an unknown source", ["--audio", "radio"], /unknown audio source "radio"/],
  ])("%s: a clear error naming it, exit 1", async (_what, args, message) => {
    const device = startCli(["device", "--server", "ws://127.0.0.1:9", ...args]);
    expect(await device.exited()).toBe(1);
    expect(device.output()).toMatch(message);
    // Nothing it started is left: its process group (gst-launch-1.0 children stay in it) is empty.
    // (Its descendants cannot be listed any more: an orphan is reparented.)
    expect(processGroup(device.process.pid ?? 0)).toEqual([]);
  });

  it("with --fallback test, a warning and the test source", async () => {
    const s = await stage();
    const device = await startDevice(s.signalling, [
      "--name",
      "dev",
      "--video",
      "camera:/dev/video99",
      "--audio",
      "test",
      "--fallback",
      "test",
    ]);
    expect(device.output()).toMatch(/video source failed; using the test source/);
    const { page, log } = await s.openPage("viewer");
    await consumeProducer(page, "dev", log);
  });
});

describe("one encode, shared", () => {
  it("three viewers at once: one video encoder process, and all three decode", async () => {
    const s = await stage();
    const device = await startTestDevice(s.signalling);
    const viewers = await Promise.all(["a", "b", "c"].map((name) => s.openPage(name)));
    const firsts = await Promise.all(viewers.map(({ page, log }) => consumeProducer(page, "dev", log)));
    const encoders = descendants(device.process.pid ?? 0).filter((p) =>
      /gst-launch-1\.0.*vp8enc/.test(p.command),
    );
    expect(encoders).toHaveLength(1);
    for (const [i, { page, log }] of viewers.entries()) {
      const first = firsts[i] as Inbound;
      expectPlaying(first, await playing(page, first, log));
    }
    expect(s.server.stats.sessions).toBe(3);
  });

  it("answers a viewer that offers (createConsumerSessionWithOfferOptions)", async () => {
    const s = await stage();
    await startTestDevice(s.signalling);
    const { page, log } = await s.openPage("viewer");
    const first = await consumeProducer(page, "dev", log, { offer: true });
    expectPlaying(first, await playing(page, first, log));
  });
});

describe("supervision", () => {
  // How fast: `npm run bench:recovery` (encoder).
  it("after the encoder process is killed, a new one takes over and frames resume in the same session", async () => {
    const s = await stage();
    const device = await startTestDevice(s.signalling);
    const { page, log } = await s.openPage("viewer");
    await consumeProducer(page, "dev", log);
    const [encoder] = descendants(device.process.pid ?? 0).filter((p) => /vp8enc/.test(p.command));
    if (!encoder) throw new Error("no encoder process");
    const before = (await page.evaluate("t.inbound()")) as Inbound;
    process.kill(encoder.pid, "SIGKILL");
    await device.waitFor(VIDEO_RESTARTED, 15_000);
    await waitInPage(
      page,
      `t.inbound().then((s) => s.framesDecoded > ${(before.framesDecoded ?? 0) + 30})`,
      "frames after the restart",
      15_000,
      log,
    );
    expect(await page.evaluate("t.closed")).toBe(0);
    const [replacement] = descendants(device.process.pid ?? 0).filter((p) => /vp8enc/.test(p.command));
    expect(replacement?.pid).not.toBe(encoder.pid);
  });

  // How fast: `npm run bench:recovery` (sigterm).
  it("SIGTERM: viewers get endSession, every child stops, exit 0", async () => {
    const s = await stage();
    const device = await startTestDevice(s.signalling);
    const { page, log } = await s.openPage("viewer");
    await consumeProducer(page, "dev", log);
    const children = descendants(device.process.pid ?? 0);
    // Video and audio encoders, and the speaker.
    expect(children.filter((p) => /gst-launch/.test(p.command))).toHaveLength(3);
    device.signal("SIGTERM");
    expect(await device.exited()).toBe(0);
    await waitInPage(page, "t.closed > 0", "the viewer's session to end", 2000, log);
    for (const child of children) expect(alive(child.pid)).toBe(false);
  });

  it("reconnects with backoff when the signalling server restarts, and registers again", async () => {
    const port = 22000 + Math.floor(Math.random() * 20000);
    const serverArgs = ["signalling", "--host", "127.0.0.1", "--port", String(port)];
    let server = startCli(serverArgs);
    await server.waitFor(/listening on/);
    const device = await startDevice(`ws://127.0.0.1:${port}`, [
      "--name",
      "dev",
      "--video",
      "test",
      "--audio",
      "test",
    ]);
    await server.stop();
    await device.waitFor(/lost the signalling server/, 5000);
    server = startCli(serverArgs);
    await server.waitFor(/listening on/);
    await device.waitFor(/reconnected to the signalling server[\s\S]*registered as producer/, 15_000);
    // A viewer can watch again.
    const origin = await serveStatic({
      "/": { file: PAGE },
      "/gstwebrtc-api.js": { file: GSTWEBRTC_API_BUNDLE },
    });
    const browser = await launchBrowser();
    const page = await browser.newPage();
    const log = consoleOf(page);
    await page.goto(`${origin}/?signalling=${encodeURIComponent(`ws://127.0.0.1:${port}`)}`);
    await page.evaluate(`t.connect("viewer")`);
    await consumeProducer(page, "dev", log);
  });
});
