/**
 * A userspace link emulator (the kernel here has no `tc netem`): it forwards Ethernet frames between
 * pairs of TAP devices and impairs each direction on its own — delay, jitter, random loss, a rate
 * limit with a bounded queue, and a total outage — counting what crosses.
 *
 * Started through open-taps.py (which attaches the TAP devices; Node cannot), usually by
 * test/helpers/linkemu.ts:
 *
 *   python3 open-taps.py a0 a1 -- node --import tsx emulator.ts --link NAME=a0,a1 [--seed N]
 *
 * The first TAP of a link is the host's side, the second the LAN's: "up" is host → LAN, "down" is
 * LAN → host. Control is JSON lines on stdin, one reply line on stdout per request:
 *   {"id":1,"cmd":"set","link":"NAME","dir":"down","delayMs":50,"loss":0.05}   (dir: up, down, both)
 *   {"id":2,"cmd":"counters"}           {"id":3,"cmd":"reset"}   (counters back to zero)
 * A line {"ready":true} is printed once every TAP is being read.
 *
 * Model, per direction, in this order: outage (drop everything) → random loss → rate limit (a FIFO
 * that drains at `rateKbps`; a frame that would wait longer than `queueMs` is dropped at the tail) →
 * propagation delay `delayMs` ± a uniform `jitterMs`, never reordering (a frame leaves no earlier
 * than the one before it, as on one physical path). ARP is exempt from loss, so a lossy link does
 * not also lose its neighbours.
 */
