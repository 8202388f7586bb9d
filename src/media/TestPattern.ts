/**
 * The `test` video source: raw I420 frames drawn here and written to the encoder process's stdin
 * (`fdsrc fd=0 ! rawvideoparse`). Each frame carries the wall-clock time at which it was drawn, burnt in
 * as two rows of black and white blocks that a page can read back from a canvas — so the time from
 * "glass" (here) to glass (the browser's screen) can be measured on one machine. Behind them, colour
 * bars scroll sideways and a box of noise bounces around, so the picture visibly moves and the encoder
 * has real work to do; the encoder pipeline adds a readable clock.
 */
import { randomFillSync } from "node:crypto";
import type { Logger } from "../common/logger.ts";
import type { GstProcess } from "./GstProcess.ts";

/** Where the clock blocks are, for a frame of the given size. The page decoder uses the same numbers. */
export interface ClockBlockLayout {
  /** Side of one square block, in pixels. */
  block: number;
  x: number;
  y: number;
  columns: number;
  rows: number;
}

/** 40 bits of milliseconds (Date.now() modulo 2^40, ~34.8 years) and an 8-bit check. */
const CLOCK_BITS = 48;

/** Blocks per row: two rows of 24 hold the 48 bits. */
const CLOCK_COLUMNS = 24;
/** The smallest block, pixels, for frames narrower than 26 blocks of 4: a block must survive encoding. */
const MIN_BLOCK = 4;

/** The row of blocks fills the frame's width but for one block of margin on each side. */
export function clockBlockLayout(width: number): ClockBlockLayout {
  const block = Math.max(MIN_BLOCK, Math.floor(width / (CLOCK_COLUMNS + 2)));
  return { block, x: block, y: block, columns: CLOCK_COLUMNS, rows: CLOCK_BITS / CLOCK_COLUMNS };
}

/** The 48 bits for a time: 40 bits of milliseconds, then (sum of those 5 bytes) XOR 0xA5. */
export function clockBits(timeMs: number): number[] {
  const value = BigInt(Math.floor(timeMs)) & ((1n << 40n) - 1n);
  const bytes = Array.from({ length: 5 }, (_, i) => Number((value >> BigInt(8 * (4 - i))) & 0xffn));
  const check = (bytes.reduce((a, b) => a + b, 0) & 0xff) ^ 0xa5;
  const bits: number[] = [];
  for (const byte of [...bytes, check]) for (let bit = 7; bit >= 0; bit--) bits.push((byte >> bit) & 1);
  return bits;
}

/** SMPTE-like bars as (Y, U, V): white, yellow, cyan, green, magenta, red, blue, black. */
const BARS: Array<[number, number, number]> = [
  [235, 128, 128],
  [210, 16, 146],
  [170, 166, 16],
  [145, 54, 34],
  [106, 202, 222],
  [81, 90, 240],
  [41, 240, 110],
  [16, 128, 128],
];
/** Scroll speed, pixels per frame. */
const SPEED = 4;
const WHITE = 235;
/** Width of the noise box, pixels. */
const BOX = 192;

/** A position moving back and forth over [0, span]. */
function bounce(step: number, span: number): number {
  if (span <= 0) return 0;
  const phase = step % (2 * span);
  return phase <= span ? phase : 2 * span - phase;
}
const BLACK = 16;
/** Frame buffers: one being drawn, up to two being written to the encoder's stdin. */
const FRAME_BUFFERS = 3;
/** Behind schedule by more than this (a suspended machine, a debugger), the schedule restarts, ms. */
const STALL_RESET_MS = 1000;

export interface TestPatternOptions {
  width: number;
  height: number;
  framerate: number;
  logger: Logger;
}

export class TestPattern {
  readonly #width: number;
  readonly #height: number;
  readonly #frameMs: number;
  readonly #layout: ClockBlockLayout;
  readonly #log: Logger;
  /** Two bar periods of each plane's row, so any scroll offset is one contiguous slice. */
  readonly #rowY: Buffer;
  readonly #rowU: Buffer;
  readonly #rowV: Buffer;
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #process: GstProcess | undefined;
  #blockedOn: NodeJS.WritableStream | undefined;
  readonly #frameSize: number;
  readonly #freeBuffers: Buffer[];

