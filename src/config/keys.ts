/**
 * The configuration keys of a command, derived from its commander options — nothing is listed by hand,
 * so an option added to a command later gets its key and its environment variable with no other change.
 *
 * - key: the long flag without its dashes (`--data-dir` → `data-dir`); a negated flag gives the positive
 *   key (`--no-tls` → `tls: false`), which also covers a `--tls`/`--no-tls` pair once.
 * - environment variable: `DEVICE_RTC_` + the key in upper case with `_` for `-` (`DEVICE_RTC_DATA_DIR`),
 *   unless the option names its own with commander's `.env()`.
 * - kind: `flag` (true/false), `list` (a repeatable option: a YAML list, a comma-separated variable),
 *   `optional` (`--x [VALUE]`: true or a value), `value` (anything else: exactly what one would type
 *   after the flag, parsed and checked by the option's own commander parser and choices).
 */
import type { Command, Option } from "commander";

export const ENV_PREFIX = "DEVICE_RTC_";

/** The option that names the file itself; it has no key in the file. */
export const CONFIG_OPTION = "config";

export type KeyKind = "flag" | "list" | "optional" | "value";

export interface ConfigKey {
  /** The YAML key. */
  readonly key: string;
  /** The environment variable. */
  readonly env: string;
  /** Where commander keeps the value (`opts()[attribute]`). */
  readonly attribute: string;
  readonly kind: KeyKind;
  /** The option (for a `--x`/`--no-x` pair, the positive one). */
  readonly option: Option;
  /** Whether `config print` hides the value. */
  readonly secret: boolean;
}

const explicitPublic = new WeakSet<Option>();

/** Marks an option whose name looks like a secret's but whose value is not one (`turn-credential-ttl`). */
export function publicOption<T extends Option>(option: T): T {
  explicitPublic.add(option);
  return option;
}

const SECRET_NAME = /pass(word|phrase)?|secret|token|credential/i;

/** `data-dir` → `DEVICE_RTC_DATA_DIR`. */
export function envName(key: string): string {
  return ENV_PREFIX + key.toUpperCase().replace(/-/g, "_");
}

export function configKeys(command: Command): ConfigKey[] {
  const byAttribute = new Map<string, ConfigKey>();
  for (const option of command.options) {
    if (!option.long) continue; // short-only options have no name to use as a key
    const flag = option.long.replace(/^--/, "");
    const key = option.negate ? flag.replace(/^no-/, "") : flag;
    if (key === CONFIG_OPTION) continue;
    const attribute = option.attributeName();
    const existing = byAttribute.get(attribute);
    if (existing && !existing.option.negate) continue; // keep the positive one of a pair
    byAttribute.set(attribute, {
      key,
      env: option.envVar ?? envName(key),
      attribute,
      kind: kindOf(option),
      option,
      secret: SECRET_NAME.test(key) && !explicitPublic.has(option),
    });
  }
  return [...byAttribute.values()];
}

function kindOf(option: Option): KeyKind {
  if (!option.required && !option.optional) return "flag"; // --x or --no-x, no value
  if (option.variadic || Array.isArray(option.defaultValue)) return "list";
  if (option.optional) return "optional";
  return "value";
}

/** `device-rtc serve`, for messages. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(" ");
}
