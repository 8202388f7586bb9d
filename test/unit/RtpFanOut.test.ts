/**
 * Fan-out isolates each viewer (the issue this pins: one viewer's `writeRtp` throwing used to cost
 * every viewer after it the packet, and the error escaped into the socket's handler).
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.ts";
import { RtpFanOut } from "../../src/media/RtpFanOut.ts";
import type { RtpSink } from "../../src/media/RtpSink.ts";

function capture() {
  const lines: string[] = [];
  const logger = createLogger("test", {
    level: "info",
    destination: { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream,
  });
  return { lines, logger };
}

function recorder(): RtpSink & { seen: number[] } {
  const seen: number[] = [];
  return { seen, write: (packet) => seen.push(packet.readUInt16BE(2)) };
}

function packet(seq: number): Buffer {
  const buffer = Buffer.alloc(12);
  buffer[0] = 0x80;
  buffer.writeUInt16BE(seq, 2);
  return buffer;
}

const SEQS = [1, 2, 3, 4, 5];

describe("RtpFanOut", () => {
  it("every viewer gets every packet, in order, when one in the middle throws; one warning", () => {
    const { lines, logger } = capture();
    const fanOut = new RtpFanOut(logger);
    const before = recorder();
    const after = recorder();
    fanOut.add(before);
    fanOut.add({
      write() {
        throw new Error("broken viewer");
      },
    });
    fanOut.add(after);
    for (const seq of SEQS) expect(() => fanOut.write(packet(seq))).not.toThrow();
    expect(before.seen).toEqual(SEQS);
    expect(after.seen).toEqual(SEQS);
    expect(lines.filter((line) => line.includes("broken viewer"))).toHaveLength(1);
  });

  it("a viewer whose write rejects, or never settles, holds nobody up and leaves no unhandled rejection", async () => {
    const { lines, logger } = capture();
    const fanOut = new RtpFanOut(logger);
    const others = [recorder(), recorder()];
    fanOut.add(others[0] as RtpSink);
    fanOut.add({ write: (() => Promise.reject(new Error("async failure"))) as unknown as RtpSink["write"] });
    fanOut.add({ write: (() => new Promise(() => {})) as unknown as RtpSink["write"] });
    fanOut.add(others[1] as RtpSink);
    for (const seq of SEQS) fanOut.write(packet(seq));
    await new Promise((resolve) => setImmediate(resolve));
    for (const other of others) expect(other.seen).toEqual(SEQS);
    expect(lines.filter((line) => line.includes("async failure"))).toHaveLength(1);
  });

  it("a slow viewer delays, but does not drop, the others' packets", () => {
    const fanOut = new RtpFanOut(capture().logger);
    const fast = recorder();
    fanOut.add({
      write() {
        const until = performance.now() + 5;
        while (performance.now() < until) {}
      },
    });
    fanOut.add(fast);
    for (const seq of SEQS) fanOut.write(packet(seq));
    expect(fast.seen).toEqual(SEQS);
  });

  it("a viewer that leaves during a write does not disturb the others", () => {
    const fanOut = new RtpFanOut(capture().logger);
    const stays = recorder();
    const remove = fanOut.add({ write: () => remove() });
    fanOut.add(stays);
    for (const seq of SEQS) fanOut.write(packet(seq));
    expect(stays.seen).toEqual(SEQS);
    expect(fanOut.size).toBe(1);
  });
});
