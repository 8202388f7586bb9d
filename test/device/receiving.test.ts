/**
 * The device receives browsers: a Chromium page with gstwebrtc-api sends its fake camera and
 * microphone to the device's passive consumer (createProducerSessionForConsumer), and the device
 * records it, plays it on its speaker, or echoes it back with an overlay.
 */
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { waitInPage } from "../helpers/browser.ts";
import {
  consumeProducer,
  mediaFor,
  phoneToRecorder,
  playing,
  sendToDevice,
  stage,
  startDevice,
  startTestDevice,
} from "../helpers/device.ts";
import {
  audioRms,
  colourDistance,
  decodedSpanSeconds,
  decodesToTheEnd,
  discover,
  lastFrameRegion,
  wavRms,
  wavSeconds,
  wavToneLevel,
} from "../helpers/media.ts";
import { alive, descendants } from "../helpers/processes.ts";

/**
 * Regions of Chrome's fake camera (640x480) that hold still: its dark green background, in two places.
 * (The pie in the middle turns and the corner squares change colour.)
 */
const BACKGROUND = { x: 60, y: 300, w: 40, h: 40 };
const BACKGROUND_2 = { x: 520, y: 360, w: 40, h: 40 };
/** Where the echo's label is drawn (textoverlay's default 25 px padding, top left). */
const LABEL = { x: 30, y: 32, w: 40, h: 14 };

function directory(): string {
  return mkdtempSync(join(tmpdir(), "device-rtc-rec-"));
}

/** Polls `condition` until it holds, or fails naming `what`. */
async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function region(
  page: Page,
  which: "local" | "remote",
  r: { x: number; y: number; w: number; h: number },
): Promise<number[]> {
  return (await page.evaluate(`t.region(${r.x}, ${r.y}, ${r.w}, ${r.h}, "${which}")`)) as number[];
}

/** Waits until the (single) recording in `dir` holds data: the recorder has started writing. */
async function recordingStarted(dir: string): Promise<void> {
  await until(() => {
    const files = readdirSync(dir).filter((name) => /\.(webm|mkv)$/.test(name));
    return files.length === 1 && statSync(join(dir, files[0] as string)).size > 20_000;
  }, `a recording being written in ${dir}`);
}

function onlyFile(dir: string, extension: string): string {
  const files = readdirSync(dir).filter((name) => name.endsWith(extension));
  expect(files).toHaveLength(1);
  return join(dir, files[0] as string);
}

