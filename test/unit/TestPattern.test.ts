/**
 * The test pattern's burnt-in clock, read back from the drawn frame the way the latency benchmark's
 * page reads it from a decoded one: block centres, white is 1.
 */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/common/logger.ts";
import { clockBits, clockBlockLayout, TestPattern } from "../../src/media/TestPattern.ts";

function readClock(frame: Buffer, width: number): { timeMs: number; checkOk: boolean } {
  const { block, x, y, columns, rows } = clockBlockLayout(width);
  const bits: number[] = [];
  for (let i = 0; i < columns * rows; i++) {
    const cx = x + (i % columns) * block + Math.floor(block / 2);
    const cy = y + Math.floor(i / columns) * block + Math.floor(block / 2);
    bits.push((frame[cy * width + cx] ?? 0) > 128 ? 1 : 0);
  }
  const bytes = Array.from({ length: 6 }, (_, b) =>
    bits.slice(b * 8, b * 8 + 8).reduce((v, bit) => v * 2 + bit, 0),
  );
  const time = bytes.slice(0, 5).reduce((v, byte) => v * 256 + byte, 0);
  const check = (bytes.slice(0, 5).reduce((a, c) => a + c, 0) & 0xff) ^ 0xa5;
  return { timeMs: time, checkOk: check === bytes[5] };
}

describe("TestPattern", () => {
  it.each([
    [640, 480],
    [320, 240],
    [1280, 720],
  ])(
    "%dx%d: the time drawn is the time read back, with a valid check byte (regression: 1280x720, an odd block, crashed the test source)",
    (width, height) => {
      const pattern = new TestPattern({ width, height, framerate: 30, logger: silentLogger });
      for (const [time, frameNumber] of [
        [1_764_000_000_123, 0],
        [1_764_000_000_456, 37],
        [2 ** 40 - 1, 1000],
      ] as const) {
        const frame = pattern.draw(time, frameNumber);
        expect(frame.length).toBe((width * height * 3) / 2);
        expect(readClock(frame, width)).toEqual({ timeMs: time % 2 ** 40, checkOk: true });
      }
    },
  );

  it("48 bits: 40 of milliseconds (modulo 2^40) and a check byte", () => {
    expect(clockBits(0)).toHaveLength(48);
    expect(clockBits(2 ** 40 + 5)).toEqual(clockBits(5));
    expect(clockBits(1).slice(40)).not.toEqual(clockBits(2).slice(40));
  });

  it("refuses an odd size (I420 needs even dimensions)", () => {
    expect(() => new TestPattern({ width: 641, height: 480, framerate: 30, logger: silentLogger })).toThrow(
      /even/,
    );
  });
});
