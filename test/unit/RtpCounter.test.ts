/** RtpCounter: totals, frames from marker bits, keyframes, and rates over whole seconds (fake clock). */
import { describe, expect, it } from "vitest";
import { RATE_WINDOW_SECONDS, RtpCounter } from "../../src/media/RtpCounter.ts";

function rtp(size: number, options: { marker?: boolean; payload?: number[] } = {}): Buffer {
  const packet = Buffer.alloc(Math.max(size, 12 + (options.payload?.length ?? 0)));
  packet[0] = 0x80;
  packet[1] = (options.marker ? 0x80 : 0) | 96;
  if (options.payload) Buffer.from(options.payload).copy(packet, 12);
  return packet;
}

/** VP8 descriptor with S=1, PID 0 and a keyframe payload header (P bit 0); and an interframe (P bit 1). */
const VP8_KEY = [0x10, 0x10, 0x02, 0x00];
const VP8_DELTA = [0x10, 0x11, 0x02, 0x00];

describe("RtpCounter", () => {
  it("counts packets, bytes, frames (marker bits) and keyframes; ignores what is not RTP", () => {
    let now = 10_000;
    const counter = new RtpCounter("video", "vp8", () => now);
    counter.count(rtp(1000, { payload: VP8_KEY }));
    counter.count(rtp(500, { marker: true }));
    counter.count(rtp(800, { marker: true, payload: VP8_DELTA }));
    counter.count(Buffer.alloc(5));
    now += 1000;
    expect(counter.counts()).toMatchObject({ packets: 3, bytes: 2300, frames: 2, keyframes: 1 });
  });

  it("gives bit/s and frames/s over the last whole seconds, and forgets older ones", () => {
    let now = 0;
    const counter = new RtpCounter("video", undefined, () => now);
    for (let second = 0; second < 10; second++) {
      for (let frame = 0; frame < 30; frame++) {
        now = second * 1000 + frame * 33;
        counter.count(rtp(1250, { marker: true }));
      }
    }
    now = 10_000;
    // 30 packets of 1250 bytes a second: 300 kbit/s, 30 frames/s.
    expect(counter.counts()).toMatchObject({ bitrate: 300_000, fps: 30, frames: 300 });
    now = 10_000 + RATE_WINDOW_SECONDS * 1000 + 1;
    expect(counter.counts()).toMatchObject({ bitrate: 0, fps: 0, frames: 300 });
  });

  it("audio has no frames or keyframes", () => {
    const counter = new RtpCounter("audio");
    counter.count(rtp(100, { marker: true }));
    expect(counter.counts()).toMatchObject({ packets: 1, frames: 0, keyframes: 0 });
  });
});
