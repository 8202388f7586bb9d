/**
 * Recordings through the REST API, with a real sender: Chromium's app sends its camera, the device
 * records it, and an admin stops and starts that recording, lists it, downloads it whole and in byte
 * ranges (the file decodes), and deletes it — while links, directories and traversal in the record
 * directory lead nowhere.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ApiServe, openApp, pollUntil, startApiServe } from "../helpers/api.ts";
import { waitInPage } from "../helpers/browser.ts";
import { mediaFor } from "../helpers/device.ts";
import { decodesToTheEnd, discover } from "../helpers/media.ts";

interface Recording {
  name: string;
  bytes: number;
  active: boolean;
  contentType: string;
}

async function recordings(served: ApiServe): Promise<Recording[]> {
  const response = await served.call("/api/recordings");
  expect(response.status).toBe(200);
  return JSON.parse(response.body).recordings;
}

async function sender(served: ApiServe): Promise<{ sessionId: string; name: string; recording?: string }> {
  return pollUntil(async () => {
    const senders = JSON.parse((await served.call("/api/senders")).body).senders;
    const found = senders[0];
    return found?.video?.bytes > 0 ? found : undefined;
  }, "a sender sending video");
}

describe("recordings through the API", () => {
  it("stop, start, list, download (whole and ranges), play, delete — by name only", async () => {
    const served = await startApiServe(["--incoming-video", "record", "--incoming-audio", "discard"]);
    const recordDir = join(served.dataDir, "recordings");
    const { page, log } = await openApp(served);
    // Camera and microphone, as a user who talks to the device and shows their camera.
    await page.getByRole("button", { name: /Talk/ }).click();
    await page.getByRole("button", { name: /Camera/ }).click();

    // The device records the sender as it arrives; the API says so.
    const first = await sender(served);
    expect(first.recording).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-web-[a-z0-9]+\.webm$/);
    const during = await recordings(served);
    expect(during).toEqual([expect.objectContaining({ name: first.recording, active: true })]);
    // Not finished yet: neither downloadable nor deletable.
    expect((await served.call(`/api/recordings/${first.recording}`)).status).toBe(409);
    expect((await served.call(`/api/recordings/${first.recording}`, { method: "DELETE" })).status).toBe(409);
    await mediaFor(3000);

    // Stopped through the API: finalized before the answer.
    const stopped = await served.call(`/api/senders/${first.sessionId}/recording`, { method: "DELETE" });
    expect(stopped.status).toBe(200);
    const name = JSON.parse(stopped.body).recording as string;
    expect(name).toBe(first.recording);
    expect(
      (await served.call(`/api/senders/${first.sessionId}/recording`, { method: "DELETE" })).status,
    ).toBe(404);
    const [finished] = await recordings(served);
    expect(finished).toMatchObject({ name, active: false, contentType: "video/webm" });

    // Started again through the API: a second file, while the sender goes on.
    const started = await served.call(`/api/senders/${first.sessionId}/recording`, { method: "POST" });
    expect(started.status).toBe(201);
    const second = JSON.parse(started.body).recording as string;
    expect(second).not.toBe(name);
    expect((await served.call(`/api/senders/${first.sessionId}/recording`, { method: "POST" })).status).toBe(
      200,
    );
    await mediaFor(2000);
    expect(
      (await served.call(`/api/senders/${first.sessionId}/recording`, { method: "DELETE" })).status,
    ).toBe(200);

    // Downloaded whole: the file as on disk, named, and it plays to its end.
    const whole = await served.call(`/api/recordings/${encodeURIComponent(name)}`);
    expect(whole.status).toBe(200);
    expect(whole.headers["content-type"]).toBe("video/webm");
    expect(whole.headers["content-disposition"]).toBe(`attachment; filename="${name}"`);
    expect(whole.headers["accept-ranges"]).toBe("bytes");
    const size = (finished as Recording).bytes;
    expect(whole.raw.length).toBe(size);
    const copy = join(tmpdir(), `device-rtc-download-${process.pid}.webm`);
    writeFileSync(copy, whole.raw);
    const found = discover(copy);
    expect(found.video.join()).toContain("video/x-vp8");
    expect(found.audio.join()).toContain("audio/x-opus");
    expect(found.durationSeconds).toBeGreaterThan(2);
    decodesToTheEnd(copy);

    // Ranges, as a <video> seeking or a resumed download asks.
    const ranges: Array<[string, number, string | undefined, Buffer | undefined]> = [
      ["bytes=0-99", 206, `bytes 0-99/${size}`, whole.raw.subarray(0, 100)],
      ["bytes=-10", 206, `bytes ${size - 10}-${size - 1}/${size}`, whole.raw.subarray(size - 10)],
      [`bytes=${size - 5}-`, 206, `bytes ${size - 5}-${size - 1}/${size}`, whole.raw.subarray(size - 5)],
      [`bytes=${size}-`, 416, `bytes */${size}`, undefined],
      ["bytes=0-1,5-6", 200, undefined, whole.raw],
      ["lines=0-9", 200, undefined, whole.raw],
      ["bytes=9-0", 416, `bytes */${size}`, undefined],
    ];
    for (const [range, status, contentRange, bytes] of ranges) {
      const response = await served.call(`/api/recordings/${name}`, { headers: { range } });
      expect(response.status, range).toBe(status);
      expect(response.headers["content-range"], range).toBe(contentRange);
      if (bytes) expect(response.raw.equals(bytes), range).toBe(true);
    }
    const head = await served.call(`/api/recordings/${name}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(size));
    expect(head.raw.length).toBe(0);

    // The page plays it: a <video> on the same origin, with the session cookie.
    await page.evaluate(async (url) => {
      const video = document.createElement("video");
      video.id = "played";
      video.muted = true;
      video.src = url;
      document.body.append(video);
      await video.play();
    }, `/api/recordings/${name}`);
    const played = await waitInPage<{ width: number; time: number }>(
      page,
      `(() => { const v = document.getElementById("played"); return v.currentTime > 0.3 ? { width: v.videoWidth, time: v.currentTime } : null; })()`,
      "the recording playing past 0.3 s in the page",
      10_000,
      log,
    );
    await page.evaluate(() => document.getElementById("played")?.remove());
    expect(played.width).toBe(640);

    // What is not a recording of the list leads nowhere: a link, a directory, a file outside.
    writeFileSync(join(served.dataDir, "outside.webm"), "secret");
    symlinkSync("/etc/passwd", join(recordDir, "2026-01-01T00-00-00Z-link.webm"));
    symlinkSync(join(served.dataDir, "outside.webm"), join(recordDir, "2026-01-01T00-00-01Z-out.webm"));
    mkdirSync(join(recordDir, "2026-01-01T00-00-02Z-dir.webm"));
    writeFileSync(join(recordDir, "notes.txt"), "not a recording");
    const listed = (await recordings(served)).map((r) => r.name).sort();
    expect(listed).toEqual([name, second].sort());
    for (const path of [
      "2026-01-01T00-00-00Z-link.webm",
      "2026-01-01T00-00-01Z-out.webm",
      "2026-01-01T00-00-02Z-dir.webm",
      "notes.txt",
      "..%2Foutside.webm",
      "%2E%2E%2Foutside.webm",
      "..%5Coutside.webm",
      encodeURIComponent(join(served.dataDir, "outside.webm")),
    ]) {
      for (const method of ["GET", "DELETE"]) {
        const response = await served.call(`/api/recordings/${path}`, { method });
        expect([400, 404], `${method} ${path}`).toContain(response.status);
        expect(response.body).not.toMatch(/root:|secret/);
      }
    }
    expect(existsSync(join(served.dataDir, "outside.webm"))).toBe(true);

    // Deleted: gone from the list and the disk; a second delete is a 404.
    expect((await served.call(`/api/recordings/${name}`, { method: "DELETE" })).status).toBe(204);
    expect(existsSync(join(recordDir, name))).toBe(false);
    expect((await recordings(served)).map((r) => r.name)).toEqual([second]);
    expect((await served.call(`/api/recordings/${name}`, { method: "DELETE" })).status).toBe(404);
    expect((await served.call(`/api/recordings/${name}`)).status).toBe(404);
    expect(served.child.output()).toMatch(/recording deleted \(API\)/);
  });

  it("below --min-free-disk, starting a recording answers 507 with the reason, logged; the sender goes on", async () => {
    // A floor above any disk this runs on: no recording may start.
    const served = await startApiServe(["--incoming-video", "discard", "--min-free-disk", "1000T"]);
    const { page } = await openApp(served);
    await page.getByRole("button", { name: /Camera/ }).click();
    const { sessionId } = await sender(served);
    const refused = await served.call(`/api/senders/${sessionId}/recording`, { method: "POST" });
    expect(refused.status).toBe(507);
    expect(JSON.parse(refused.body).error).toMatch(
      /^not recording: [\d.]+ (GiB|MiB|bytes) free in the record directory, below --min-free-disk \(1024000 GiB\)$/,
    );
    expect(served.child.output()).toMatch(
      /"level":"warn".*"limit":"--min-free-disk".*"not recording this sender: free disk space is below --min-free-disk"/,
    );
    expect(await recordings(served)).toEqual([]);
    // Still a sender, still sending, not recorded.
    const bytes = async () => {
      const [now] = JSON.parse((await served.call("/api/senders")).body).senders;
      expect(now).toMatchObject({ sessionId });
      expect(now.recording).toBeUndefined();
      return now.video.bytes as number;
    };
    const before = await bytes();
    await pollUntil(async () => ((await bytes()) > before ? true : undefined), "the sender to go on sending");
  });
});