describe("record", () => {
  it("writes one WebM per session with video and audio, the right length, the camera's picture and sound", async () => {
    const dir = directory();
    const { device, page, flowing } = await phoneToRecorder(dir);
    await mediaFor(4000);
    const background = await region(page, "local", BACKGROUND);
    const background2 = await region(page, "local", BACKGROUND_2);
    // The page ends its session mid-way (ProducerSession.close: setPeerStatus without "producer").
    await page.evaluate("t.producer.close()");
    const sent = (Date.now() - flowing) / 1000;
    await device.waitFor(/recording finished/, 10_000);

    const file = onlyFile(dir, ".webm");
    expect(file).toMatch(/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-phone\.webm$/);
    const info = discover(file);
    expect(info.video.join()).toMatch(/video\/x-vp8/);
    expect(info.audio.join()).toMatch(/audio\/x-opus/);
    expect(
      Math.abs(info.durationSeconds - sent) / sent,
      `recorded ${info.durationSeconds} s of ${sent} s`,
    ).toBeLessThan(0.1);
    decodesToTheEnd(file);
    // The fake camera's green, not black, grey or the device's own test pattern.
    expect(background[1]).toBeGreaterThan(100);
    expect(colourDistance(lastFrameRegion(file, BACKGROUND), background)).toBeLessThan(30);
    expect(colourDistance(lastFrameRegion(file, BACKGROUND_2), background2)).toBeLessThan(30);
    expect(audioRms(file)).toBeGreaterThan(0.01);
  });

  it("still leaves a file that decodes to its end when the page disconnects", async () => {
    const dir = directory();
    const { device, page } = await phoneToRecorder(dir);
    await recordingStarted(dir);
    await mediaFor(2500);
    await page.close();
    await device.waitFor(/recording finished/, 10_000);
    const file = onlyFile(dir, ".webm");
    decodesToTheEnd(file);
    expect(discover(file).durationSeconds).toBeGreaterThan(1.5);
  });

  it("regression: a producer registration echoed twice (Talk, then Camera at once) gave one sender two sessions and two recordings", async () => {
    const dir = directory();
    const { device, page } = await phoneToRecorder(dir);
    await recordingStarted(dir);
    // What a page that closes one producer session and starts the next before the server's echo
    // arrives ends up doing: registering again, and gstwebrtc-api asks the device for a second session.
    await page.evaluate(
      `t.api._channel.send({ type: "setPeerStatus", roles: ["listener", "producer"], meta: t.api._channel.meta })`,
    );
    const first = onlyFile(dir, ".webm");
    const before = statSync(first).size;
    await mediaFor(3000);
    // One recording, still growing: the first session goes on; the second was ended at once.
    expect(onlyFile(dir, ".webm")).toBe(first);
    expect(statSync(first).size).toBeGreaterThan(before);
    expect(await page.evaluate("Object.keys(t.producer._clientSessions).length")).toBe(1);
    expect(device.output()).toMatch(/a second session from a sender already sending/);
    await page.evaluate("t.producer.close()");
    await device.waitFor(/recording finished/, 10_000);
    decodesToTheEnd(onlyFile(dir, ".webm"));
  });

  it("finalizes the recording on SIGTERM", async () => {
    const dir = directory();
    const { device } = await phoneToRecorder(dir);
    await recordingStarted(dir);
    await mediaFor(2500);
    device.signal("SIGTERM");
    expect(await device.exited()).toBe(0);
    const file = onlyFile(dir, ".webm");
    decodesToTheEnd(file);
    expect(discover(file).durationSeconds).toBeGreaterThan(1.5);
  });

  it("still leaves a playable file when the device is killed outright (SIGKILL)", async () => {
    const dir = directory();
    const { device } = await phoneToRecorder(dir);
    await recordingStarted(dir);
    await mediaFor(2000);
    const [recorder] = descendants(device.process.pid ?? 0).filter((p) => /webmmux/.test(p.command));
    if (!recorder) throw new Error("no recorder process");
    device.process.kill("SIGKILL");
    await device.exited();
    // The recorder is told by the kernel (parent-death signal), finishes the file and exits by itself.
    await until(() => !alive(recorder.pid), "the recorder to finish after the device died", 10_000);
    const file = onlyFile(dir, ".webm");
    decodesToTheEnd(file);
    // What a player gets: the media up to the kill. (The header's duration is usually finalized too,
    // but not always: see the closing note of issue 4.)
    expect(decodedSpanSeconds(file)).toBeGreaterThan(3);
  });

  it("records H.264 into Matroska: the right length, the camera's picture and sound", async () => {
    const dir = directory();
    const { device, page, flowing } = await phoneToRecorder(dir, ["--codec", "h264"]);
    await mediaFor(3000);
    const background = await region(page, "local", BACKGROUND);
    await page.evaluate("t.producer.close()");
    const sent = (Date.now() - flowing) / 1000;
    await device.waitFor(/recording finished/, 10_000);
    const file = onlyFile(dir, ".mkv");
    const info = discover(file);
    expect(info.video.join()).toMatch(/video\/x-h264/);
    expect(info.audio.join()).toMatch(/audio\/x-opus/);
    expect(
      Math.abs(info.durationSeconds - sent) / sent,
      `recorded ${info.durationSeconds} s of ${sent} s`,
    ).toBeLessThan(0.1);
    decodesToTheEnd(file);
    expect(background[1]).toBeGreaterThan(100);
    expect(colourDistance(lastFrameRegion(file, BACKGROUND), background)).toBeLessThan(30);
    expect(audioRms(file)).toBeGreaterThan(0.01);
  });
});

