/**
 * What one recording may take (docs/SECURITY.md "The media side"): a size cap, a duration cap, and a
 * floor of free space in the record directory's filesystem — below it no recording starts, and a
 * running one ends before the disk is full. A limit reached ends the recording the way a normal end
 * does (end of stream: the file is finalized and plays); the sender's session goes on.
 *
 * The size and the free space are looked at every {@link RECORDING_CHECK_MS}; the duration is a timer.
 * The probes (free space, file size) can be replaced, so the unit tests need no full disk.
 */
import { statfsSync, statSync } from "node:fs";
import { RECORDING_CHECK_MS } from "./constants.ts";

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

export interface RecordingLimits {
  /** Largest file, bytes; 0: no cap. */
  maxBytes: number;
  /** Longest recording, seconds; 0: no cap. */
  maxSeconds: number;
  /** Free space the record directory's filesystem keeps, bytes; 0: no floor. */
  minFreeBytes: number;
}

export const DEFAULT_RECORDING_LIMITS: Readonly<RecordingLimits> = {
  // Half of FAT32's 4 GiB file limit (SD cards, USB sticks), and a download a phone can hold: about
  // 4.5 h of a 1 Mbit/s camera.
  maxBytes: 2 * GIB,
  // A recording left running by mistake ends within a working afternoon.
  maxSeconds: 4 * 3600,
  // Room for the system (journal, updates) and for the muxer's index when a recording ends.
  minFreeBytes: 512 * MIB,
};

/** Each limit is named by its flag, in log lines and errors. */
export type RecordingLimitName = "--max-recording-bytes" | "--max-recording-seconds" | "--min-free-disk";

/** A limit that a recording reached. */
export interface LimitHit {
  limit: RecordingLimitName;
  /** The limit's value (bytes or seconds). */
  value: number;
  /** What was measured: the file's size, the seconds recorded, or the free space, at the check. */
  measured: number;
}

/** How the limits are measured (replaced in tests). */
export interface RecordingProbes {
  /** Free space for an unprivileged writer in the filesystem holding `directory`, bytes. */
  freeBytes(directory: string): number;
  /** The file's size, bytes. */
  fileBytes(path: string): number;
}

/** Free space for an unprivileged writer (`f_bavail`, not root's reserve) where `directory` is, bytes. */
export function freeDiskBytes(directory: string): number {
  const { bavail, bsize } = statfsSync(directory);
  return bavail * bsize;
}

export const SYSTEM_PROBES: RecordingProbes = {
  freeBytes: freeDiskBytes,
  fileBytes: (path) => statSync(path).size,
};

/** `536870912` → `512 MiB`, for messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${+(bytes / GIB).toFixed(1)} GiB`;
  if (bytes >= MIB) return `${+(bytes / MIB).toFixed(1)} MiB`;
  return `${bytes} bytes`;
}

/** No recording starts: the record directory's filesystem has less free space than `--min-free-disk`. */
export class LowDiskSpaceError extends Error {
  override readonly name = "LowDiskSpaceError";
  constructor(
    readonly freeBytes: number,
    readonly minFreeBytes: number,
  ) {
    super(
      `not recording: ${formatBytes(freeBytes)} free in the record directory, below --min-free-disk ` +
        `(${formatBytes(minFreeBytes)})`,
    );
  }
}

/**
 * Throws {@link LowDiskSpaceError} when `directory` (which must exist) has less free space than the
 * floor.
 */
export function checkFreeDisk(
  directory: string,
  limits: RecordingLimits,
  probes: RecordingProbes = SYSTEM_PROBES,
): void {
  if (limits.minFreeBytes <= 0) return;
  const free = probes.freeBytes(directory);
  if (free < limits.minFreeBytes) throw new LowDiskSpaceError(free, limits.minFreeBytes);
}

export interface RecordingWatchOptions {
  /** The recording's file. */
  path: string;
  /** The record directory (where free space is measured). */
  directory: string;
  limits: RecordingLimits;
  /** Called once, for the first limit reached; the watch has stopped by then. */
  onLimit: (hit: LimitHit) => void;
  probes?: RecordingProbes | undefined;
}

/** Watches one recording against its limits from its start; reports the first limit reached, once. */
export class RecordingWatch {
  readonly #options: RecordingWatchOptions;
  readonly #probes: RecordingProbes;
  readonly #startedAt = Date.now();
  readonly #timers: NodeJS.Timeout[] = [];
  #closed = false;

  constructor(options: RecordingWatchOptions) {
    this.#options = options;
    this.#probes = options.probes ?? SYSTEM_PROBES;
    const { maxBytes, maxSeconds, minFreeBytes } = options.limits;
    if (maxSeconds > 0) {
      this.#timers.push(
        setTimeout(
          () => this.#hit("--max-recording-seconds", maxSeconds, (Date.now() - this.#startedAt) / 1000),
          maxSeconds * 1000,
        ),
      );
    }
    if (maxBytes > 0 || minFreeBytes > 0)
      this.#timers.push(setInterval(() => this.check(), RECORDING_CHECK_MS));
    for (const timer of this.#timers) timer.unref();
  }

  /** Measures the size and the free space now (also done every {@link RECORDING_CHECK_MS}). */
  check(): void {
    if (this.#closed) return;
    const { path, directory, limits } = this.#options;
    // A probe that fails (the file deleted under us, a filesystem gone) skips that check: the
    // recorder's own failure is reported by its process.
    const measure = (probe: () => number) => {
      try {
        return probe();
      } catch {
        return undefined;
      }
    };
    if (limits.maxBytes > 0) {
      const size = measure(() => this.#probes.fileBytes(path));
      if (size !== undefined && size >= limits.maxBytes) {
        this.#hit("--max-recording-bytes", limits.maxBytes, size);
        return;
      }
    }
    if (limits.minFreeBytes > 0) {
      const free = measure(() => this.#probes.freeBytes(directory));
      if (free !== undefined && free < limits.minFreeBytes)
        this.#hit("--min-free-disk", limits.minFreeBytes, free);
    }
  }

  /** Stops watching. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
  }

  #hit(limit: RecordingLimitName, value: number, measured: number): void {
    if (this.#closed) return;
    this.close();
    this.#options.onLimit({ limit, value, measured });
  }
}
