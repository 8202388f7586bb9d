/**
 * Recording limits (size, duration, free disk) with a fake clock and fake probes, the record
 * directory's permissions, and the size flags' parser. The real recorder ending at a limit is in
 * test/device/recording-limits.test.ts.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { byteSizeOption } from "../../src/cli/lifecycle.ts";
import { createRecordingFile, makeDirectoryPrivate, Recorder } from "../../src/media/Recorder.ts";
import {
  checkFreeDisk,
  freeDiskBytes,
  type LimitHit,
  LowDiskSpaceError,
  type RecordingLimits,
  RecordingWatch,
} from "../../src/media/RecordingLimits.ts";
import { capturedLogger } from "../helpers/logs.ts";

const MIB = 1024 ** 2;
const NONE: RecordingLimits = { maxBytes: 0, maxSeconds: 0, minFreeBytes: 0 };

/** A watch whose file size and free space the test sets; collects what it reports. */
function watch(limits: Partial<RecordingLimits>) {
  const disk = { file: 0, free: 10_000 * MIB };
  const hits: LimitHit[] = [];
  const w = new RecordingWatch({
    path: "/nowhere/rec.webm",
    directory: "/nowhere",
    limits: { ...NONE, ...limits },
    onLimit: (hit) => hits.push(hit),
    probes: { fileBytes: () => disk.file, freeBytes: () => disk.free },
  });
  return { w, disk, hits };
}

describe("RecordingWatch", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("--max-recording-seconds: reports the limit once, when the time is up and not before", () => {
    const { w, hits } = watch({ maxSeconds: 5 });
    vi.advanceTimersByTime(4999);
    expect(hits).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(hits).toEqual([{ limit: "--max-recording-seconds", value: 5, measured: 5 }]);
    vi.advanceTimersByTime(60_000);
    expect(hits).toHaveLength(1);
    w.close();
  });

  it("--max-recording-bytes: reports the size the file reached, at the next check", () => {
    const { w, disk, hits } = watch({ maxBytes: 10 * MIB });
    disk.file = 10 * MIB - 1;
    vi.advanceTimersByTime(5000);
    expect(hits).toEqual([]);
    disk.file = 10 * MIB + 4096;
    vi.advanceTimersByTime(1000);
    expect(hits).toEqual([{ limit: "--max-recording-bytes", value: 10 * MIB, measured: 10 * MIB + 4096 }]);
    disk.file = 20 * MIB;
    vi.advanceTimersByTime(10_000);
    expect(hits).toHaveLength(1);
    w.close();
  });

  it("--min-free-disk: a running recording is ended when free space falls below the floor", () => {
    const { w, disk, hits } = watch({ minFreeBytes: 512 * MIB, maxBytes: 2048 * MIB, maxSeconds: 3600 });
    disk.free = 512 * MIB;
    vi.advanceTimersByTime(3000);
    expect(hits).toEqual([]);
    disk.free = 511 * MIB;
    vi.advanceTimersByTime(1000);
    expect(hits).toEqual([{ limit: "--min-free-disk", value: 512 * MIB, measured: 511 * MIB }]);
    w.close();
  });

  it("0 is no limit: nothing is reported however long, large or full", () => {
    const { w, disk, hits } = watch(NONE);
    disk.file = 100_000 * MIB;
    disk.free = 0;
    vi.advanceTimersByTime(24 * 3600 * 1000);
    expect(hits).toEqual([]);
    w.close();
  });

  it("reports nothing once closed (a recording that ended otherwise)", () => {
    const { w, disk, hits } = watch({ maxSeconds: 2, maxBytes: MIB });
    vi.advanceTimersByTime(1000);
    w.close();
    disk.file = 10 * MIB;
    vi.advanceTimersByTime(10_000);
    expect(hits).toEqual([]);
  });

  it("a probe that fails skips its check instead of throwing out of a timer", () => {
    const hits: LimitHit[] = [];
    const w = new RecordingWatch({
      path: "/nowhere/rec.webm",
      directory: "/nowhere",
      limits: { ...NONE, maxBytes: MIB, minFreeBytes: MIB },
      onLimit: (hit) => hits.push(hit),
      probes: {
        fileBytes: () => {
          throw new Error("ENOENT");
        },
        freeBytes: () => 0,
      },
    });
    vi.advanceTimersByTime(1000);
    expect(hits).toEqual([{ limit: "--min-free-disk", value: MIB, measured: 0 }]);
    w.close();
  });
});

