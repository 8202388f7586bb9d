/**
 * GStreamer's own webrtcbin as a real peer of the device, each on its own host of the LAN bed:
 * a webrtcsink-style sender (VP8 + Opus, max-bundle: the audio m-line is port 0 + a=bundle-only)
 * recorded by the device with both tracks, and a webrtcbin viewer decoding the device's video and
 * audio.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { onCleanup } from "../helpers/cleanup.ts";
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

  /** A device that consumes `gst-sender` and records it into a new directory. */
  async function recordingDevice(signalling: string) {
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-rec-"));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const device = await startDevice(
      signalling,
      [
        ...["--name", "recorder", "--video", "none", "--audio", "none", "--consume", "gst-sender"],
        ...["--incoming-video", "record", "--incoming-audio", "record", "--record-dir", dir],
      ],
      {},
      { ready: /registered as consumer/ },
    );
    return { dir, device };
  }

  it("regression: a negotiated path that never gets a packet is reported, not silent (a sender whose audio never arrives)", async () => {
    const s = await stage();
    const { device } = await recordingDevice(s.signalling);
    const host = await s.bed?.host("gst-sender");
    const sender = await startWebrtcbinPeer(host, s.signalling, [
      ...["sender", "--name", "gst-sender", "--no-audio-packets"],
    ]);
    await sender.waitReport((r) => r.offer !== undefined, "the offer");
    const [line] = await device.waitFor(/\{[^\n]*no audio packets from the sender[^\n]*/, 30_000);
    expect(line).toMatch(/"level":"?(40|warn)/);
    // The video that does arrive is not reported.
    expect(device.output()).not.toMatch(/no video packets from the sender/);
  });

  it("regression: keyframe requests are repeated until the recording has its keyframe (a sender whose first three keyframes are lost)", async () => {
    const s = await stage();
    const { dir, device } = await recordingDevice(s.signalling);
    const host = await s.bed?.host("gst-sender");
    const sender = await startWebrtcbinPeer(host, s.signalling, [
      // The first keyframe, then the answers to the two requests the device used to send (at the first
      // packet, and when the recorder was ready): before the fix, the recording had no video at all.
      ...["sender", "--name", "gst-sender", "--drop-keyframes", "3"],
    ]);
    await sender.waitReport((r) => r.droppedKeyframes === 3, "three keyframes lost", 30_000);
    await sender.waitReport((r) => r.keyframeSent === true, "a keyframe sent", 30_000);
    await mediaFor(3000);
    await device.stop(10_000);
    const [file] = readdirSync(dir).filter((f) => /\.(webm|mkv)$/.test(f));
    if (!file) throw new Error(`no recording in ${dir}:\n${device.output()}`);
    // The recorder's depayloader took the keyframe: the file's video stream has the sender's 320x240
    // picture size (with no keyframe, the depayloader never learns it). The device stopped asking
    // once it had it: the sender's later keyframes would have been reported.
    expect(discover(join(dir, file)).video.join()).toMatch(/vp8.*width=\(int\)320, height=\(int\)240/i);
    expect(device.output()).not.toMatch(/sent no usable keyframe/);
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
