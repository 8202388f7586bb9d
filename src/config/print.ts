/**
 * The effective configuration of a command after every layer, as YAML that could serve as a config
 * file, each line commented with where its value came from; secrets are redacted.
 */
import type { Command } from "commander";
import { stringify } from "yaml";
import { CONFIG_OPTION, commandPath, configKeys } from "./keys.ts";
import { inspectOnly, originsOf } from "./layers.ts";

/** Makes `command` collect its configuration without running, for {@link effectiveConfig}. */
export const prepareForPrint = inspectOnly;

export const REDACTED = "<redacted>";

export function effectiveConfig(command: Command): string {
  const origins = originsOf(command);
  const keys = configKeys(command);
  const rows: [string, string][] = keys.map((key) => {
    const value = command.getOptionValue(key.attribute) as unknown;
    if (value === undefined) {
      const described = key.option.defaultValueDescription;
      return [`# ${key.key}:`, described ? `not set: ${described}` : "not set"];
    }
    const shown = key.secret ? REDACTED : redactUrls(value);
    const text = stringify(shown, { collectionStyle: "flow", lineWidth: 0 }).trimEnd();
    return [`${key.key}: ${text}`, origins.get(key.attribute) ?? "set by the program"];
  });
  const width = Math.min(60, Math.max(...rows.map(([line]) => line.length)));
  const file = origins.get(CONFIG_OPTION);
  const header = [
    `# The effective configuration of ${commandPath(command)}${file ? ` (config file: ${command.getOptionValue(CONFIG_OPTION)}, from ${file})` : ""}.`,
    "# Secrets are redacted. Precedence: flag > environment > config file > default.",
  ];
  return `${[...header, ...rows.map(([line, origin]) => `${line.padEnd(width)}  # ${origin}`)].join("\n")}\n`;
}

/** Hides the password of a URL's user information (`turn:user:secret@host` → `turn:user:<redacted>@host`). */
export function redactUrls(value: unknown): unknown {
  if (typeof value === "string") {
    return value.replace(/^([a-z][a-z0-9+.-]*:(?:\/\/)?[^:@/\s]*:)[^@\s]+@/i, `$1${REDACTED}@`);
  }
  if (Array.isArray(value)) return value.map(redactUrls);
  return value;
}