describe("speaker", () => {
  it("plays the browser's microphone: the speaker's WAV has energy", async () => {
    const dir = directory();
    const wav = join(dir, "speaker.wav");
    const s = await stage();
    const device = await startTestDevice(s.signalling, ["--speaker", `file:${wav}`]);
    const { page, log } = await s.openPage("phone");
    await sendToDevice(page, log, "dev");
    await until(() => existsSync(wav) && wavRms(wav) > 0.005, "the voice in the speaker's WAV");
    device.signal("SIGTERM");
    expect(await device.exited()).toBe(0);
    expect(existsSync(wav)).toBe(true);
    expect(wavRms(wav)).toBeGreaterThan(0.005);
  });

  it("is silent when nobody talks (the check above can fail)", async () => {
    const dir = directory();
    const wav = join(dir, "speaker.wav");
    const s = await stage();
    const device = await startTestDevice(s.signalling, ["--speaker", `file:${wav}`]);
    // The speaker plays (silence) for as long as the other test lets a browser talk.
    await until(() => existsSync(wav) && wavSeconds(wav) > 1.5, "1.5 s in the speaker's WAV");
    device.signal("SIGTERM");
    expect(await device.exited()).toBe(0);
    expect(wavRms(wav)).toBeLessThan(0.001);
  });
});

describe("echo", () => {
  it("sends the camera back with an overlay: the overlay region differs, the rest matches", async () => {
    const s = await stage();
    await startTestDevice(s.signalling, ["--incoming-video", "echo"]);
    const { page, log } = await s.openPage("phone");
    await sendToDevice(page, log, "dev");
    const senderId = (await page.evaluate("t.api._channel._channelId")) as string;
    const echo = await waitInPage<{ id: string; meta: { name: string; echoOf: string } }>(
      page,
      `t.producers.find((p) => p.meta.echoOf) ?? null`,
      "the echo producer",
      20_000,
      log,
    );
    expect(echo.meta).toEqual({ name: "dev echo phone", echoOf: senderId });
    const first = await consumeProducer(page, "dev echo phone", log);
    await playing(page, first, log, { audio: false });
    // Outside the overlay the echo is the camera's picture; under it (the shaded band at the top), not.
    expect(
      colourDistance(await region(page, "remote", BACKGROUND), await region(page, "local", BACKGROUND)),
    ).toBeLessThan(30);
    expect(
      colourDistance(await region(page, "remote", BACKGROUND_2), await region(page, "local", BACKGROUND_2)),
    ).toBeLessThan(30);
    expect(
      colourDistance(await region(page, "remote", LABEL), await region(page, "local", LABEL)),
    ).toBeGreaterThan(60);

    // The echo goes when its sender stops.
    await page.evaluate("t.producer.close()");
    await waitInPage(
      page,
      `t.producers.every((p) => !p.meta.echoOf)`,
      "the echo producer to go",
      10_000,
      log,
    );
  });
});

describe("--consume NAME", () => {
  it("consumes another device's producer of that name and records it", async () => {
    const dir = directory();
    const s = await stage();
    await startDevice(s.signalling, ["--name", "camera-a", "--video", "test", "--audio", "test"]);
    const recorder = await startDevice(s.signalling, [
      "--name",
      "recorder-b",
      "--video",
      "none",
      "--audio",
      "none",
      "--consume",
      "camera-a",
      "--incoming-video",
      "record",
      "--record-dir",
      dir,
    ]);
    await recorder.waitFor(/receiving from sender/, 15_000);
    await recordingStarted(dir);
    await mediaFor(2500);
    recorder.signal("SIGTERM");
    expect(await recorder.exited()).toBe(0);
    const file = onlyFile(dir, ".webm");
    expect(file).toMatch(/-camera-a\.webm$/);
    const info = discover(file);
    expect(info.video.join()).toMatch(/video\/x-vp8/);
    expect(info.audio.join()).toMatch(/audio\/x-opus/);
    expect(info.durationSeconds).toBeGreaterThan(2);
    decodesToTheEnd(file);
  });
});

