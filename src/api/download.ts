/**
 * A recording as an HTTP answer: `Content-Disposition: attachment` with the name (RFC 6266, RFC 8187
 * for non-ASCII names), and byte ranges (RFC 9110 §14) so that a `<video>` can seek and a download can
 * resume. One range at most: several (multipart/byteranges) are answered with the whole file, which
 * RFC 9110 §14.2 allows.
 */
import { createReadStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import contentDisposition from "content-disposition";
import parseRange from "range-parser";
import type { RecordingInfo } from "../media/Recordings.ts";

export function fileResponse(
  file: FileHandle,
  info: RecordingInfo,
  method: string,
  rangeHeader: string | undefined,
): Response {
  const size = info.bytes;
  const headers = new Headers({
    "content-type": info.contentType,
    "content-disposition": contentDisposition(info.name),
    "accept-ranges": "bytes",
    "cache-control": "private, no-store",
    "last-modified": new Date(info.modified).toUTCString(),
  });
  let start = 0;
  let end = size - 1;
  let status = 200;
  if (rangeHeader !== undefined && size > 0) {
    const ranges = parseRange(size, rangeHeader.slice(0, 1000), { combine: true });
    if (ranges === -1) {
      void file.close();
      headers.set("content-range", `bytes */${size}`);
      return new Response(null, { status: 416, headers });
    }
    // -2 (malformed) and several ranges: the whole file.
    if (ranges !== -2 && ranges.type === "bytes" && ranges.length === 1) {
      const [range] = ranges;
      if (range) {
        start = range.start;
        end = range.end;
        status = 206;
        headers.set("content-range", `bytes ${start}-${end}/${size}`);
      }
    }
  }
  headers.set("content-length", String(size === 0 ? 0 : end - start + 1));
  if (method === "HEAD" || size === 0) {
    void file.close();
    return new Response(null, { status, headers });
  }
  // The stream closes the file when it ends, fails or is cancelled (a client that goes away).
  const stream = createReadStream("", { fd: file, start, end, autoClose: true });
  return new Response(Readable.toWeb(stream) as ReadableStream, { status, headers });
}
