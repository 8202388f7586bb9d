/**
 * JSON exactly as `serde_json` writes it, for the values the GStreamer signalling server re-serializes
 * (`meta`). serde_json keeps a `Value`'s object keys in a `BTreeMap` (the server is built without
 * `preserve_order`), so keys come out sorted; numbers keep the integer/float distinction of the input
 * (`1.0` stays `1.0`, `1e2` becomes `100.0`) and floats are printed by `ryu`. `JSON.parse` loses both,
 * so `meta` is parsed losslessly and carried as its canonical text.
 */
import { parse as parseLossless } from "lossless-json";

declare global {
  interface String {
    /** ES2024; in Node.js since 20.0. */
    isWellFormed(): boolean;
  }
}

/** A JSON value whose canonical serde_json text is known. Immutable. */
export class JsonValue {
  /** The canonical text: what the Rust server would write for this value. */
  readonly text: string;
  #value: unknown;

  private constructor(text: string, value: unknown) {
    this.text = text;
    this.#value = value;
  }

  /** The value as plain JavaScript (numbers as `number`). */
  get value(): unknown {
    if (this.#value === undefined) this.#value = JSON.parse(this.text);
    return this.#value;
  }

  /** serde_json's `Value` equality, which for canonical texts is text equality. */
  equals(other: JsonValue | null): boolean {
    return other !== null && other.text === this.text;
  }

  /** From a plain JavaScript value (as a client would build `meta`). */
  static from(value: unknown): JsonValue {
    return new JsonValue(canonicalize(value), undefined);
  }

  /**
   * From a value produced by {@link parseJsonLossless}.
   * @throws {SyntaxError} when serde_json would refuse it (a number out of f64 range, a lone surrogate).
   */
  static fromLossless(value: unknown): JsonValue {
    return new JsonValue(canonicalize(value), undefined);
  }

  toJSON(): unknown {
    return this.value;
  }
}

/** A number as written in the input, kept as text. */
class NumberLexeme {
  constructor(readonly lexeme: string) {}
}

/** serde_json refuses nesting deeper than this (its default recursion limit). */
const MAX_DEPTH = 128;

/**
 * Parses JSON text, keeping every number as written. Duplicate keys keep the last value, as serde_json's
 * `Value` does.
 * @throws {SyntaxError} on invalid JSON.
 */
export function parseJsonLossless(text: string): unknown {
  return parseLossless(text, null, {
    parseNumber: (lexeme: string) => new NumberLexeme(lexeme),
    onDuplicateKey: ({ newValue }: { newValue: unknown }) => newValue,
  });
}

/** Turns a lossless number lexeme back into a plain JavaScript number (for validation of non-meta fields). */
export function plainFromLossless(value: unknown): unknown {
  if (value instanceof NumberLexeme) return Number(value.lexeme);
  if (Array.isArray(value)) return value.map(plainFromLossless);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = plainFromLossless(item);
    return out;
  }
  return value;
}

function canonicalize(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw new SyntaxError("recursion limit exceeded");
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return serdeString(value);
  if (typeof value === "number")
    return serdeNumberFromFloat(value, Number.isInteger(value) && !Object.is(value, -0));
  if (value instanceof NumberLexeme) return serdeNumberFromLexeme(value.lexeme);
  if (Array.isArray(value)) return `[${value.map((item) => canonicalize(item, depth + 1)).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).sort(compareUtf8);
    const record = value as Record<string, unknown>;
    return `{${keys.map((key) => `${serdeString(key)}:${canonicalize(record[key], depth + 1)}`).join(",")}}`;
  }
  throw new TypeError(`not a JSON value: ${typeof value}`);
}

/**
 * BTreeMap<String, _> orders keys by their UTF-8 bytes, that is by code point — which differs from
 * JavaScript's UTF-16 order for characters above U+FFFF.
 */
function compareUtf8(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = (left[i]?.codePointAt(0) ?? 0) - (right[i]?.codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

/**
 * serde_json escapes `"`, `\` and control characters only (as `\n`, `\t`, … or `\u00xx`), which is what
 * `JSON.stringify` does for well-formed strings. serde_json cannot hold a lone surrogate at all.
 */
function serdeString(text: string): string {
  if (!text.isWellFormed()) throw new SyntaxError("lone surrogate in string");
  return JSON.stringify(text);
}

const U64_MAX = 18446744073709551615n;
const I64_MIN = -9223372036854775808n;

/** serde_json's number parsing and printing, from the input lexeme. */
function serdeNumberFromLexeme(lexeme: string): string {
  if (/^-?\d+$/.test(lexeme)) {
    const integer = BigInt(lexeme);
    // "-0" is parsed as the float -0.0 (serde_json de.rs: a negated zero significand becomes F64).
    if (lexeme.startsWith("-") && integer === 0n) return "-0.0";
    if (integer >= I64_MIN && integer <= U64_MAX) return integer.toString();
  }
  const float = Number(lexeme);
  if (!Number.isFinite(float)) throw new SyntaxError(`number out of range: ${lexeme}`);
  return serdeNumberFromFloat(float, false);
}

/**
 * Prints a number the way serde_json prints it: an integer-valued JavaScript number built by a client
 * is an integer; anything else is an f64 formatted by ryu's `format64`
 * (ryu/src/pretty/mod.rs): decimal notation for exponents in [-5, 16], scientific otherwise, and
 * always a `.0` or a fraction so it reads back as a float.
 */
function serdeNumberFromFloat(value: number, isInteger: boolean): string {
  if (isInteger && Number.isSafeInteger(value)) return String(value);
  if (!Number.isFinite(value)) return "null"; // serde_json writes NaN and infinities as null
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  // toExponential() without an argument gives the shortest digits that round-trip, as ryu does.
  const [mantissa, exponentText] = value.toExponential().split("e") as [string, string];
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const length = digits.length;
  // value = 0.d1d2...dn × 10^kk
  const kk = Number(exponentText) + 1;
  const sign = negative ? "-" : "";
  if (kk >= length && kk <= 16) return `${sign}${digits}${"0".repeat(kk - length)}.0`;
  if (kk > 0 && kk <= 16) return `${sign}${digits.slice(0, kk)}.${digits.slice(kk)}`;
  if (kk > -5 && kk <= 0) return `${sign}0.${"0".repeat(-kk)}${digits}`;
  const exponent = kk - 1;
  if (length === 1) return `${sign}${digits}e${exponent}`;
  return `${sign}${digits[0]}.${digits.slice(1)}e${exponent}`;
}
