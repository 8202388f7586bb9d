/**
 * Options from four layers, highest first: a flag, a `DEVICE_RTC_*` environment variable, the
 * `--config` YAML file, the option's default.
 *
 * Commander parses the flags first (and applies defaults); then, before the action runs, this fills
 * every option that no flag set from the environment, else from the file, through the option's own
 * commander parser and choices, and records where each value came from (for `config print`). Every
 * value in the file and in the environment is checked, even one that a higher layer overrides, so a
 * broken file never waits for the day the flag is dropped.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { ConfigError } from "./errors.ts";
import { type ConfigFile, fileLocation, type RawValue, readConfigFile } from "./file.ts";
import { CONFIG_OPTION, type ConfigKey, commandPath, configKeys, ENV_PREFIX, envName } from "./keys.ts";
import { closest } from "./suggest.ts";

export const CONFIG_ENV = envName(CONFIG_OPTION);

export interface ConfigLayersOptions {
  /** The environment to read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Where warnings go (an environment variable that looks like a mistyped key). */
  warn?: (message: string) => void;
}

interface Enabled {
  readonly env: NodeJS.ProcessEnv;
  readonly warn: (message: string) => void;
  /** Options declared mandatory: checked after every layer, since the value may come from the file. */
  readonly mandatory: readonly Option[];
  /** Attribute → where its value came from, filled when the command runs. */
  readonly origins: Map<string, string>;
  /** False for `config print`, which shows a missing required option as "not set". */
  checkRequired: boolean;
}

const enabled = new WeakMap<Command, Enabled>();

/**
 * Gives `command` a `--config FILE` option and the environment and file layers for every option it has
 * (call it after all options are added). Returns the command.
 */
export function withConfig(command: Command, options: ConfigLayersOptions = {}): Command {
  const mandatory = command.options.filter((option) => option.mandatory);
  for (const option of mandatory) option.mandatory = false;
  enabled.set(command, {
    env: options.env ?? process.env,
    warn: options.warn ?? ((message) => process.stderr.write(`device-rtc: warning: ${message}\n`)),
    mandatory,
    origins: new Map(),
    checkRequired: true,
  });
  command.addOption(
    new Option(
      "--config <FILE>",
      `read options from this YAML file (see config/device-rtc.example.yaml; also ${CONFIG_ENV})`,
    ),
  );
  command.addHelpText(
    "after",
    `
Configuration: every option can also be a key in the --config file — the flag without its dashes
(\`data-dir: /srv/device-rtc\`, \`tls: false\` for --no-tls, a list for a repeatable option) — or an
environment variable ${ENV_PREFIX}<KEY> (${ENV_PREFIX}DATA_DIR=/srv/device-rtc, ${ENV_PREFIX}TLS=false,
commas between the values of a repeatable option). A flag beats the environment, which beats the file.
\`device-rtc config print ${command.name()} [--config FILE]\` shows the result and where each value came from.`,
  );
  command.hook("preAction", () => applyConfigLayers(command));
  return command;
}

export function isConfigEnabled(command: Command): boolean {
  return enabled.has(command);
}

/** Whether the option must have a value from some layer (commander's mandatory, checked after all layers). */
export function isRequired(command: Command, option: Option): boolean {
  return option.mandatory || (enabled.get(command)?.mandatory.includes(option) ?? false);
}

/** Makes `command` only collect its configuration when it runs: no required-option check, no action. */
export function inspectOnly(command: Command): void {
  const state = enabled.get(command);
  if (!state) throw new Error(`${commandPath(command)} has no configuration layers (withConfig)`);
  state.checkRequired = false;
  command.action(() => {});
}

/** Where each option's value came from (`flag --port`, `environment DEVICE_RTC_PORT`, `config file F, line 3`, `default`). */
export function originsOf(command: Command): ReadonlyMap<string, string> {
  return enabled.get(command)?.origins ?? new Map();
}

