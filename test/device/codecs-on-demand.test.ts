/**
 * A codec's ladder is encoded only while a viewer uses it (src/media/OutgoingStream.ts `use`): a real
 * test-pattern encoder that prefers VP8 starts H.264 for its first H.264 viewer, keeps VP8 flowing
 * through the restart, shares the H.264 encoding with the next viewer, and drops it 5 s after the last
 * one left; the last codec encoded stays. A codec it cannot encode is refused.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.ts";
import { CODEC_IDLE_MS } from "../../src/media/constants.ts";
import { MediaStartError, OutgoingStream } from "../../src/media/OutgoingStream.ts";
import { type VideoSettings, videoPipeline } from "../../src/media/pipelines.ts";
import { TestPattern } from "../../src/media/TestPattern.ts";
import { onCleanup } from "../helpers/cleanup.ts";
import { eventually } from "../helpers/signalling.ts";

const SETTINGS: VideoSettings = {
  codec: "vp8",
  width: 320,
  height: 240,
  framerate: 15,
  bitrateKbps: 300,
  keyframeIntervalSeconds: 2,
};

describe("codecs on demand", () => {
  it("H.264 is encoded while a viewer uses it, beside VP8 from the same capture, and dropped after", async () => {
    const lines: string[] = [];
    const logger = createLogger("test", {
      level: "info",
      destination: { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream,
    });
    const stream = await OutgoingStream.create({
      kind: "video",
      codec: "vp8",
      otherCodecs: ["h264"],
      logger,
      feeder: new TestPattern({ width: 320, height: 240, framerate: 15, logger }),
      pipeline: (targets) => videoPipeline({ kind: "test" }, SETTINGS, targets),
    });
    onCleanup(() => stream.close());
    expect(stream.codecs).toEqual(["vp8", "h264"]);
    expect(stream.status().map((s) => s.codec)).toEqual(["vp8"]);
    // A VP8 viewer: its codec is encoded already (no restart).
    const vp8Viewer = await stream.use("vp8");
    const vp8 = vp8Viewer.layers[0];
    if (!vp8) throw new Error("no VP8 layer");
    expect(stream.process.restarts).toBe(0);
    let vp8Packets = 0;
    vp8.subscribe({ write: () => vp8Packets++ });

    const first = await stream.use("h264");
    expect(first.layers.map((layer) => layer.codec)).toEqual(["h264"]);
    expect(stream.status().map((s) => s.codec)).toEqual(["vp8", "h264"]);
    let h264Packets = 0;
    first.layers[0]?.subscribe({ write: () => h264Packets++ });
    const vp8Before = vp8Packets;
    await eventually(() => h264Packets > 20 && vp8Packets > vp8Before + 20, "both codecs flowing", 10_000);
    const restarts = stream.process.restarts;

    // A second H.264 viewer shares the encoding: no restart.
    const second = await stream.use("h264");
    expect(second.layers).toBe(first.layers);
    expect(stream.process.restarts).toBe(restarts);

    // Both leave: H.264 is dropped (the process restarts without it), VP8 goes on.
    first.release();
    first.release(); // idempotent: the second viewer still counts
    await new Promise((resolve) => setTimeout(resolve, CODEC_IDLE_MS + 500));
    expect(stream.status().map((s) => s.codec)).toEqual(["vp8", "h264"]);
    second.release();
    await eventually(() => stream.status().length === 1, "H.264 dropped", CODEC_IDLE_MS + 10_000);
    expect(stream.status().map((s) => s.codec)).toEqual(["vp8"]);
    expect(lines.join("")).toMatch(/"codec":"h264"[^\n]*stopped encoding a codec no viewer uses/);
    const vp8Later = vp8Packets;
    await eventually(() => vp8Packets > vp8Later + 20, "VP8 flowing after the drop", 10_000);

    // The last codec encoded stays, with or without a viewer.
    vp8Viewer.release();
    await new Promise((resolve) => setTimeout(resolve, CODEC_IDLE_MS + 500));
    expect(stream.status().map((s) => s.codec)).toEqual(["vp8"]);

    await expect(stream.use("opus")).rejects.toThrow(MediaStartError);
  });
});
