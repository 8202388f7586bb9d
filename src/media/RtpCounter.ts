/**
 * Counts an RTP stream as it passes — packets, bytes, frames (RFC 3550 §5.1: the marker bit ends a
 * video frame, RFC 7741 §4.1, RFC 6184 §5.1) and keyframes — and gives recent rates (bit/s, frames/s)
 * over the last few whole seconds. Counting is a few additions per packet and no timer: the rates are
 * worked out when asked, from per-second buckets. For the REST API and the metrics (docs/ARCHITECTURE.md
 * "Status and metrics").
 */
import type { VideoCodecName } from "./codecs.ts";
import { isKeyframeStart } from "./rtpPayload.ts";

/** Rates are averaged over this many whole seconds before the current one. */
export const RATE_WINDOW_SECONDS = 3;

export interface RtpCounts {
  packets: number;
  bytes: number;
  /** Frames ended (marker bits); video only, else 0. */
  frames: number;
  /** Keyframes begun; video only, when the codec is known, else 0. */
  keyframes: number;
  /** Bits per second over the last {@link RATE_WINDOW_SECONDS} s. */
  bitrate: number;
  /** Frames per second over the same window (video), else 0. */
  fps: number;
}

interface Bucket {
  second: number;
  bytes: number;
  frames: number;
}

export class RtpCounter {
  readonly #codec: VideoCodecName | undefined;
  readonly #video: boolean;
  readonly #now: () => number;
  #packets = 0;
  #bytes = 0;
  #frames = 0;
  #keyframes = 0;
  /** One bucket per second, the newest last; at most the window plus the current second. */
  readonly #buckets: Bucket[] = [];

  /**
   * @param kind video counts frames (marker bits), and keyframes when `codec` is given.
   * @param now milliseconds (tests pass a fake clock).
   */
  constructor(kind: "video" | "audio", codec?: VideoCodecName, now: () => number = Date.now) {
    this.#video = kind === "video";
    this.#codec = codec;
    this.#now = now;
  }

  /** Counts one RTP packet (only read, never kept). */
  count(packet: Buffer): void {
    if (packet.length < 12) return;
    this.#packets++;
    this.#bytes += packet.length;
    let frameEnd = false;
    if (this.#video) {
      frameEnd = ((packet[1] as number) & 0x80) !== 0;
      if (frameEnd) this.#frames++;
      if (this.#codec && isKeyframeStart(this.#codec, packet)) this.#keyframes++;
    }
    const bucket = this.#bucket();
    bucket.bytes += packet.length;
    if (frameEnd) bucket.frames++;
  }

  counts(): RtpCounts {
    const current = Math.floor(this.#now() / 1000);
    let bytes = 0;
    let frames = 0;
    for (const bucket of this.#buckets) {
      if (bucket.second < current && bucket.second >= current - RATE_WINDOW_SECONDS) {
        bytes += bucket.bytes;
        frames += bucket.frames;
      }
    }
    return {
      packets: this.#packets,
      bytes: this.#bytes,
      frames: this.#frames,
      keyframes: this.#keyframes,
      bitrate: Math.round((bytes * 8) / RATE_WINDOW_SECONDS),
      fps: Math.round((frames / RATE_WINDOW_SECONDS) * 10) / 10,
    };
  }

  #bucket(): Bucket {
    const second = Math.floor(this.#now() / 1000);
    const last = this.#buckets[this.#buckets.length - 1];
    if (last?.second === second) return last;
    const bucket = { second, bytes: 0, frames: 0 };
    this.#buckets.push(bucket);
    while (this.#buckets.length > RATE_WINDOW_SECONDS + 1) this.#buckets.shift();
    return bucket;
  }
}
