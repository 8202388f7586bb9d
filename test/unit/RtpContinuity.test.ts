/**
 * RtpContinuity, table-driven: each case is a sequence of packets (SSRC, sequence number, timestamp,
 * arrival time) and what a viewer must see — one continuous stream, whatever the encoders did.
 */
import { describe, expect, it } from "vitest";
import { RtpContinuity } from "../../src/media/RtpContinuity.ts";

function rtp(ssrc: number, seq: number, ts: number): Buffer {
  const packet = Buffer.alloc(16);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt16BE(seq, 2);
  packet.writeUInt32BE(ts >>> 0, 4);
  packet.writeUInt32BE(ssrc, 8);
  return packet;
}

/** [ssrc, seq, ts, arrival ms] in; [seq, ts] out, or null for a dropped packet. */
type In = [ssrc: number, seq: number, ts: number, atMs: number];
type Out = [seq: number, ts: number] | null;

const CASES: Array<{ name: string; clockRate: number; packets: In[]; expected: Out[] }> = [
  {
    name: "one encoder: packets pass unchanged",
    clockRate: 90_000,
    packets: [
      [1, 100, 5000, 0],
      [1, 101, 8000, 33],
      [1, 102, 11000, 66],
    ],
    expected: [
      [100, 5000],
      [101, 8000],
      [102, 11000],
    ],
  },
  {
    name: "restart: sequence numbers follow on, timestamps advance by the wall-clock gap",
    clockRate: 90_000,
    packets: [
      [1, 100, 5000, 0],
      [1, 101, 8000, 33],
      // New process 1 s later, with its own random start values.
      [2, 40000, 777, 1033],
      [2, 40001, 3777, 1066],
    ],
    expected: [
      [100, 5000],
      [101, 8000],
      [102, 8000 + 90_000],
      [103, 8000 + 90_000 + 3000],
    ],
  },
  {
    name: "a file loop is a restart too (the audio clock: 48 kHz)",
    clockRate: 48_000,
    packets: [
      [7, 10, 0, 0],
      [7, 11, 960, 20],
      [8, 5, 123456, 40],
    ],
    expected: [
      [10, 0],
      [11, 960],
      [12, 960 + 960],
    ],
  },
  {
    name: "sequence numbers wrap around 65535 across a restart",
    clockRate: 90_000,
    packets: [
      [1, 65534, 1000, 0],
      [1, 65535, 4000, 33],
      [2, 30000, 50, 66],
      [2, 30001, 3050, 99],
    ],
    expected: [
      [65534, 1000],
      [65535, 4000],
      [0, 4000 + 2970],
      [1, 4000 + 2970 + 3000],
    ],
  },
  {
    name: "sequence numbers wrap within one encoder",
    clockRate: 90_000,
    packets: [
      [1, 65535, 1000, 0],
      [1, 0, 4000, 33],
    ],
    expected: [
      [65535, 1000],
      [0, 4000],
    ],
  },
  {
    name: "timestamps wrap around 2^32 across a restart",
    clockRate: 90_000,
    packets: [
      [1, 1, 0xffff_ff00, 0],
      [2, 9, 12345, 10],
    ],
    expected: [
      [1, 0xffff_ff00],
      [2, (0xffff_ff00 + 900) % 2 ** 32],
    ],
  },
  {
    name: "stragglers of a replaced encoder are dropped, even after a second restart",
    clockRate: 90_000,
    packets: [
      [1, 100, 5000, 0],
      [2, 7, 70, 33],
      [1, 101, 8000, 34],
      [3, 500, 900, 66],
      [2, 8, 3070, 67],
      [1, 102, 11000, 68],
      [3, 501, 3900, 99],
    ],
    expected: [
      [100, 5000],
      [101, 5000 + 2970],
      null,
      [102, 5000 + 2970 + 2970],
      null,
      null,
      [103, 5000 + 2970 + 2970 + 3000],
    ],
  },
  {
    name: "a restart with no time elapsed still moves the timestamp on by one tick",
    clockRate: 90_000,
    packets: [
      [1, 5, 100, 0],
      [2, 99, 1, 0],
    ],
    expected: [
      [5, 100],
      [6, 101],
    ],
  },
];

describe("RtpContinuity", () => {
  it.each(CASES)("$name", ({ clockRate, packets, expected }) => {
    const continuity = new RtpContinuity(clockRate);
    const seen = packets.map(([ssrc, seq, ts, at]) => {
      const packet = rtp(ssrc, seq, ts);
      if (!continuity.rewrite(packet, at)) return null;
      return [packet.readUInt16BE(2), packet.readUInt32BE(4)];
    });
    expect(seen).toEqual(expected);
  });

  it.each([
    ["shorter than an RTP header", Buffer.alloc(11, 0x80)],
    ["not RTP version 2", Buffer.from([0x40, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1])],
    ["empty", Buffer.alloc(0)],
  ])("drops a packet that is %s", (_what, packet) => {
    expect(new RtpContinuity(90_000).rewrite(packet, 0)).toBe(false);
  });

  it("remembers a bounded number of replaced encoders (the 65th oldest comes back as new)", () => {
    const continuity = new RtpContinuity(90_000);
    for (let ssrc = 1; ssrc <= 66; ssrc++) expect(continuity.rewrite(rtp(ssrc, 0, 0), ssrc)).toBe(true);
    // SSRC 1 was forgotten (64 retired are kept: 2…65); 2 is still known as replaced.
    expect(continuity.rewrite(rtp(2, 1, 0), 100)).toBe(false);
    expect(continuity.rewrite(rtp(1, 1, 0), 100)).toBe(true);
  });
});
