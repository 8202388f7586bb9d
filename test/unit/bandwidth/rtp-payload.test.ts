/** Keyframe starts in VP8 (RFC 7741) and H.264 (RFC 6184) RTP payloads, from packets built by hand. */
import { describe, expect, it } from "vitest";
import { isH264KeyframeStart, isVp8KeyframeStart, rtpPayloadOffset } from "../../../src/media/rtpPayload.ts";

function rtp(payload: number[], options: { csrcs?: number; extensionWords?: number } = {}): Buffer {
  const csrcs = options.csrcs ?? 0;
  const ext = options.extensionWords;
  const header = Buffer.alloc(12 + csrcs * 4 + (ext === undefined ? 0 : 4 + ext * 4));
  header[0] = 0x80 | (ext === undefined ? 0 : 0x10) | csrcs;
  header[1] = 96;
  if (ext !== undefined) header.writeUInt16BE(ext, 12 + csrcs * 4 + 2);
  return Buffer.concat([header, Buffer.from(payload)]);
}

/** The descriptor our payloader writes (picture-id-mode=15-bit): X, S, PID 0, I, a 15-bit picture id. */
const VP8_START = [0x90, 0x80, 0x81, 0x23];

describe("VP8", () => {
  it("a keyframe's first packet (P bit 0 in the payload header)", () => {
    expect(isVp8KeyframeStart(rtp([...VP8_START, 0x10, 0x02, 0x00]))).toBe(true);
  });
  it("an interframe's first packet (P bit 1)", () => {
    expect(isVp8KeyframeStart(rtp([...VP8_START, 0x11, 0x02, 0x00]))).toBe(false);
  });
  it("a keyframe's later packet (S bit clear) is not a start", () => {
    expect(isVp8KeyframeStart(rtp([0x80, 0x80, 0x81, 0x23, 0x10]))).toBe(false);
  });
  it("without the extension byte, and with a 7-bit picture id, TL0PICIDX and TID", () => {
    expect(isVp8KeyframeStart(rtp([0x10, 0x10]))).toBe(true);
    expect(isVp8KeyframeStart(rtp([0x90, 0xe0, 0x05, 0x07, 0x40, 0x10]))).toBe(true);
    expect(isVp8KeyframeStart(rtp([0x90, 0xe0, 0x05, 0x07, 0x40, 0x11]))).toBe(false);
  });
  it("reads past CSRCs and a header extension", () => {
    expect(isVp8KeyframeStart(rtp([...VP8_START, 0x10], { csrcs: 2, extensionWords: 2 }))).toBe(true);
    expect(rtpPayloadOffset(rtp([1], { csrcs: 1, extensionWords: 1 }))).toBe(12 + 4 + 8);
  });
  it("truncated packets are never keyframes", () => {
    expect(isVp8KeyframeStart(Buffer.from([0x80, 96]))).toBe(false);
    expect(isVp8KeyframeStart(rtp([0x90, 0x80]))).toBe(false);
    expect(isVp8KeyframeStart(rtp([], { extensionWords: 40 }).subarray(0, 20))).toBe(false);
  });
});

describe("H.264", () => {
  it("a STAP-A carrying SPS and PPS (what rtph264pay sends before an IDR)", () => {
    expect(isH264KeyframeStart(rtp([0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce]))).toBe(true);
  });
  it("a single SPS NAL unit, and a single IDR slice", () => {
    expect(isH264KeyframeStart(rtp([0x67, 0x42, 0xe0]))).toBe(true);
    expect(isH264KeyframeStart(rtp([0x65, 0x88]))).toBe(true);
  });
  it("the first fragment of an IDR slice, but not its middle", () => {
    expect(isH264KeyframeStart(rtp([0x7c, 0x85, 0x88]))).toBe(true);
    expect(isH264KeyframeStart(rtp([0x7c, 0x05, 0x88]))).toBe(false);
  });
  it("non-IDR slices, whole or fragmented, and a STAP-A without SPS", () => {
    expect(isH264KeyframeStart(rtp([0x41, 0x9a]))).toBe(false);
    expect(isH264KeyframeStart(rtp([0x7c, 0x81, 0x9a]))).toBe(false);
    expect(isH264KeyframeStart(rtp([0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x41, 0x9a]))).toBe(false);
  });
  it("a STAP-A whose sizes run past the packet does not read beyond it", () => {
    expect(isH264KeyframeStart(rtp([0x78, 0xff, 0xff, 0x41]))).toBe(false);
  });
});