  constructor(options: TestPatternOptions) {
    if (options.width % 2 || options.height % 2)
      throw new Error("the test pattern needs an even width and height");
    this.#width = options.width;
    this.#height = options.height;
    this.#frameMs = 1000 / options.framerate;
    this.#layout = clockBlockLayout(options.width);
    this.#log = options.logger;
    const bar = Math.ceil(this.#width / BARS.length);
    const row = (plane: 0 | 1 | 2, scale: number) => {
      const length = (2 * this.#width) / scale;
      const buffer = Buffer.alloc(length);
      for (let x = 0; x < length; x++) {
        const color = BARS[Math.floor(((x * scale) % this.#width) / bar)] ?? [16, 128, 128];
        buffer[x] = color[plane];
      }
      return buffer;
    };
    this.#rowY = row(0, 1);
    this.#rowU = row(1, 2);
    this.#rowV = row(2, 2);
    this.#frameSize = (this.#width * this.#height * 3) / 2;
    this.#freeBuffers = Array.from({ length: FRAME_BUFFERS }, () => Buffer.alloc(this.#frameSize));
  }

  /** Feeds frames to whichever process `process` is currently running, until {@link TestPattern.close}. */
  start(process: GstProcess): void {
    this.#process = process;
    this.#startedAt = performance.now();
    this.#frame = 0;
    this.#schedule();
  }

  /** Stops feeding frames (the stream is closing). Idempotent. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#process = undefined;
  }

  /** Draws one frame stamped with `timeMs`, into `frame` if given. */
  draw(timeMs: number, frameNumber: number, frame: Buffer = Buffer.allocUnsafe(this.#frameSize)): Buffer {
    const width = this.#width;
    const height = this.#height;
    const offset = (frameNumber * SPEED) % width;
    for (let y = 0; y < height; y++) this.#rowY.copy(frame, y * width, offset, offset + width);
    const chromaWidth = width / 2;
    const uStart = width * height;
    const vStart = uStart + (width * height) / 4;
    const chromaOffset = offset >> 1;
    for (let y = 0; y < height / 2; y++) {
      this.#rowU.copy(frame, uStart + y * chromaWidth, chromaOffset, chromaOffset + chromaWidth);
      this.#rowV.copy(frame, vStart + y * chromaWidth, chromaOffset, chromaOffset + chromaWidth);
    }
    // A box of noise bouncing around: detail the encoder must spend its bitrate on, like a real scene.
    const boxWidth = Math.min(BOX, width - 2) & ~1;
    const boxHeight = Math.min(BOX * 0.75, height - 2) & ~1;
    const boxX = bounce(frameNumber * 3, width - boxWidth) & ~1;
    const boxY = bounce(frameNumber * 2, height - boxHeight) & ~1;
    for (let y = boxY; y < boxY + boxHeight; y++) randomFillSync(frame, y * width + boxX, boxWidth);
    // The clock blocks, on a grey band one block wider all round.
    const { block, x: x0, y: y0, columns, rows } = this.#layout;
    const bits = clockBits(timeMs);
    // Whole pixels: an odd block (e.g. 49 at 1280 wide) would put the band at a half pixel.
    const bandX = x0 - (block >> 1);
    const bandY = y0 - (block >> 1);
    const bandWidth = (columns + 1) * block;
    const bandHeight = (rows + 1) * block;
    for (let y = bandY; y < bandY + bandHeight && y < height; y++)
      frame.fill(128, y * width + bandX, y * width + bandX + bandWidth);
    for (let y = bandY >> 1; y < (bandY + bandHeight) >> 1; y++) {
      frame.fill(
        128,
        uStart + y * chromaWidth + (bandX >> 1),
        uStart + y * chromaWidth + ((bandX + bandWidth) >> 1),
      );
      frame.fill(
        128,
        vStart + y * chromaWidth + (bandX >> 1),
        vStart + y * chromaWidth + ((bandX + bandWidth) >> 1),
      );
    }
    for (let i = 0; i < bits.length; i++) {
      const bx = x0 + (i % columns) * block;
      const by = y0 + Math.floor(i / columns) * block;
      const luma = bits[i] ? WHITE : BLACK;
      for (let y = by; y < by + block; y++) frame.fill(luma, y * width + bx, y * width + bx + block);
    }
    return frame;
  }

  #schedule(): void {
    const due = this.#startedAt + (this.#frame + 1) * this.#frameMs;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, due - performance.now()));
  }

  #tick(): void {
    if (!this.#process) return;
    const stdin = this.#process.stdin;
    this.#frame++;
    // A restarted process has a new stdin: whatever the old one was waiting for no longer matters.
    if (this.#blockedOn !== stdin) this.#blockedOn = undefined;
    const buffer = this.#freeBuffers.pop();
    if (stdin && !this.#blockedOn && buffer) {
      // Frame buffers are reused once written out, rather than allocating 460 kB thirty times a second.
      const ok = stdin.write(this.draw(Date.now(), this.#frame, buffer), () =>
        this.#freeBuffers.push(buffer),
      );
      if (!ok) {
        // The encoder is behind: skip frames until it drains rather than queue latency.
        this.#blockedOn = stdin;
        stdin.once("drain", () => {
          if (this.#blockedOn === stdin) this.#blockedOn = undefined;
        });
      }
    } else if (buffer) {
      // No process, or it is behind: this frame is skipped.
      this.#freeBuffers.push(buffer);
    }
    // After a long stall (machine suspended, debugger), restart the schedule instead of bursting.
    if (performance.now() - (this.#startedAt + this.#frame * this.#frameMs) > STALL_RESET_MS) {
      this.#log.debug("test pattern fell behind; resetting its schedule");
      this.#startedAt = performance.now() - this.#frame * this.#frameMs;
    }
    this.#schedule();
  }
}
