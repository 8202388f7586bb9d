/** What every long-running command shares: clean shutdown on SIGINT/SIGTERM and clear fatal errors. */
import { InvalidArgumentError } from "commander";
import type { Logger } from "../common/logger.ts";

/** An error whose message is meant for the user as is (no stack trace), with the exit code to use. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Waits for SIGINT or SIGTERM, then runs `shutdown` once and exits 0 (1 if shutdown failed). A second
 * signal while shutting down exits at once. `shutdown` must leave no child process or open socket behind.
 */
export function exitOnSignal(log: Logger, shutdown: () => Promise<void>, deadlineMs = 5000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      log.error({ deadlineMs }, "shutdown took too long; exiting");
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    shutdown().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/**
 * Opens the next part of a command (a listener, the device) with `open`; if that fails, closes what
 * was opened before it with `undo` and rethrows, so that a failed start leaves no socket or child behind.
 */
export async function openOrUndo<T>(open: () => Promise<T>, undo: () => Promise<unknown>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    await undo();
    throw error;
  }
}

/** A commander argument parser for an integer option within bounds. */
export function integerOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    }
    return value;
  };
}

const BYTE_UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * A commander argument parser for a size: bytes, or a whole number with K, M, G or T (KiB, MiB, GiB,
 * TiB: `512M`, `2GiB`), at least `min` bytes.
 */
export function byteSizeOption(min = 0) {
  return (text: string): number => {
    const match = /^(\d+)\s*(?:([KMGT])(?:i?B)?|B)?$/i.exec(text.trim());
    const value = match ? Number(match[1]) * (BYTE_UNITS[(match[2] ?? "").toUpperCase()] ?? 1) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(
        `expected a size of at least ${min} bytes: bytes, or a number with K, M, G or T.`,
      );
    }
    return value;
  };
}
