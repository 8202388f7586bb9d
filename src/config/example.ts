/**
 * The commented reference configuration of a command, generated from its commander options: every key
 * with its description, flag, environment variable and default, commented out. The repository's
 * config/device-rtc.example.yaml is this text for `serve`, and a test keeps the two identical.
 *
 * Defaults are written as they are unless the option describes them (`.default(value, "description")`):
 * an option whose default depends on the machine (its hostname, the user's home) must describe it, so
 * the file is the same everywhere; a test checks that too.
 */
import { homedir, hostname } from "node:os";
import type { Command } from "commander";
import { stringify } from "yaml";
import { type ConfigKey, commandPath, configKeys, ENV_PREFIX } from "./keys.ts";
import { CONFIG_ENV, isRequired } from "./layers.ts";

const WIDTH = 100;

export function exampleConfig(command: Command): string {
  const path = commandPath(command);
  const out = [
    `# ${path} — reference configuration, generated from its options by`,
    `#   device-rtc config example ${command.name()}`,
    "#",
    ...wrap(
      `Use it with \`${path} --config FILE\` (or ${CONFIG_ENV}=FILE). Each key is the long flag ` +
        "without its dashes; uncomment a line to change the default. A negated flag is the positive key " +
        "set to false (--no-tls is `tls: false`); a repeatable option takes a list. A key left empty " +
        `means "not set". Every key can also be given as an environment variable ${ENV_PREFIX}<KEY>. ` +
        "A flag beats the environment, which beats this file, which beats the default. Relative paths " +
        "are relative to the working directory. `device-rtc config print` shows the result.",
      "# ",
    ),
    "",
  ];
  for (const key of configKeys(command)) {
    if (key.option.hidden) continue;
    const { option } = key;
    const choices = option.argChoices ? ` One of: ${option.argChoices.join(", ")}.` : "";
    const description = option.description.replace(/\bsee below\b/, `see \`${path} --help\``);
    out.push(...wrap(sentence(description) + choices, "# "));
    const machine = option.defaultValueDescription ? undefined : machineNeutral(defaultText(key));
    const defaultDescription = option.defaultValueDescription ?? machine;
    const described = defaultDescription ? `; default: ${defaultDescription.trim()}` : "";
    const required = isRequired(command, option) ? " (required)" : "";
    out.push(`#   ${flagsOf(key)}, ${key.env}${required}${described}`);
    out.push(`#${key.key}:${described ? "" : defaultText(key)}`, "");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

function flagsOf(key: ConfigKey): string {
  const { option } = key;
  if (key.kind === "flag") return option.negate ? `--no-${key.key} (${key.key}: false)` : `--${key.key}`;
  return option.flags.replace(/^-\w, /, "");
}

function defaultText(key: ConfigKey): string {
  const { option } = key;
  let value: unknown = option.defaultValue;
  if (key.kind === "flag") value = option.negate ? true : (value ?? false);
  if (value === undefined) return "";
  if (Array.isArray(value) && value.length === 0) return " []";
  return ` ${stringify(value, { collectionStyle: "flow" }).trimEnd()}`;
}

/**
 * The default with this machine's parts (user's directories, hostname) as placeholders, when it has any;
 * such a default is shown in the comment, so the file reads the same on every machine.
 */
function machineNeutral(text: string): string | undefined {
  let neutral = text;
  for (const name of [
    "XDG_DATA_HOME",
    "XDG_CONFIG_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
  ]) {
    const value = process.env[name];
    if (value && value !== "/") neutral = neutral.replaceAll(value, `$${name}`);
  }
  const home = homedir();
  if (home && home !== "/") neutral = neutral.replaceAll(home, "~");
  const host = hostname();
  if (host)
    neutral = neutral.replace(new RegExp(`(?<![\\w.-])${escapeRegExp(host)}(?![\\w-])`, "g"), "<hostname>");
  return neutral === text ? undefined : neutral;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?)]$/.test(capital) ? capital : `${capital}.`;
}

function wrap(text: string, prefix: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && prefix.length + line.length + 1 + word.length > WIDTH) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(prefix + line);
  return lines;
}
