/**
 * GStreamer's own webrtcbin as a real peer of the device, each on its own host of the LAN bed:
 * a webrtcsink-style sender (VP8 + Opus, max-bundle: the audio m-line is port 0 + a=bundle-only)
 * recorded by the device with both tracks, and a webrtcbin viewer decoding the device's video and
 * audio.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mediaFor, stage, startDevice, startTestDevice } from "../helpers/device.ts";
import { audioRms, discover } from "../helpers/media.ts";
import { bedAvailable } from "../helpers/netbed.ts";
import { startWebrtcbinPeer } from "../helpers/webrtcbin.ts";

describe.runIf(bedAvailable())("webrtcbin peers on the LAN bed", () => {
  it("a webrtcbin viewer decodes the device's 640x480 video and hears its tone", async () => {
    const s = await stage();
    await startTestDevice(s.signalling);
    const host = await s.bed?.host("gst-viewer");
    const viewer = await startWebrtcbinPeer(host, s.signalling, ["viewer", "--producer", "dev"]);
    const first = await viewer.waitReport((r) => (r.videoFrames ?? 0) > 0, "a decoded video frame", 30_000);
    const later = await viewer.waitReport(
      (r) => (r.videoFrames ?? 0) > (first.videoFrames ?? 0) + 30 && (r.audioBuffers ?? 0) > 20,
      "video and audio playing",
    );
    expect(later.videoSize).toEqual([640, 480]);
    expect(later.audioRms).toBeGreaterThan(0.01);
  });

  it.each([
    ["with SSRCs in its offer", []],
    ["with no SSRC in its offer (a plain webrtcbin app)", ["--no-ssrc"]],
  ])("a webrtcsink-style max-bundle sender %s is recorded with video AND audio", async (_what, extra) => {
    const s = await stage();
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-rec-"));
    const device = await startDevice(
      s.signalling,
      [
        "--name",
        "recorder",
        "--video",
        "none",
        "--audio",
        "none",
        "--consume",
        "gst-sender",
        "--incoming-video",
        "record",
        "--incoming-audio",
        "record",
        "--record-dir",
        dir,
      ],
      {},
      { ready: /registered as consumer/ },
    );
    const host = await s.bed?.host("gst-sender");
    const sender = await startWebrtcbinPeer(host, s.signalling, ["sender", "--name", "gst-sender", ...extra]);
    const { offer } = await sender.waitReport((r) => r.offer !== undefined, "the offer");
    // The shape this test is about: audio after video, port 0, bundle-only.
    expect(offer).toMatch(/m=audio 0 [^\r\n]*\r\n(?:[^\r\n]*\r\n)*?a=bundle-only/);
    await device.waitFor(/"msg":"recording"/, 20_000);
    await mediaFor(4000);
    await device.stop(10_000);
    const [file] = readdirSync(dir).filter((f) => /\.(webm|mkv)$/.test(f));
    if (!file) throw new Error(`no recording in ${dir}:\n${device.output()}`);
    const found = discover(join(dir, file));
    expect(found.video.join()).toMatch(/vp8/i);
    expect(found.audio.join()).toMatch(/opus/i);
    expect(audioRms(join(dir, file))).toBeGreaterThan(0.01);
  });
});
