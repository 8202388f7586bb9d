/**
 * ULPFEC in RED (src/media/ulpfec.ts, src/device/FecSender.ts), checked the way a receiver uses it:
 * drop a packet, rebuild it from the FEC packet and the others by RFC 5109 §8 (written here from the
 * RFC, not from the encoder), and compare bytes. The RED packets go through werift's own RTP
 * serializer with an abs-send-time extension, then through what libwebrtc's UlpfecReceiver does (RED
 * header off, mutable extension values zeroed): the FEC must hold for exactly those bytes.
 */

import { describe, expect, it } from "vitest";
import { RtpPacket } from "werift";
import { FecSender, sentExtensions } from "../../src/device/FecSender.ts";
import { redPacket, ULPFEC_MAX_PROTECTED, ulpfecBodies } from "../../src/media/ulpfec.ts";

const ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

/** A media packet: header with marker and timestamp, an optional extension block, `length` payload bytes. */
function media(
  seq: number,
  ts: number,
  length: number,
  options: { marker?: boolean; pt?: number } = {},
): Buffer {
  const packet = Buffer.alloc(12 + length);
  packet[0] = 0x80;
  packet[1] = (options.marker ? 0x80 : 0) | (options.pt ?? 96);
  packet.writeUInt16BE(seq & 0xffff, 2);
  packet.writeUInt32BE(ts >>> 0, 4);
  packet.writeUInt32BE(0x11223344, 8);
  for (let i = 0; i < length; i++) packet[12 + i] = (seq * 31 + i * 7) & 0xff;
  return packet;
}

/**
 * RFC 5109 §8.2: the one protected packet missing from `received`, rebuilt from `fec` (an FEC body:
 * FEC header, level-0 header, payload), or undefined when not exactly one is missing.
 */
function recover(fec: Buffer, received: Map<number, Buffer>, ssrc: number): Buffer | undefined {
  const longMask = (fec[0] as number) & 0x40;
  const maskBytes = longMask ? 6 : 2;
  const base = fec.readUInt16BE(2);
  const protectionLength = fec.readUInt16BE(10);
  const payload = fec.subarray(12 + maskBytes);
  const protectedSeqs: number[] = [];
  for (let bit = 0; bit < maskBytes * 8; bit++)
    if (((fec[12 + (bit >> 3)] as number) >> (7 - (bit & 7))) & 1) protectedSeqs.push((base + bit) & 0xffff);
  const missing = protectedSeqs.filter((seq) => !received.has(seq));
  if (missing.length !== 1) return undefined;
  let bits01 = fec.readUInt16BE(0);
  let ts = fec.readUInt32BE(4);
  let length = fec.readUInt16BE(8);
  const bytes = Buffer.from(payload.subarray(0, protectionLength));
  for (const seq of protectedSeqs) {
    const packet = received.get(seq);
    if (!packet) continue;
    bits01 ^= packet.readUInt16BE(0);
    ts = (ts ^ packet.readUInt32BE(4)) >>> 0;
    length ^= packet.length - 12;
    for (let i = 12; i < packet.length; i++) (bytes[i - 12] as number) ^= packet[i] as number;
  }
  const rebuilt = Buffer.alloc(12 + length);
  rebuilt.writeUInt16BE(bits01, 0);
  rebuilt[0] = ((rebuilt[0] as number) & 0x3f) | 0x80; // version 2 (§8.2: set, not recovered)
  rebuilt.writeUInt16BE(missing[0] as number, 2);
  rebuilt.writeUInt32BE(ts, 4);
  rebuilt.writeUInt32BE(ssrc, 8);
  bytes.copy(rebuilt, 12, 0, length);
  return rebuilt;
}

