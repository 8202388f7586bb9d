/**
 * Putting a string that is not ours (a file path, a device name, a sender's name) into a
 * gst-launch-1.0 property so that it stays exactly that string.
 *
 * gst-launch-1.0 does not take its argv as separate tokens: `gst_parse_launchv` (gst/gstparse.c) joins
 * them with spaces — escaping a space with `\` only while it is not between `"` — and parses the result
 * as ONE pipeline description (gst/parse/parse.l, grammar.y). A value holding `"` therefore ends the
 * property and whatever follows becomes new elements. What a value goes through, in order:
 *   1. `_gst_parse_escape` (per argv token): `"` toggles a quoted state; spaces outside it get a `\`.
 *   2. the lexer: `name=` followed by a run of non-space characters or `\`-escaped ones.
 *   3. `gst_parse_split_assignment`: surrounding `"…"` stripped, then `gst_parse_unescape` removes each
 *      `\` outside quotes (keeping the character after it).
 *   4. `gst_value_deserialize_string` (gst/gstvalue.c): a value that starts and ends with `"` is
 *      unwrapped by `gst_string_unwrap`, which turns `\ooo` (octal) into that byte; the literal `NULL`
 *      means no string at all.
 *
 * So the value is written for step 4 as `"…"` with every byte outside `[A-Za-z0-9_+/:.-]` (what
 * `gst_string_unwrap` copies as is) as an octal escape — no space, quote or backslash remains — and for
 * step 3 every `\` and both quotes are escaped once more. Nothing in it can end the token or the value.
 * Example: `my "clip".mp4` → `\"my\\040\\042clip\\042.mp4\"`.
 */

/** A value that cannot be passed to GStreamer at all. */
export class GstValueError extends Error {
  override readonly name = "GstValueError";
}

/** The bytes `gst_string_unwrap` copies unchanged (GST_ASCII_IS_STRING). */
const PLAIN = /^[A-Za-z0-9_+/:.-]$/;

/**
 * `value` as the right-hand side of a gst-launch-1.0 string property (`location=${gstString(path)}`).
 * @throws {GstValueError} for a NUL, which a C string cannot hold (GStreamer would silently cut the
 *   value there, e.g. a path, at the NUL).
 */
export function gstString(value: string): string {
  if (value.includes("\0")) throw new GstValueError("a GStreamer property value cannot contain NUL");
  let wrapped = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte);
    wrapped += PLAIN.test(char) ? char : `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return `\\"${wrapped.replaceAll("\\", "\\\\")}\\"`;
}

/**
 * `text` for a property GStreamer renders as Pango markup (textoverlay's `text`): `<`, `>`, `&` and
 * quotes as entities, so a name is drawn as written and never styles the overlay (g_markup_escape_text).
 */
export function pangoText(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