/** Fills the options of `command` that no flag set, from the environment and the file. */
export function applyConfigLayers(command: Command): void {
  const state = enabled.get(command);
  if (!state) throw new Error(`${commandPath(command)} has no configuration layers (withConfig)`);
  const { env, origins } = state;
  const keys = configKeys(command);
  const byKey = new Map(keys.map((key) => [key.key, key]));

  const path = (command.getOptionValue(CONFIG_OPTION) as string | undefined) ?? nonEmpty(env[CONFIG_ENV]);
  const file = path === undefined ? undefined : readConfigFile(path);
  const fromFile = file ? valuesFromFile(command, file, byKey) : new Map<string, Layered>();
  const fromEnv = valuesFromEnv(command, keys, state);

  origins.clear();
  for (const key of keys) {
    const source = command.getOptionValueSource(key.attribute);
    if (source === "cli") {
      origins.set(key.attribute, `flag --${key.option.negate ? `no-${key.key}` : key.key}`);
      continue;
    }
    if (source === "env") {
      origins.set(key.attribute, `environment ${key.env}`); // an option with commander's own .env()
      continue;
    }
    if (source === "implied") {
      origins.set(key.attribute, "implied by another option");
      continue;
    }
    const layered = fromEnv.get(key.attribute) ?? fromFile.get(key.attribute);
    if (layered) {
      command.setOptionValueWithSource(key.attribute, layered.value, layered.source);
      origins.set(key.attribute, layered.origin);
    } else if (command.getOptionValue(key.attribute) !== undefined) {
      origins.set(key.attribute, "default");
    }
  }
  if (path !== undefined) {
    const given = command.getOptionValueSource(CONFIG_OPTION) === "cli";
    origins.set(CONFIG_OPTION, given ? "flag --config" : `environment ${CONFIG_ENV}`);
  }

  relate(command, keys, origins);

  for (const option of state.checkRequired ? state.mandatory : []) {
    if (command.getOptionValue(option.attributeName()) === undefined) {
      const key = keys.find((candidate) => candidate.option === option);
      throw new ConfigError(
        `required option '${option.flags}' not specified` +
          (key ? ` (nor ${key.env}, nor \`${key.key}:\` in a --config file)` : ""),
      );
    }
  }
}

/** Commander's `.conflicts()` and `.implies()` (fields its typings do not declare). */
interface Related {
  conflictsWith?: string[];
  implied?: Record<string, unknown>;
}

/**
 * Commander applies `.implies()` and checks `.conflicts()` before this hook runs, so only for flags: here
 * both are applied again for values that came from the environment or the file.
 */
function relate(command: Command, keys: readonly ConfigKey[], origins: Map<string, string>): void {
  const set = (attribute: string) =>
    command.getOptionValue(attribute) !== undefined && command.getOptionValueSource(attribute) !== "default";
  const layered = (attribute: string) =>
    ["config", "env"].includes(command.getOptionValueSource(attribute) ?? "");
  const name = (attribute: string) => {
    const key = keys.find((candidate) => candidate.attribute === attribute)?.key ?? attribute;
    return `${key} (${origins.get(attribute) ?? "set"})`;
  };
  for (const option of command.options) {
    const attribute = option.attributeName();
    if (!set(attribute)) continue;
    const { conflictsWith = [], implied } = option as unknown as Related;
    for (const other of conflictsWith) {
      if (set(other) && (layered(attribute) || layered(other))) {
        throw new ConfigError(`${name(attribute)} cannot be used with ${name(other)}`);
      }
    }
    if (implied && layered(attribute)) {
      for (const [other, value] of Object.entries(implied)) {
        if (set(other)) continue;
        command.setOptionValueWithSource(other, value, "implied");
        origins.set(other, `implied by ${name(attribute)}`);
      }
    }
  }
}

interface Layered {
  readonly value: unknown;
  readonly source: "config" | "env";
  readonly origin: string;
}

function valuesFromFile(
  command: Command,
  file: ConfigFile,
  byKey: Map<string, ConfigKey>,
): Map<string, Layered> {
  const values = new Map<string, Layered>();
  for (const entry of file.entries) {
    const where = fileLocation(file.path, entry.line);
    const key = byKey.get(entry.key);
    if (!key) throw new ConfigError(`${where}: ${unknownKey(command, entry.key, [...byKey.keys()])}`);
    if (entry.problem) throw new ConfigError(`${where}: ${key.key}: ${entry.problem}`);
    if (entry.value === null) continue;
    values.set(key.attribute, {
      value: convert(command, key, entry.value, (reason) => `${where}: ${key.key}: ${reason}`),
      source: "config",
      origin: where,
    });
  }
  return values;
}

