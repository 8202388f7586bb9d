/**
 * Recording limits with the real recorder (docs/SECURITY.md "The media side"): a recording that reaches
 * --max-recording-seconds is ended as a normal end is — the warning names the limit and the file, and
 * the file is finalized and plays, with the cap's duration — while the sender's session and the
 * device's viewers go on; and below --min-free-disk no recording starts, the session goes on. (The size
 * cap and a disk filling during a recording are the same path, driven by fake probes in
 * test/unit/RecordingLimits.test.ts.)
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { waitInPage } from "../helpers/browser.ts";
import { consumeProducer, mediaFor, phoneToRecorder, playing } from "../helpers/device.ts";
import { jsonLogLines } from "../helpers/logs.ts";
import { decodesToTheEnd, discover } from "../helpers/media.ts";

/** The page is still sending: its bytes to the device keep growing. */
async function stillSending(page: Page, log: string[]): Promise<void> {
  const before = (await page.evaluate("t.outbound()")) as { video: number; audio: number };
  await waitInPage(
    page,
    `t.outbound().then((o) => o.video > ${before.video} && o.audio > ${before.audio})`,
    "the sender to go on sending",
    15_000,
    log,
  );
}

/** The JSON log lines of `output` at warn level whose message matches `msg`. */
function warnings(output: string, msg: RegExp): Array<Record<string, unknown>> {
  return jsonLogLines(output).filter((line) => line.level === "warn" && msg.test(line.msg));
}

/** A device recording into a fresh directory with `limits`, and a page sending to it. */
async function recordWith(limits: string[]) {
  const dir = mkdtempSync(join(tmpdir(), "device-rtc-rec-limits-"));
  return { dir, ...(await phoneToRecorder(dir, limits)) };
}

describe("recording limits", () => {
  it("--max-recording-seconds 2: the recording ends finalized at 2 s, logged; the sender and viewers go on", async () => {
    const { dir, device, page, log } = await recordWith(["--max-recording-seconds", "2"]);
    await device.waitFor(/recording limit reached/, 15_000);
    await device.waitFor(/recording finished/, 10_000);

    // One warning, naming the limit and the file.
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const file = join(dir, files[0] as string);
    const [warning, ...more] = warnings(device.output(), /recording limit reached/);
    expect(more).toEqual([]);
    expect(warning).toMatchObject({ limit: "--max-recording-seconds", value: 2, recording: file });
    expect(String(warning?.msg)).toContain("--max-recording-seconds");

    // Finalized: the header has its duration, the cap's (less the wait for the first keyframe), and it
    // decodes to its end.
    const { durationSeconds, video, audio } = discover(file);
    expect(video.join()).toMatch(/video\/x-vp8/);
    expect(audio.join()).toMatch(/audio\/x-opus/);
    expect(durationSeconds, `recorded ${durationSeconds} s`).toBeGreaterThan(1.2);
    expect(durationSeconds, `recorded ${durationSeconds} s`).toBeLessThan(2.3);
    decodesToTheEnd(file);

    // The session goes on, unrecorded: still sending, not ended, no second file.
    await stillSending(page, log);
    expect(device.output()).not.toMatch(/consumer session ended/);
    // And the device still serves: the same page watches it.
    const first = await consumeProducer(page, "dev", log);
    await playing(page, first, log);
    await mediaFor(1000);
    expect(readdirSync(dir)).toEqual([basename(file)]);
    expect(device.output()).not.toMatch(/consumer session ended/);
  });

  it("--min-free-disk above the free space: no recording starts, logged; the sender goes on", async () => {
    // More than any disk this runs on.
    const { dir, device, page, log } = await recordWith(["--min-free-disk", "1000T"]);
    await device.waitFor(/not recording this sender/, 15_000);
    const [warning, ...more] = warnings(device.output(), /not recording this sender/);
    expect(more).toEqual([]);
    expect(warning).toMatchObject({
      limit: "--min-free-disk",
      minFreeBytes: 1000 * 1024 ** 4,
      directory: dir,
    });
    expect(warning?.freeBytes).toBeGreaterThan(0);
    expect(String(warning?.msg)).toContain("--min-free-disk");

    await stillSending(page, log);
    expect(readdirSync(dir)).toEqual([]);
    expect(device.output()).not.toMatch(/"msg":"recording"/);
    expect(device.output()).not.toMatch(/consumer session ended/);
  });
});
