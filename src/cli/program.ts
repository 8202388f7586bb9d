/** The `device-rtc` command tree. Each subcommand lives in its own module; main.ts runs it. */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { type ConfigLayersOptions, withConfig } from "../config/layers.ts";
import { configCommand } from "./config.ts";
import { deviceCommand } from "./device.ts";
import { pkiCommand } from "./pki.ts";
import { serveCommand } from "./serve.ts";
import { serviceCommand } from "./service.ts";
import { signallingCommand } from "./signalling.ts";
import { pairCommand, passwordCommand, tokenCommand } from "./token.ts";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/**
 * The program. The long-running commands take a --config file and DEVICE_RTC_* variables for every option
 * (see src/config/layers.ts); `config` is given the environment to read for tests.
 */
export function createProgram(config: ConfigLayersOptions = {}): Command {
  return new Command("device-rtc")
    .description("Two-way WebRTC audio and video between this device and web browsers.")
    .version(version, "-V, --version")
    .showHelpAfterError()
    .addCommand(withConfig(serveCommand(), config))
    .addCommand(withConfig(signallingCommand(), config))
    .addCommand(withConfig(deviceCommand(), config))
    .addCommand(pkiCommand())
    .addCommand(tokenCommand())
    .addCommand(pairCommand())
    .addCommand(passwordCommand())
    .addCommand(configCommand())
    .addCommand(serviceCommand());
}
