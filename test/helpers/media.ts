/** Looking inside media files with GStreamer: what a user's player would find. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Discovered {
  durationSeconds: number;
  video: string[];
  audio: string[];
  raw: string;
}

/** `gst-discoverer-1.0` on a file: its duration and the codecs of its streams. */
export function discover(file: string): Discovered {
  const raw = execFileSync("gst-discoverer-1.0", ["-v", file], { encoding: "utf8", timeout: 20_000 });
  const duration = raw.match(/Duration: (\d+):(\d+):([\d.]+)/);
  const seconds = duration ? Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]) : 0;
  // Stream lines read "    video #1: video/x-vp8, width=(int)640, …".
  const streams = (kind: string) =>
    [...raw.matchAll(new RegExp(`^\\s*${kind} #\\d+: (.+)$`, "gm"))].map((m) => (m[1] ?? "").trim());
  return { durationSeconds: seconds, video: streams("video"), audio: streams("audio"), raw };
}

/**
 * `decodebin` with every stream of `file` consumed: the first link takes the stream `steps` can take;
 * a file's second stream (the audio of a video file, or the video of an audio check) goes to a
 * fakesink. With an unlinked stream decodebin's queue fills and the whole pipeline can stall at random
 * (occasional 60 s timeouts on recordings that hold both video and audio). The extra branch is added
 * only when the file has a second stream: a sink that never gets data never ends, and neither would
 * the pipeline.
 */
function decodeAll(file: string, steps: string[]): string[] {
  const { video, audio } = discover(file);
  const other =
    video.length > 0 && audio.length > 0 ? ["d.", "!", "fakesink", "sync=false", "async=false"] : [];
  return ["decodebin", "name=d", "d.", "!", ...steps, ...other];
}

/**
 * Runs `filesrc location=FILE ! STEPS ! SINK location=TMP` and returns what the sink wrote: raw
 * samples or pixels to look at.
 */
function decodeToBytes(
  file: string,
  steps: string[],
  sink: "filesink" | "multifilesink" = "filesink",
): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "device-rtc-decode-"));
  const out = join(dir, "decoded.raw");
  try {
    execFileSync(
      "gst-launch-1.0",
      [
        "-q",
        "filesrc",
        `location=${file}`,
        "!",
        ...decodeAll(file, [...steps, "!", sink, `location=${out}`]),
      ],
      {
        timeout: 60_000,
      },
    );
    return readFileSync(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Decodes a whole file; throws if any part of it does not decode. */
export function decodesToTheEnd(file: string): void {
  execFileSync(
    "gst-launch-1.0",
    ["-q", "filesrc", `location=${file}`, "!", ...decodeAll(file, ["fakesink"])],
    {
      timeout: 60_000,
    },
  );
}

/** RMS (0…1) of the decoded audio of a file, mono 48 kHz. */
export function audioRms(file: string): number {
  const samples = decodeToBytes(file, [
    "audioconvert",
    "!",
    "audioresample",
    "!",
    "audio/x-raw,format=S16LE,channels=1,rate=48000",
  ]);
  let sum = 0;
  const count = Math.floor(samples.length / 2);
  for (let i = 0; i < count; i++) sum += (samples.readInt16LE(i * 2) / 32768) ** 2;
  return count ? Math.sqrt(sum / count) : 0;
}

/** The 16-bit samples of a WAV file (interleaved), read as far as it has been written. */
function wavSamples(file: string): Int16Array {
  const data = readFileSync(file);
  const start = data.indexOf("data") + 8;
  const count = Math.max(0, Math.floor((data.length - start) / 2));
  const samples = new Int16Array(count);
  for (let i = 0; i < count; i++) samples[i] = data.readInt16LE(start + i * 2);
  return samples;
}

/** RMS (0…1) of a WAV file's samples (16-bit). */
export function wavRms(file: string): number {
  const samples = wavSamples(file);
  let sum = 0;
  for (const sample of samples) sum += (sample / 32768) ** 2;
  return samples.length > 0 ? Math.sqrt(sum / samples.length) : 0;
}

/** Seconds of audio in a 48 kHz stereo 16-bit WAV file (as far as it has been written). */
export function wavSeconds(file: string): number {
  return wavSamples(file).length / 2 / 48_000;
}

/**
 * Amplitude (0…1) of the `hz` component of the first channel of a 48 kHz stereo WAV file (Goertzel
 * over the whole file): tells which tones a mix holds.
 */
export function wavToneLevel(file: string, hz: number): number {
  const samples = wavSamples(file);
  const frames = Math.floor(samples.length / 2);
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / 48_000);
  let previous = 0;
  let beforePrevious = 0;
  for (let i = 0; i < frames; i++) {
    const current = (samples[i * 2] ?? 0) / 32768 + coefficient * previous - beforePrevious;
    beforePrevious = previous;
    previous = current;
  }
  const power = previous ** 2 + beforePrevious ** 2 - coefficient * previous * beforePrevious;
  return frames > 0 ? (2 * Math.sqrt(Math.max(0, power))) / frames : 0;
}

/** The mean [r, g, b] of a w×h region at (x, y) of the last frame of a video file, scaled to 640x480. */
export function lastFrameRegion(
  file: string,
  region: { x: number; y: number; w: number; h: number },
): number[] {
  // multifilesink with a fixed name overwrites the file with every frame: the last one stays.
  const frame = decodeToBytes(
    file,
    ["videoconvert", "!", "videoscale", "!", "video/x-raw,format=RGB,width=640,height=480"],
    "multifilesink",
  );
  return meanRgb(frame, 640, region);
}

export function meanRgb(
  frame: Buffer | Uint8Array | number[],
  width: number,
  region: { x: number; y: number; w: number; h: number },
  channels = 3,
): number[] {
  const sum = [0, 0, 0];
  for (let y = region.y; y < region.y + region.h; y++) {
    for (let x = region.x; x < region.x + region.w; x++) {
      const offset = (y * width + x) * channels;
      for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + Number(frame[offset + c] ?? 0);
    }
  }
  return sum.map((value) => value / (region.w * region.h));
}

/** Largest per-channel difference between two colours. */
export function colourDistance(a: number[], b: number[]): number {
  return Math.max(...a.map((value, i) => Math.abs(value - (b[i] ?? 0))));
}

/** Mean and standard deviation of the luma of a PNG (e.g. a screenshot), decoded with GStreamer. */
export function pngLuma(png: string): { mean: number; stddev: number } {
  const pixels = decodeToBytes(png, ["videoconvert", "!", "video/x-raw,format=GRAY8"]);
  let sum = 0;
  for (const value of pixels) sum += value;
  const mean = sum / pixels.length;
  let variance = 0;
  for (const value of pixels) variance += (value - mean) ** 2;
  return { mean, stddev: Math.sqrt(variance / pixels.length) };
}

/** The time span of what a file decodes to (first to last presentation time), in seconds. */
export function decodedSpanSeconds(file: string): number {
  const output = execFileSync(
    "gst-launch-1.0",
    [
      "-v",
      "filesrc",
      `location=${file}`,
      "!",
      ...decodeAll(file, ["fakesink", "silent=false", "sync=false"]),
    ],
    { encoding: "utf8", timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  const times = [...output.matchAll(/pts: (\d+):(\d+):([\d.]+)/g)].map(
    (m) => Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]),
  );
  return times.length ? Math.max(...times) - Math.min(...times) : 0;
}