function valuesFromEnv(command: Command, keys: readonly ConfigKey[], state: Enabled): Map<string, Layered> {
  const values = new Map<string, Layered>();
  const names = new Set(keys.map((key) => key.env));
  for (const key of keys) {
    const text = nonEmpty(state.env[key.env]);
    if (text === undefined || key.option.envVar) continue; // commander reads its own .env() variables
    const raw: RawValue = key.kind === "list" ? text.split(",").map((item) => item.trim()) : text;
    const where = `environment variable ${key.env} (${key.key})`;
    values.set(key.attribute, {
      value: convert(command, key, raw, (reason) => `${where}: ${reason}`),
      source: "env",
      origin: `environment ${key.env}`,
    });
  }
  // A variable that is no option of this command but is one letter away from one is most likely a typo;
  // anything else may belong to another command or a script, and is left alone.
  const others = new Set(siblingsOf(command).flatMap((other) => configKeys(other).map((key) => key.env)));
  for (const name of Object.keys(state.env)) {
    if (!name.startsWith(ENV_PREFIX) || names.has(name) || name === CONFIG_ENV || others.has(name)) continue;
    const bare = (variable: string) => variable.slice(ENV_PREFIX.length);
    const near = closest(bare(name), [...names].map(bare));
    if (near)
      state.warn(
        `ignoring ${name}: not an option of ${commandPath(command)} (did you mean ${ENV_PREFIX}${near}?)`,
      );
  }
  return values;
}

/** Turns a raw text (or list) into the option's value with the option's own commander parser. */
function convert(command: Command, key: ConfigKey, raw: RawValue, fail: (reason: string) => string): unknown {
  const { option } = key;
  const parse = (text: string, previous: unknown): unknown => {
    if (!option.parseArg) return text;
    try {
      return option.parseArg(text, previous);
    } catch (error) {
      if (
        error instanceof InvalidArgumentError ||
        (error as { code?: string }).code === "commander.invalidArgument"
      ) {
        throw new ConfigError(fail(`${JSON.stringify(text)} is invalid: ${(error as Error).message}`));
      }
      throw error;
    }
  };
  if (raw === null) return undefined;
  if (key.kind === "list") {
    const items = typeof raw === "string" ? [raw] : raw;
    let value: unknown = [];
    for (const item of items) value = option.parseArg ? parse(item, value) : [...(value as string[]), item];
    return value;
  }
  if (typeof raw !== "string") throw new ConfigError(fail("expected a single value, not a list"));
  if (key.kind === "flag") {
    const flag = booleanOf(raw);
    if (flag === undefined) throw new ConfigError(fail(`expected true or false, not ${JSON.stringify(raw)}`));
    return flag;
  }
  if (key.kind === "optional") {
    const flag = booleanOf(raw);
    if (flag === true) return option.presetArg ?? true;
    if (flag === false) return undefined;
  }
  return parse(raw, command.getOptionValue(key.attribute));
}

function booleanOf(text: string): boolean | undefined {
  const word = text.trim().toLowerCase();
  if (["true", "yes", "on", "1"].includes(word)) return true;
  if (["false", "no", "off", "0"].includes(word)) return false;
  return undefined;
}

function unknownKey(command: Command, key: string, known: readonly string[]): string {
  if (key === CONFIG_OPTION) return "`config` cannot be set inside a config file";
  const owner = siblingsOf(command).find((other) =>
    configKeys(other).some((candidate) => candidate.key === key),
  );
  if (owner)
    return `unknown key "${key}": it is an option of ${commandPath(owner)}, not of ${commandPath(command)}`;
  const near = closest(key, known);
  return `unknown key "${key}" for ${commandPath(command)}${near ? ` (did you mean "${near}"?)` : ""}`;
}

/** The other configurable commands next to this one (for "it is an option of …"). */
function siblingsOf(command: Command): Command[] {
  return (command.parent?.commands ?? []).filter((other) => other !== command && enabled.has(other));
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}
