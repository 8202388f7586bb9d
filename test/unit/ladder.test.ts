/** The ladder's rungs: the default under a configured encoding, and `--ladder` as typed. */
import { describe, expect, it } from "vitest";
import { defaultLadder, LadderError, parseLadder } from "../../src/media/ladder.ts";
import { HOSTILE_NAMES } from "../helpers/hostile.ts";

const TOP = { width: 640, height: 480, bitrateKbps: 1000 };

describe("the ladder", () => {
  it("by default: half size at a quarter of the bitrate, and a quarter-size floor at 150 kbit/s", () => {
    expect(defaultLadder(TOP)).toEqual([
      TOP,
      { width: 320, height: 240, bitrateKbps: 250 },
      { width: 160, height: 120, bitrateKbps: 150 },
    ]);
  });

  it("leaves out rungs that would not be cheaper than the one above (a 200 kbit/s stream is its own floor)", () => {
    expect(defaultLadder({ width: 640, height: 480, bitrateKbps: 200 })).toEqual([
      { width: 640, height: 480, bitrateKbps: 200 },
      { width: 320, height: 240, bitrateKbps: 150 },
    ]);
    expect(defaultLadder({ width: 640, height: 480, bitrateKbps: 150 })).toHaveLength(1);
  });

  it("--ladder auto, off, or the rungs under the top one", () => {
    expect(parseLadder("auto", TOP)).toEqual(defaultLadder(TOP));
    expect(parseLadder("off", TOP)).toEqual([TOP]);
    expect(parseLadder("480x360@500, 240x180@120", TOP)).toEqual([
      TOP,
      { width: 480, height: 360, bitrateKbps: 500 },
      { width: 240, height: 180, bitrateKbps: 120 },
    ]);
  });

  it.each([
    ["320x240", /is not WxH@KBPS/],
    ["320x241@200", /even size/],
    ["800x600@300", /smaller and cheaper/],
    ["640x360@300", /smaller and cheaper/],
    ["320x240@2000", /smaller and cheaper/],
    ["320x240@250,320x240@100", /smaller and cheaper/],
  ])("refuses %s, naming the rung", (spec, message) => {
    expect(() => parseLadder(spec, TOP)).toThrow(LadderError);
    expect(() => parseLadder(spec, TOP)).toThrow(message);
  });

  it.each(HOSTILE_NAMES)("refuses hostile input: %s", (_label, spec) => {
    expect(() => parseLadder(spec, TOP)).toThrow(LadderError);
  });
});