describe("ulpfecBodies (RFC 5109)", () => {
  it("rebuilds any one lost packet of each group, byte for byte, for 1 to 48 packets and 1 to 3 FEC packets", () => {
    for (const count of [1, 2, 5, 16, 17, 48]) {
      const packets = Array.from({ length: count }, (_, i) =>
        media(65530 + i, 3000 + (i >> 2) * 3000, 100 + ((i * 37) % 900), { marker: i % 4 === 3 }),
      );
      for (const fecCount of [1, 2, 3]) {
        const bodies = ulpfecBodies(packets, fecCount);
        expect(bodies).toHaveLength(Math.min(fecCount, count));
        for (const [lost, original] of packets.entries()) {
          const received = new Map(packets.filter((_, i) => i !== lost).map((p) => [p.readUInt16BE(2), p]));
          const rebuilt = bodies
            .map((body) => recover(body, received, 0x11223344))
            .find((p) => p !== undefined);
          expect(rebuilt, `packet ${lost} of ${count}, ${fecCount} FEC`).toEqual(original);
        }
      }
    }
  });

  it("sets the L bit and a 48-bit mask past 16 packets, and a 16-bit one up to 16", () => {
    const short = ulpfecBodies(
      Array.from({ length: 16 }, (_, i) => media(i, 0, 10)),
      1,
    )[0] as Buffer;
    const long = ulpfecBodies(
      Array.from({ length: 17 }, (_, i) => media(i, 0, 10)),
      1,
    )[0] as Buffer;
    expect((short[0] as number) & 0x40).toBe(0);
    expect(short.subarray(12, 14)).toEqual(Buffer.from([0xff, 0xff]));
    expect((long[0] as number) & 0x40).toBe(0x40);
    expect(long.subarray(12, 18)).toEqual(Buffer.from([0xff, 0xff, 0x80, 0, 0, 0]));
  });

  it("refuses what it cannot protect: no packets, more than 48, a gap in the sequence numbers", () => {
    expect(() => ulpfecBodies([], 1)).toThrow(RangeError);
    expect(() =>
      ulpfecBodies(
        Array.from({ length: ULPFEC_MAX_PROTECTED + 1 }, (_, i) => media(i, 0, 1)),
        1,
      ),
    ).toThrow(RangeError);
    expect(() => ulpfecBodies([media(1, 0, 1), media(3, 0, 1)], 1)).toThrow(/consecutive/);
  });
});

describe("redPacket (RFC 2198)", () => {
  it("is the header with RED's payload type, one block header byte naming the block's type, the block", () => {
    const packet = redPacket(
      { marker: true, timestamp: 0xfffffffe, ssrc: 7 },
      116,
      65535,
      96,
      Buffer.from([1, 2, 3]),
    );
    expect([...packet]).toEqual([
      0x80,
      0x80 | 116,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xfe,
      0,
      0,
      0,
      7,
      96,
      1,
      2,
      3,
    ]);
  });
});

/** What werift puts on the wire for `packet` (sender.sendRtp): its SSRC, and abs-send-time written now. */
function throughWerift(packet: Buffer, extensionId: number, sendTime: number): Buffer {
  const rtp = RtpPacket.deSerialize(packet);
  rtp.header.ssrc = 0xcafe;
  rtp.header.extensions = [
    { id: extensionId, payload: Buffer.from([sendTime >> 16, sendTime >> 8, sendTime]) },
  ];
  return rtp.serialize();
}

/** What libwebrtc's UlpfecReceiver holds of a RED packet: the RED header off, mutable extension values zeroed. */
function asUlpfecReceiverHolds(wire: Buffer): { fec: boolean; packet: Buffer } {
  const rtp = RtpPacket.deSerialize(wire);
  const block = rtp.payload[0] as number;
  rtp.header.payloadType = block & 0x7f;
  rtp.header.extensions = rtp.header.extensions.map((e) => ({
    id: e.id,
    payload: Buffer.alloc(e.payload.length),
  }));
  return {
    fec: (block & 0x7f) === 118,
    packet: new RtpPacket(rtp.header, rtp.payload.subarray(1)).serialize(),
  };
}