import { read, writeSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

export interface Impairment {
  /** One-way propagation delay. */
  delayMs: number;
  /** Each frame's delay varies uniformly by ± this much (without reordering). */
  jitterMs: number;
  /** Probability (0…1) that a frame is lost. */
  loss: number;
  /** Drain rate of the bottleneck queue in kbit/s; 0 = no limit. */
  rateKbps: number;
  /** Longest a frame may wait in the bottleneck queue before it is dropped (tail drop). */
  queueMs: number;
  /** Drop everything. */
  outage: boolean;
}

export interface DirectionCounters {
  /** Frames and bytes that entered this direction. */
  packets: number;
  bytes: number;
  /** Frames and bytes that came out at the other end. */
  delivered: number;
  deliveredBytes: number;
  lost: number;
  queueDropped: number;
  outageDropped: number;
  /** Longest queueing delay any frame had (ms). */
  maxQueueMs: number;
  /** RTP packets that entered (SRTP leaves the RTP header readable). */
  rtp: number;
  /** RTP packets whose SSRC and sequence number had entered before: retransmissions (not RTX). */
  rtpRepeated: number;
}

export const NO_IMPAIRMENT: Impairment = {
  delayMs: 0,
  jitterMs: 0,
  loss: 0,
  rateKbps: 0,
  queueMs: 200,
  outage: false,
};

/** mulberry32: a small seeded PRNG, so a benchmark's losses repeat from run to run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function zeroCounters(): DirectionCounters {
  return {
    packets: 0,
    bytes: 0,
    delivered: 0,
    deliveredBytes: 0,
    lost: 0,
    queueDropped: 0,
    outageDropped: 0,
    maxQueueMs: 0,
    rtp: 0,
    rtpRepeated: 0,
  };
}

/** SSRC and sequence number of an RTP packet in an Ethernet/IPv4/UDP frame, or undefined. */
export function rtpKey(frame: Buffer): number | undefined {
  if (frame.length < 14 + 20 + 8 + 12 || frame.readUInt16BE(12) !== 0x0800) return undefined;
  const ihl = ((frame[14] ?? 0) & 0x0f) * 4;
  if (frame[14 + 9] !== 17) return undefined;
  const rtp = 14 + ihl + 8;
  if (frame.length < rtp + 12) return undefined;
  const b0 = frame[rtp] ?? 0;
  const b1 = frame[rtp + 1] ?? 0;
  // Version 2, and not RTCP (packet types 192–223 share the second byte's range with marker+PT).
  if ((b0 & 0xc0) !== 0x80 || (b1 >= 192 && b1 <= 223)) return undefined;
  return frame.readUInt32BE(rtp + 8) * 65536 + frame.readUInt16BE(rtp + 2);
}

const isArp = (frame: Buffer) => frame.length >= 14 && frame.readUInt16BE(12) === 0x0806;

/** One direction of a link. */
export class Direction {
  impairment: Impairment = { ...NO_IMPAIRMENT };
  counters = zeroCounters();
  readonly #deliver: (frame: Buffer) => void;
  readonly #random: () => number;
  readonly #now: () => number;
  #lineFreeAt = 0;
  #lastDue = 0;
  readonly #pending: Array<{ due: number; frame: Buffer }> = [];
  #timer: NodeJS.Timeout | undefined;
  /** The last RTP packets seen (SSRC × 65536 + sequence number), to spot retransmissions. */
  readonly #seen = new Set<number>();
  readonly #seenOrder: number[] = [];

  constructor(deliver: (frame: Buffer) => void, random: () => number, now = () => performance.now()) {
    this.#deliver = deliver;
    this.#random = random;
    this.#now = now;
  }

  push(frame: Buffer): void {
    const c = this.counters;
    const imp = this.impairment;
    c.packets++;
    c.bytes += frame.length;
    const key = rtpKey(frame);
    if (key !== undefined) {
      c.rtp++;
      if (this.#seen.has(key)) c.rtpRepeated++;
      else {
        this.#seen.add(key);
        this.#seenOrder.push(key);
        if (this.#seenOrder.length > 8192) this.#seen.delete(this.#seenOrder.shift() as number);
      }
    }
    if (imp.outage) {
      c.outageDropped++;
      return;
    }
    if (imp.loss > 0 && !isArp(frame) && this.#random() < imp.loss) {
      c.lost++;
      return;
    }
    const now = this.#now();
    let departure = now;
    if (imp.rateKbps > 0) {
      const start = Math.max(now, this.#lineFreeAt);
      const wait = start - now;
      if (wait > imp.queueMs) {
        c.queueDropped++;
        return;
      }
      c.maxQueueMs = Math.max(c.maxQueueMs, wait);
      // kbit/s is bits per millisecond.
      this.#lineFreeAt = start + (frame.length * 8) / imp.rateKbps;
      departure = this.#lineFreeAt;
    }
    const jitter = imp.jitterMs > 0 ? imp.jitterMs * (2 * this.#random() - 1) : 0;
    const due = Math.max(departure + imp.delayMs + jitter, this.#lastDue);
    this.#lastDue = due;
    if (due <= now && this.#pending.length === 0) {
      this.#send(frame);
      return;
    }
    this.#pending.push({ due, frame });
    this.#schedule();
  }

  #send(frame: Buffer): void {
    this.counters.delivered++;
    this.counters.deliveredBytes += frame.length;
    this.#deliver(frame);
  }

  #schedule(): void {
    if (this.#timer || this.#pending.length === 0) return;
    const head = this.#pending[0] as { due: number };
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        const now = this.#now();
        // setTimeout fires on whole milliseconds: send what is due within the next half.
        while (this.#pending.length > 0 && (this.#pending[0] as { due: number }).due <= now + 0.5) {
          this.#send((this.#pending.shift() as { frame: Buffer }).frame);
        }
        this.#schedule();
      },
      Math.max(0, head.due - this.#now()),
    );
  }

  /** Frames still in flight (in the queue or on the wire). */
  get inFlight(): number {
    return this.#pending.length;
  }
}

export class Link {
  readonly up: Direction;
  readonly down: Direction;
  constructor(host: number, lan: number, random: () => number) {
    this.up = new Direction((frame) => write(lan, frame), random);
    this.down = new Direction((frame) => write(host, frame), random);
    readLoop(host, (frame) => this.up.push(frame));
    readLoop(lan, (frame) => this.down.push(frame));
  }
}

function write(fd: number, frame: Buffer): void {
  try {
    writeSync(fd, frame);
  } catch {
    // The interface is down or its queue is full: the frame is lost, as on a wire.
  }
}

/** Frames longer than an Ethernet frame at MTU 1500 (the kernel handed over a GSO frame). */
export let oversizeFrames = 0;

function readLoop(fd: number, onFrame: (frame: Buffer) => void): void {
  // Large enough for any frame the kernel may hand over; each frame is copied out of it.
  const buffer = Buffer.allocUnsafe(65536);
  const next = () => {
    // A TAP read blocks until a frame arrives (one frame per read), on a libuv pool thread.
    read(fd, buffer, 0, buffer.length, null, (error, length) => {
      if (error) {
        process.stderr.write(`emulator: read from fd ${fd} failed: ${error.message}\n`);
        process.exit(1);
      }
      if (length > 1514) oversizeFrames++;
      if (length > 0) onFrame(Buffer.from(buffer.subarray(0, length)));
      next();
    });
  };
  next();
}

function main(): void {
  const { values } = parseArgs({
    options: {
      link: { type: "string", multiple: true, default: [] },
      tap: { type: "string", multiple: true, default: [] },
      seed: { type: "string", default: "1" },
    },
  });
  const fds = new Map<string, number>();
  for (const tap of values.tap) {
    const [name, fd] = tap.split("=");
    fds.set(name ?? "", Number(fd));
  }
  const random = prng(Number(values.seed));
  const links = new Map<string, Link>();
  for (const spec of values.link) {
    const match = spec.match(/^([\w-]+)=([\w-]+),([\w-]+)$/);
    const host = fds.get(match?.[2] ?? "");
    const lan = fds.get(match?.[3] ?? "");
    if (!match || host === undefined || lan === undefined) {
      process.stderr.write(`emulator: bad --link ${spec} (NAME=HOSTTAP,LANTAP, both opened)\n`);
      process.exit(2);
    }
    links.set(match[1] as string, new Link(host, lan, random));
  }

  const reply = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);
  createInterface({ input: process.stdin }).on("line", (line) => {
    let request: { id?: number; cmd?: string; link?: string; dir?: string } & Partial<Impairment>;
    try {
      request = JSON.parse(line);
    } catch {
      reply({ ok: false, error: "not JSON" });
      return;
    }
    const { id, cmd } = request;
    if (cmd === "counters" || cmd === "reset") {
      const counters: Record<string, { up: DirectionCounters; down: DirectionCounters }> = {};
      for (const [name, link] of links) {
        counters[name] = { up: link.up.counters, down: link.down.counters };
        if (cmd === "reset") {
          link.up.counters = zeroCounters();
          link.down.counters = zeroCounters();
        }
      }
      reply({ id, ok: true, counters, oversizeFrames });
      return;
    }
    if (cmd === "set") {
      const link = links.get(request.link ?? "");
      if (!link) {
        reply({ id, ok: false, error: `no link ${request.link}` });
        return;
      }
      const directions =
        request.dir === "up" ? [link.up] : request.dir === "down" ? [link.down] : [link.up, link.down];
      const change: Partial<Impairment> = {};
      for (const key of Object.keys(NO_IMPAIRMENT) as Array<keyof Impairment>) {
        if (request[key] !== undefined) (change as Record<string, unknown>)[key] = request[key];
      }
      for (const direction of directions) direction.impairment = { ...direction.impairment, ...change };
      reply({ id, ok: true });
      return;
    }
    reply({ id, ok: false, error: `unknown command ${cmd}` });
  });
  process.stdin.on("end", () => process.exit(0));
  reply({ ready: true });
}

if (import.meta.url === `file://${process.argv[1]}`) main();
