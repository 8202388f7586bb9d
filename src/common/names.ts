/**
 * Names that come from peers (a `meta.name`), made fit to show — once, where they enter the device.
 * What leaves here is still untrusted text: it goes into pipelines only through `gstString` (and
 * `pangoText` for an overlay) and into file names only through `recordingFileName`.
 */

/** Longest name kept, in code points: enough for any label, short enough for an overlay and a log line. */
export const MAX_NAME_LENGTH = 64;

/**
 * Characters that are not text: controls (C0, C1 — newlines, NUL, escape), format characters (bidi
 * embeddings, overrides and isolates such as U+202E, zero-width joiners, the BOM), lone surrogates,
 * and unassigned or private-use code points.
 */
const NOT_TEXT = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}]/gu;

/**
 * A peer-provided name as the device shows and logs it: NFC, no control or format characters, each run
 * of white space one space, trimmed, at most {@link MAX_NAME_LENGTH} code points. `fallback` when
 * nothing is left.
 */
export function normalizeName(raw: string, fallback: string): string {
  // Far more than can survive the cap, so a 200 kB name costs no more than a short one.
  const cleaned = raw
    .slice(0, MAX_NAME_LENGTH * 8)
    .normalize("NFC")
    // Line breaks and tabs are white space first (a space), and only then is what is not text removed.
    .replace(/\s+/gu, " ")
    .replace(NOT_TEXT, "")
    .replace(/ {2,}/g, " ")
    .trim();
  const capped = Array.from(cleaned).slice(0, MAX_NAME_LENGTH).join("").trim();
  return capped || fallback;
}