describe("FecSender", () => {
  const format = { media: 96, red: 116, ulpfec: 118 };
  const extensions = sentExtensions([{ id: 3, uri: ABS_SEND_TIME }]) ?? [];

  it("wraps every packet in RED, numbers FEC packets into the same sequence, and any one lost packet is rebuilt", () => {
    const wire: Buffer[] = [];
    let sendTime = 1;
    const sender = new FecSender(format, extensions, (packet) =>
      wire.push(throughWerift(packet, 3, sendTime++)),
    );
    sender.share = 0.5;
    // Two frames of 4 packets, sequence numbers from the layer switch wrapping at 65535.
    const sent = Array.from({ length: 8 }, (_, i) =>
      media(65533 + i, 90_000 + (i >> 2) * 3000, 500 + i, { marker: i % 4 === 3 }),
    );
    for (const packet of sent) sender.write(packet);

    const held = wire.map(asUlpfecReceiverHolds);
    const sequence = wire.map((packet) => packet.readUInt16BE(2));
    expect(sequence).toEqual([65533, 65534, 65535, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(held.map((h) => (h.fec ? "F" : "m")).join("")).toBe("mmmmFFmmmmFF");
    expect(wire.every((packet) => ((packet[1] as number) & 0x7f) === 116)).toBe(true);
    expect(sender.fecPackets).toBe(4);
    // The media inside the RED packets is the layer switch's: payload, marker and timestamp.
    const inside = held.filter((h) => !h.fec).map((h) => RtpPacket.deSerialize(h.packet));
    expect(inside.map((p) => [p.payload, p.header.marker, p.header.timestamp, p.header.payloadType])).toEqual(
      sent.map((p) => [p.subarray(12), ((p[1] as number) & 0x80) !== 0, p.readUInt32BE(4), 96]),
    );

    const fecBodies = wire
      .filter((_, i) => held[i]?.fec)
      .map((packet) => RtpPacket.deSerialize(packet).payload.subarray(1));
    const mediaHeld = held.filter((h) => !h.fec).map((h) => h.packet);
    for (const [lost, original] of mediaHeld.entries()) {
      const received = new Map(mediaHeld.filter((_, i) => i !== lost).map((p) => [p.readUInt16BE(2), p]));
      const rebuilt = fecBodies.map((body) => recover(body, received, 0xcafe)).find((p) => p !== undefined);
      expect(rebuilt, `media packet ${lost}`).toEqual(original);
    }
  });

  it("sends RED alone with share 0, and protects one-packet frames together rather than one FEC packet each", () => {
    const kinds: string[] = [];
    const sender = new FecSender(format, extensions, (packet) => kinds.push(packet[12] === 118 ? "F" : "m"));
    for (let i = 0; i < 3; i++) sender.write(media(i, i * 3000, 100, { marker: true }));
    sender.share = 0.25;
    for (let i = 3; i < 11; i++) sender.write(media(i, i * 3000, 100, { marker: true }));
    expect(kinds.join("")).toBe("mmm" + "mmmmF" + "mmmmF");
  });

  it("regression: never puts a FEC packet inside a frame (libwebrtc takes its number for an empty slot, and the frame is never whole): a 60-packet keyframe", () => {
    const wire: Buffer[] = [];
    const sender = new FecSender(format, extensions, (packet) => wire.push(packet));
    sender.share = 0.5;
    for (let i = 0; i < 60; i++) sender.write(media(100 + i, 9000, 1000, { marker: i === 59 }));
    const kinds = wire.map((packet) => (packet[12] === 118 ? "F" : "m")).join("");
    expect(kinds).toBe(`${"m".repeat(60)}${"F".repeat(24)}`);
    // The FEC packets protect the last 48 (the receiver keeps the newest): their base is packet 12's.
    const bases = wire.slice(60).map((packet) => packet.readUInt16BE(13 + 2));
    expect(new Set(bases)).toEqual(new Set([112]));
  });

  it("keeps a packet missing from its input missing (the viewer asks for it), and FEC only over packets that follow on", () => {
    const wire: Buffer[] = [];
    const sender = new FecSender(format, extensions, (packet) => wire.push(packet));
    sender.share = 0.5;
    for (const seq of [10, 11, 13, 14]) sender.write(media(seq, 9000, 100, { marker: seq === 14 }));
    const sent = wire.map((packet) => [packet.readUInt16BE(2), packet[12] === 118 ? "F" : "m"]);
    // 13 and 14 after the gap are protected (one FEC packet: 2 × 0.5), numbered on after 14.
    expect(sent).toEqual([
      [10, "m"],
      [11, "m"],
      [13, "m"],
      [14, "m"],
      [15, "F"],
    ]);
    expect(wire[4]?.readUInt16BE(13 + 2)).toBe(13);
    // The next media packet follows the FEC packet; FEC packets are told apart, to refuse their re-sends.
    sender.write(media(15, 12000, 100, { marker: true }));
    expect(wire[5]?.readUInt16BE(2)).toBe(16);
    expect([14, 15, 16].map((seq) => sender.isFec(seq))).toEqual([false, true, false]);
  });

  it("takes no FEC where werift would write an extension it does not know the receiver zeroes", () => {
    expect(sentExtensions([{ id: 1, uri: "urn:ietf:params:rtp-hdrext:sdes:mid" }])).toBeUndefined();
    expect(sentExtensions([])).toEqual([]);
  });
});
