/**
 * A viewer moved between the ladder's layers sees one stream: it changes layer only at a keyframe of
 * the new one, no frame of the old one is cut, sequence numbers follow on by one, timestamps move
 * forward, and a layer left and rejoined later is taken again.
 */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/common/logger.ts";
import { LayerSwitch, type SwitchableLayer } from "../../src/media/LayerSwitch.ts";
import { RtpFanOut } from "../../src/media/RtpFanOut.ts";
import type { RtpSink } from "../../src/media/RtpSink.ts";

/** A layer of the ladder as the switch sees it: a fan-out, and the keyframe requests it got. */
class FakeLayer implements SwitchableLayer {
  readonly fanOut = new RtpFanOut(silentLogger);
  keyframeRequests = 0;
  #seq: number;
  #ts: number;
  constructor(
    readonly label: string,
    readonly ssrc: number,
    seq: number,
    ts: number,
  ) {
    this.#seq = seq;
    this.#ts = ts;
  }
  subscribe(sink: RtpSink): () => void {
    return this.fanOut.add(sink);
  }
  requestKeyframe(): void {
    this.keyframeRequests++;
  }
  /** One frame of `packets` packets (the last with the marker bit); a keyframe if `key`. */
  frame(packets: number, key = false): void {
    for (let i = 0; i < packets; i++) this.packet({ start: i === 0, key, marker: i === packets - 1 });
    this.#ts = (this.#ts + 3000) >>> 0;
  }
  /** One VP8 packet (RFC 7741 §4.2: S bit for a frame's start; P bit 0 in its header for a keyframe). */
  packet({ start = false, key = false, marker = false }): Buffer {
    const packet = Buffer.alloc(12 + 4);
    packet[0] = 0x80;
    packet[1] = 96 | (marker ? 0x80 : 0);
    packet.writeUInt16BE(this.#seq, 2);
    packet.writeUInt32BE(this.#ts, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    packet[12] = start ? 0x10 : 0x00;
    packet[13] = key ? 0x00 : 0x01;
    this.#seq = (this.#seq + 1) & 0xffff;
    const copy = Buffer.from(packet);
    this.fanOut.write(packet);
    // The contract: a sink only borrows the packet.
    expect(packet.equals(copy)).toBe(true);
    return packet;
  }
}

function setUp(start = 0) {
  // Sequence numbers near the wrap and far apart, as three independent encoders start theirs.
  const layers = [
    new FakeLayer("640x480", 1, 65530, 1000),
    new FakeLayer("320x240", 2, 100, 5),
    new FakeLayer("160x120", 3, 40000, 4_294_967_000),
  ];
  const sent: Array<{ seq: number; ts: number; from: number; marker: boolean; key: boolean }> = [];
  const ssrcs = new Map(layers.map((layer, i) => [layer.ssrc, i]));
  const layerSwitch = new LayerSwitch({
    layers,
    codec: "vp8",
    start,
    clockRate: 90_000,
    logger: silentLogger,
    send: (packet) =>
      sent.push({
        seq: packet.readUInt16BE(2),
        ts: packet.readUInt32BE(4),
        from: ssrcs.get(packet.readUInt32BE(8)) as number,
        marker: ((packet[1] as number) & 0x80) !== 0,
        key: packet[12] === 0x10 && packet[13] === 0x00,
      }),
  });
  return { layers, sent, layerSwitch };
}

function expectContinuous(sent: Array<{ seq: number; ts: number }>): void {
  for (let i = 1; i < sent.length; i++) {
    expect((sent[i] as { seq: number }).seq).toBe(((sent[i - 1] as { seq: number }).seq + 1) & 0xffff);
    const step = ((sent[i] as { ts: number }).ts - (sent[i - 1] as { ts: number }).ts) >>> 0;
    expect(step).toBeLessThan(0x80000000); // forward (or equal), never back
  }
}

describe("LayerSwitch", () => {
  it("moves down only at the lower layer's keyframe, asks for it, and keeps the sequence continuous across the wrap", () => {
    const { layers, sent, layerSwitch } = setUp();
    const [top, half] = layers as [FakeLayer, FakeLayer];
    top.frame(3);
    layerSwitch.switchTo(1, "test");
    expect(half.keyframeRequests).toBe(1);
    half.frame(2); // not a keyframe: not taken
    top.frame(3);
    expect(sent.every((p) => p.from === 0)).toBe(true);
    half.frame(4, true);
    top.frame(3); // the old layer is left
    half.frame(2);
    expect(layerSwitch.current).toBe(1);
    expect(sent.map((p) => p.from)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    expect(sent[6]?.key).toBe(true);
    expectContinuous(sent);
    layerSwitch.close();
  });

  it("never cuts a frame: a keyframe that starts while the current layer is mid-frame waits for that frame's end", () => {
    const { layers, sent, layerSwitch } = setUp();
    const [top, half] = layers as [FakeLayer, FakeLayer];
    layerSwitch.switchTo(1, "test");
    top.packet({ start: true }); // a frame of the top layer begins…
    half.frame(3, true); // …the lower layer's keyframe arrives meanwhile, and waits
    expect(sent.map((p) => p.from)).toEqual([0]);
    top.packet({ marker: true }); // the top layer's frame ends: then the keyframe goes out whole
    expect(sent.map((p) => p.from)).toEqual([0, 0, 1, 1, 1]);
    expect(sent[1]?.marker).toBe(true);
    expect(sent[2]?.key).toBe(true);
    expectContinuous(sent);
    layerSwitch.close();
  });

  it("goes back up to a layer it left (a layer is not retired like a replaced encoder), and asks again while no keyframe comes", async () => {
    const { layers, sent, layerSwitch } = setUp();
    const [top, half] = layers as [FakeLayer, FakeLayer];
    layerSwitch.switchTo(1, "down");
    half.frame(2, true);
    layerSwitch.switchTo(0, "up");
    half.frame(2);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(top.keyframeRequests).toBeGreaterThanOrEqual(2);
    top.frame(2, true);
    top.frame(2);
    expect(layerSwitch.current).toBe(0);
    expect(layerSwitch.switches).toBe(2);
    expect(sent.map((p) => p.from)).toEqual([1, 1, 1, 1, 0, 0, 0, 0]);
    expectContinuous(sent);
    layerSwitch.close();
  });

  it("a switch back to the current layer before the keyframe came cancels it; after close nothing is sent", () => {
    const { layers, sent, layerSwitch } = setUp();
    const [top, half] = layers as [FakeLayer, FakeLayer];
    layerSwitch.switchTo(1, "down");
    layerSwitch.switchTo(0, "never mind");
    half.frame(2, true);
    top.frame(1);
    expect(layerSwitch.current).toBe(0);
    expect(sent.map((p) => p.from)).toEqual([0]);
    layerSwitch.close();
    top.frame(2, true);
    expect(sent).toHaveLength(1);
    expect(top.fanOut.size + half.fanOut.size).toBe(0);
  });
});
