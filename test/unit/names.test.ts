/**
 * Hostile names through everything that is pure Node: normalisation (what overlays and logs get),
 * recording file names (allow-list, length, uniqueness, always inside the record dir, private), and
 * the gst-launch quoting function's invariants. The same names run through real gst-launch-1.0 in
 * test/device/hostile-names.test.ts.
 */
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_NAME_LENGTH, normalizeName } from "../../src/common/names.ts";
import { GstValueError, gstString, pangoText } from "../../src/media/launchSyntax.ts";
import { createRecordingFile, MAX_FILE_NAME_LENGTH, recordingFileName } from "../../src/media/Recorder.ts";
import { HOSTILE_NAMES } from "../helpers/hostile.ts";

const AT = new Date("2026-11-24T17:05:01.123Z");

describe("normalizeName", () => {
  it.each([
    ["phone", "phone"],
    ["  Alice's   phone  ", "Alice's phone"],
    ["line1\nline2", "line1 line2"],
    ["\u202Egnp.exe", "gnp.exe"],
    ["a\u200Bb", "ab"],
    ["nul\u0000byte", "nulbyte"],
    ["e\u0301", "é"],
    ["\u0007\u001b", "fallback"],
    ["", "fallback"],
  ])("%j → %j", (raw, expected) => {
    expect(normalizeName(raw, "fallback")).toBe(expected);
  });

  it.each(HOSTILE_NAMES)("%s: printable, at most 64 code points, never empty", (_what, name) => {
    const normalized = normalizeName(name, "fallback");
    expect(normalized).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/u);
    expect(Array.from(normalized).length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
    expect(normalized).toBe(normalized.trim());
    expect(normalized.length).toBeGreaterThan(0);
  });
});

describe("recording file names", () => {
  it("time, then the sender's name", () => {
    expect(recordingFileName(AT, "phone", "webm")).toBe("2026-11-24T17-05-01Z-phone.webm");
    expect(recordingFileName(AT, "Alice's phone", "mkv")).toBe("2026-11-24T17-05-01Z-Alice_s_phone.mkv");
    expect(recordingFileName(AT, "手机", "webm")).toBe("2026-11-24T17-05-01Z-手机.webm");
  });

  it.each(HOSTILE_NAMES)("%s: only [letters digits . _ -], at most 64, no leading dot", (_what, name) => {
    for (const sender of [name, normalizeName(name, "x")]) {
      const file = recordingFileName(AT, sender, "webm");
      expect(file).toMatch(/^2026-11-24T17-05-01Z-[\p{L}\p{N}._-]+\.webm$/u);
      expect(file.length).toBeLessThanOrEqual(MAX_FILE_NAME_LENGTH);
      expect(file.slice("2026-11-24T17-05-01Z-".length)).not.toMatch(/^\./);
    }
  });

  it("are created private, in a private directory, directly inside it, never replacing a file", () => {
    const parent = mkdtempSync(join(tmpdir(), "device-rtc-names-"));
    const dir = join(parent, "a dir with 'quotes' and \"spaces\"", "recordings");
    const created = HOSTILE_NAMES.map(([, name]) =>
      createRecordingFile(dir, recordingFileName(AT, name, "webm")),
    );
    const again = createRecordingFile(dir, recordingFileName(AT, "phone", "webm"));
    const third = createRecordingFile(dir, recordingFileName(AT, "phone", "webm"));
    expect(again).toMatch(/Z-phone\.webm$/);
    expect(third).toMatch(/Z-phone-2\.webm$/);
    for (const path of [...created, again, third]) {
      expect(dirname(path)).toBe(dir);
      expect(statSync(path).mode & 0o777).toBe(0o600);
    }
    expect(new Set(created).size).toBe(created.length);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir)).toHaveLength(created.length + 2);
    expect(readdirSync(parent)).toEqual(["a dir with 'quotes' and \"spaces\""]);
  });

  it.each(["../x.webm", "a/b.webm", ".hidden.webm", ".."])(
    "refuses a name that is not a plain file name: %s",
    (name) => {
      const dir = mkdtempSync(join(tmpdir(), "device-rtc-names-"));
      expect(() => createRecordingFile(dir, name)).toThrow(/not a plain file name/);
      expect(readdirSync(dir)).toEqual([]);
    },
  );
});

describe("gstString (what gst_parse_launch re-parses)", () => {
  it.each(HOSTILE_NAMES.filter(([, name]) => !name.includes("\0")))(
    "%s: one token with no space, no bare quote, nothing after its closing quote",
    (_what, name) => {
      const value = gstString(name);
      expect(value).toMatch(/^\\"[A-Za-z0-9_+/:.\\-]*\\"$/);
      // Inside the quotes only plain bytes and doubled backslashes before three octal digits.
      expect(value.slice(2, -2)).toMatch(/^(?:[A-Za-z0-9_+/:.-]|\\\\[0-3][0-7]{2})*$/);
    },
  );

  it("a NUL is refused (GStreamer would cut the value there)", () => {
    expect(() => gstString("a\0b")).toThrow(GstValueError);
  });

  it("plain values stay readable", () => {
    expect(gstString("/dev/video0")).toBe('\\"/dev/video0\\"');
    expect(gstString("my clip.mp4")).toBe('\\"my\\\\040clip.mp4\\"');
  });

  it("pangoText: markup is drawn as text", () => {
    expect(pangoText("<b>\"x\" & 'y'</b>")).toBe("&#60;b&#62;&#34;x&#34; &#38; &#39;y&#39;&#60;/b&#62;");
  });
});
