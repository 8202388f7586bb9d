/**
 * The recordings on disk, as the REST API offers them: listed, opened for download, deleted — by
 * name only. A name from a client is never joined to a path: it must have the shape of a name
 * {@link recordingFileName} makes, and equal an entry of the record directory, and that entry must be a
 * regular file (not a link) — so `../`, NUL, absolute paths or a link planted in the directory lead
 * nowhere (docs/SECURITY.md "REST API").
 */
import { constants } from "node:fs";
import { type FileHandle, lstat, open, readdir, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";

/** A recording's name: what {@link recordingFileName} and `createRecordingFile` make, and nothing else. */
export const RECORDING_NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N}._-]{0,118}\.(webm|mkv)$/u;
/** Longest name accepted (UTF-16 code units); made names are at most 64 plus a `-N` suffix. */
export const MAX_RECORDING_NAME_LENGTH = 128;

export interface RecordingInfo {
  name: string;
  bytes: number;
  /** ISO times: when the file was created (its birth time where the filesystem keeps it) and last written. */
  created: string;
  modified: string;
  /** `video/webm` (VP8, or audio only) or `video/x-matroska` (H.264). */
  contentType: string;
  /** Still being recorded: not finalized yet, so it can be neither downloaded nor deleted. */
  active: boolean;
}

/** No recording of that name. */
export class RecordingNotFoundError extends Error {
  override readonly name = "RecordingNotFoundError";
}

/** The recording is still being written. */
export class RecordingBusyError extends Error {
  override readonly name = "RecordingBusyError";
}

export function isRecordingName(name: string): boolean {
  return name.length <= MAX_RECORDING_NAME_LENGTH && RECORDING_NAME_PATTERN.test(name);
}

function contentTypeOf(name: string): string {
  return name.endsWith(".mkv") ? "video/x-matroska" : "video/webm";
}

export class Recordings {
  readonly directory: string;
  readonly #active: () => readonly string[];

  /** @param active the paths being recorded now (the device's recorders). */
  constructor(directory: string, active: () => readonly string[]) {
    this.directory = resolve(directory);
    this.#active = active;
  }

  /** Every recording, newest first. */
  async list(): Promise<RecordingInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const active = new Set(this.#active().map((path) => resolve(path)));
    const found: RecordingInfo[] = [];
    for (const name of names) {
      if (!isRecordingName(name)) continue;
      const path = join(this.directory, name);
      const stat = await lstat(path).catch(() => undefined);
      if (!stat?.isFile()) continue;
      found.push({
        name,
        bytes: stat.size,
        created: (stat.birthtimeMs > 0 ? stat.birthtime : stat.mtime).toISOString(),
        modified: stat.mtime.toISOString(),
        contentType: contentTypeOf(name),
        active: active.has(path),
      });
    }
    return found.sort((a, b) => b.created.localeCompare(a.created) || b.name.localeCompare(a.name));
  }

  /**
   * Opens a finished recording for reading (the caller closes the handle).
   * @throws RecordingNotFoundError, RecordingBusyError
   */
  async open(name: string): Promise<{ info: RecordingInfo; file: FileHandle }> {
    const info = await this.#find(name);
    if (info.active) throw new RecordingBusyError(`${name} is still being recorded`);
    // O_NOFOLLOW: a link swapped in since the listing is refused, not followed.
    const file = await open(join(this.directory, info.name), constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = await file.stat();
    if (!stat.isFile()) {
      await file.close();
      throw new RecordingNotFoundError(`no recording ${name}`);
    }
    return { info: { ...info, bytes: stat.size }, file };
  }

  /**
   * Deletes a finished recording.
   * @throws RecordingNotFoundError, RecordingBusyError
   */
  async delete(name: string): Promise<void> {
    const info = await this.#find(name);
    if (info.active) throw new RecordingBusyError(`${name} is still being recorded`);
    await unlink(join(this.directory, info.name));
  }

  /** The recording named exactly `name` among those listed. */
  async #find(name: string): Promise<RecordingInfo> {
    if (!isRecordingName(name)) throw new RecordingNotFoundError("no such recording");
    const info = (await this.list()).find((recording) => recording.name === name);
    if (!info) throw new RecordingNotFoundError(`no recording ${name}`);
    return info;
  }
}