describe("free disk space at the start of a recording", () => {
  it("the real free space is measured (statfs) and a floor above it refuses, naming both", () => {
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-limits-"));
    const free = freeDiskBytes(dir);
    expect(free).toBeGreaterThan(0);
    expect(() => checkFreeDisk(dir, { ...NONE, minFreeBytes: free + 1024 ** 4 })).toThrow(LowDiskSpaceError);
    expect(() => checkFreeDisk(dir, { ...NONE, minFreeBytes: 1 })).not.toThrow();
    expect(() => checkFreeDisk(dir, NONE)).not.toThrow();
    const error = new LowDiskSpaceError(100 * MIB, 512 * MIB);
    expect(error.message).toBe(
      "not recording: 100 MiB free in the record directory, below --min-free-disk (512 MiB)",
    );
  });

  it("Recorder.create refuses below the floor, before any file or process exists", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "device-rtc-limits-")), "recordings");
    const { logger } = capturedLogger();
    const attempt = Recorder.create({
      directory: dir,
      senderName: "phone",
      video: "vp8",
      audio: true,
      limits: { ...NONE, minFreeBytes: 512 * MIB },
      probes: { freeBytes: () => 511 * MIB, fileBytes: () => 0 },
      logger,
    });
    await expect(attempt).rejects.toThrow(/below --min-free-disk \(512 MiB\)/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("the record directory", () => {
  const mode = (path: string) => statSync(path).mode & 0o7777;

  it("an existing directory open to others is tightened to 0700", () => {
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-limits-"));
    chmodSync(dir, 0o755);
    expect(makeDirectoryPrivate(dir)).toBe("tightened");
    expect(mode(dir)).toBe(0o700);
    expect(makeDirectoryPrivate(dir)).toBe("private");
  });

  it("a recording's file is 0600 in a directory tightened to 0700, also when it existed as 0777", () => {
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-limits-"));
    chmodSync(dir, 0o777);
    const path = createRecordingFile(dir, "2026-01-01T00-00-00Z-phone.webm");
    expect(mode(dir)).toBe(0o700);
    expect(mode(path)).toBe(0o600);
  });

  it("a new directory is created 0700", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "device-rtc-limits-")), "a", "b");
    createRecordingFile(dir, "2026-01-01T00-00-00Z-phone.webm");
    expect(mode(dir)).toBe(0o700);
  });

  it("a sticky directory (such as /tmp) is shared: left as it is", () => {
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-limits-"));
    chmodSync(dir, 0o1777);
    expect(makeDirectoryPrivate(dir)).toBe("shared");
    expect(mode(dir)).toBe(0o1777);
  });

  it("a file where the directory should be is an error, not a recording elsewhere", () => {
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-limits-"));
    const file = createRecordingFile(dir, "2026-01-01T00-00-00Z-phone.webm");
    expect(() => makeDirectoryPrivate(file)).toThrow(/not a directory/);
    mkdirSync(join(dir, "sub"), { mode: 0o700 });
    expect(makeDirectoryPrivate(join(dir, "sub"))).toBe("private");
  });
});

describe("size flags (--max-recording-bytes, --min-free-disk)", () => {
  const parse = byteSizeOption(0);

  it("take bytes, or K, M, G, T as powers of 1024", () => {
    expect(parse("0")).toBe(0);
    expect(parse("1048576")).toBe(MIB);
    expect(parse("512M")).toBe(512 * MIB);
    expect(parse("512MiB")).toBe(512 * MIB);
    expect(parse("2g")).toBe(2 * 1024 * MIB);
    expect(parse("2GB")).toBe(2 * 1024 * MIB);
    expect(parse("64K")).toBe(64 * 1024);
    expect(parse("1T")).toBe(1024 ** 4);
  });

  it("refuse anything else", () => {
    for (const text of ["", "-1", "1.5G", "12X", "G", "1 2M", "1e9", "0x10", "99999999999999999T"]) {
      expect(() => parse(text), text).toThrow(InvalidArgumentError);
    }
    expect(() => byteSizeOption(1024)("1023")).toThrow(/at least 1024 bytes/);
  });
});
