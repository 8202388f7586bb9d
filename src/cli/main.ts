/** The `device-rtc` command line. Each subcommand lives in its own module. */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { CredentialStoreError } from "../auth/CredentialStore.ts";
import { SourceError } from "../media/sources.ts";
import { PkiExistsError, PkiMissingError } from "../pki/PkiStore.ts";
import { ListenError, TlsConfigError } from "../signalling/errors.ts";
import { deviceCommand } from "./device.ts";
import { UsageError } from "./lifecycle.ts";
import { pkiCommand } from "./pki.ts";
import { serveCommand } from "./serve.ts";
import { signallingCommand } from "./signalling.ts";
import { pairCommand, passwordCommand, tokenCommand } from "./token.ts";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("device-rtc")
  .description("Two-way WebRTC audio and video between this device and web browsers.")
  .version(version, "-V, --version")
  .showHelpAfterError()
  .addCommand(serveCommand())
  .addCommand(signallingCommand())
  .addCommand(deviceCommand())
  .addCommand(pkiCommand())
  .addCommand(tokenCommand())
  .addCommand(pairCommand())
  .addCommand(passwordCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (
    error instanceof UsageError ||
    error instanceof TlsConfigError ||
    error instanceof ListenError ||
    error instanceof SourceError ||
    error instanceof PkiExistsError ||
    error instanceof PkiMissingError ||
    error instanceof CredentialStoreError
  ) {
    process.stderr.write(`device-rtc: ${error.message}\n`);
    process.exit(error instanceof UsageError ? error.exitCode : 1);
  }
  throw error;
}
