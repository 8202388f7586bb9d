/** The `device-rtc` command line: runs the program (src/cli/program.ts) and turns known errors into messages. */
import { CommanderError } from "commander";
import { CredentialStoreError } from "../auth/CredentialStore.ts";
import { ConfigError } from "../config/errors.ts";
import { SourceError } from "../media/sources.ts";
import { PkiExistsError, PkiMissingError } from "../pki/PkiStore.ts";
import { ServiceError } from "../service/ServiceInstaller.ts";
import { ListenError, TlsConfigError } from "../signalling/errors.ts";
import { UsageError } from "./lifecycle.ts";
import { createProgram } from "./program.ts";

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (error instanceof ConfigError) {
    process.stderr.write(`device-rtc: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  if (
    error instanceof UsageError ||
    error instanceof TlsConfigError ||
    error instanceof ListenError ||
    error instanceof SourceError ||
    error instanceof PkiExistsError ||
    error instanceof PkiMissingError ||
    error instanceof ServiceError ||
    error instanceof CredentialStoreError
  ) {
    process.stderr.write(`device-rtc: ${error.message}\n`);
    process.exit(error instanceof UsageError ? error.exitCode : 1);
  }
  throw error;
}
