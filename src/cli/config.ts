/** `device-rtc config`: the effective configuration of a command, and the reference file for it. */
import { Command } from "commander";
import { exampleConfig } from "../config/example.ts";
import { isConfigEnabled } from "../config/layers.ts";
import { effectiveConfig, prepareForPrint } from "../config/print.ts";
import { UsageError } from "./lifecycle.ts";

const DEFAULT_TARGET = "serve";

export function configCommand(): Command {
  const config = new Command("config").description(
    "Show the configuration a command would run with, or the commented reference config file.",
  );
  config
    .command("print")
    .description(
      "Print the effective configuration of a command (default: serve) — flags, DEVICE_RTC_* variables, " +
        "the --config file and defaults combined — and where each value came from. Secrets are redacted.",
    )
    .argument("[command-and-options...]", "the command (serve, device, signalling), then any of its options")
    .allowUnknownOption()
    .addHelpText(
      "after",
      `
Examples:
  device-rtc config print
  device-rtc config print --config /etc/device-rtc/config.yaml
  DEVICE_RTC_PORT=9443 device-rtc config print serve --config config.yaml --codec h264
  device-rtc config print signalling -p 9000`,
    )
    .action(async (args: string[], _flags: unknown, cmd: Command) => {
      const { target, rest } = targetOf(cmd, args);
      prepareForPrint(target);
      await target.parseAsync(rest, { from: "user" });
      process.stdout.write(effectiveConfig(target));
    });
  config
    .command("example")
    .description(
      "Print the commented reference config file of a command (default: serve), generated from its options; " +
        "config/device-rtc.example.yaml is this for serve.",
    )
    .argument("[command]", "serve, device or signalling", DEFAULT_TARGET)
    .action((name: string, _flags: unknown, cmd: Command) => {
      process.stdout.write(exampleConfig(targetOf(cmd, [name]).target));
    });
  return config;
}

/** The configurable sibling command named first in `args` (else serve), and the arguments left for it. */
function targetOf(cmd: Command, args: string[]): { target: Command; rest: string[] } {
  const program = cmd.parent?.parent;
  const configurable = (program?.commands ?? []).filter(isConfigEnabled);
  const named = configurable.find((candidate) => candidate.name() === args[0]);
  if (named) return { target: named, rest: args.slice(1) };
  if (args[0] !== undefined && !args[0].startsWith("-")) {
    throw new UsageError(
      `config: unknown command "${args[0]}" (one of: ${configurable.map((c) => c.name()).join(", ")})`,
    );
  }
  const target = configurable.find((candidate) => candidate.name() === DEFAULT_TARGET);
  if (!target) throw new UsageError(`config: no command "${DEFAULT_TARGET}"`);
  return { target, rest: args };
}