describe("several senders at once", () => {
  it("two browsers send together: both are heard and both are recorded", async () => {
    const dir = directory();
    const wav = join(dir, "speaker.wav");
    const s = await stage();
    const device = await startTestDevice(s.signalling, [
      "--incoming-video",
      "record",
      "--record-dir",
      dir,
      "--speaker",
      `file:${wav}`,
    ]);
    // Each talks in its own tone, so the speaker's mix tells whether both are heard.
    const talkers = [
      { name: "alice", hz: 440 },
      { name: "bob", hz: 1000 },
    ];
    const senders = await Promise.all(talkers.map(({ name }) => s.openPage(name)));
    await Promise.all(
      senders.map(({ page, log }, i) =>
        sendToDevice(page, log, "dev", { audio: { tone: talkers[i]?.hz ?? 0 } }),
      ),
    );
    const heard = (hz: number) => existsSync(wav) && wavToneLevel(wav, hz) > 0.02;
    await until(() => talkers.every(({ hz }) => heard(hz)), "both tones in the speaker's WAV");
    const recording = (name: string) => name.endsWith(".webm") && statSync(join(dir, name)).size > 20_000;
    await until(() => readdirSync(dir).filter(recording).length === 2, "both recordings being written");
    device.signal("SIGTERM");
    expect(await device.exited()).toBe(0);
    const files = readdirSync(dir).filter((name) => name.endsWith(".webm"));
    // Sorted by sender, not by start time: the two start together, maybe a second apart either way.
    expect(files.map((name) => name.replace(/^.*Z-/, "")).sort()).toEqual(["alice.webm", "bob.webm"]);
    for (const file of files) decodesToTheEnd(join(dir, file));
    // Both tones, each well above what the mix holds at a frequency nobody sent.
    const floor = wavToneLevel(wav, 3000);
    for (const { hz } of talkers)
      expect(wavToneLevel(wav, hz), `${hz} Hz`).toBeGreaterThan(Math.max(0.02, 10 * floor));
  });

  it("--max-talkers 1: a second talker is not played, and the device says so", async () => {
    const dir = directory();
    const wav = join(dir, "speaker.wav");
    const s = await stage();
    const device = await startTestDevice(s.signalling, ["--max-talkers", "1", "--speaker", `file:${wav}`]);
    const alice = await s.openPage("alice");
    await sendToDevice(alice.page, alice.log, "dev", { audio: { tone: 440 } });
    await until(() => existsSync(wav) && wavToneLevel(wav, 440) > 0.02, "alice's tone in the speaker's WAV");
    // Bob talks while alice holds the only slot.
    const bob = await s.openPage("bob");
    await sendToDevice(bob.page, bob.log, "dev", { audio: { tone: 1000 } });
    await device.waitFor(
      /every speaker slot is taken \(--max-talkers 1\): this sender is not played/,
      10_000,
    );
    const line = device
      .output()
      .split("\n")
      .find((text) => text.includes("every speaker slot is taken"));
    expect(JSON.parse(line as string)).toMatchObject({ level: "warn", senderName: "bob" });
    // Three more seconds of the mix, all of them while bob sends.
    const from = wavSeconds(wav);
    await until(() => wavSeconds(wav) > from + 3, "3 s more in the speaker's WAV");
    device.signal("SIGTERM");
    expect(await device.exited()).toBe(0);
    const heard = wavToneLevel(wav, 440);
    expect(heard).toBeGreaterThan(0.02);
    expect(wavToneLevel(wav, 1000)).toBeLessThan(heard / 10);
  });
});
