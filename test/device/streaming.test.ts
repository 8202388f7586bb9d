/**
 * The device streams to browsers: a real `device-rtc device` (werift + gst-launch-1.0) consumed by
 * Chromium pages running gstwebrtc-api 3.0.0, through our signalling server.
 */
import { describe, expect, it } from "vitest";
import { consumeProducer, type Inbound, stage, startDevice, statsAfter } from "../helpers/device.ts";

/** Frames keep coming, time advances and the audio is not silence. */
function expectPlaying(first: Inbound, later: Inbound, options: { audio?: boolean } = {}): void {
  expect(later.framesDecoded ?? 0).toBeGreaterThan((first.framesDecoded ?? 0) + 15);
  expect(later.currentTime).toBeGreaterThan(first.currentTime);
  if (options.audio !== false) {
    expect(later.audioBytes ?? 0).toBeGreaterThan(first.audioBytes ?? 0);
    expect(later.totalAudioEnergy ?? 0).toBeGreaterThan(first.totalAudioEnergy ?? 0);
  }
}

describe.each(["vp8", "h264"] as const)("%s", (codec) => {
  it("a gstwebrtc-api page decodes 640x480 video and hears the tone", async () => {
    const s = await stage();
    await startDevice(s.signalling, ["--name", "dev", "--video", "test", "--audio", "test", "--codec", codec]);
    const { page, log } = await s.openPage("viewer");
    const first = await consumeProducer(page, "dev", log);
    expect(first.codec?.toLowerCase()).toBe(`video/${codec}`);
    const later = await statsAfter(page, 2000);
    expect([later.videoWidth, later.videoHeight]).toEqual([640, 480]);
    expectPlaying(first, later);
  });
});
