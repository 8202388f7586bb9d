/**
 * Child processes for tests, with guaranteed cleanup: each is stopped after the test (SIGTERM, then
 * SIGKILL after a grace period) and its whole process group goes with it, so no gst-launch-1.0 or
 * chromium outlives a test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { onCleanup } from "./cleanup.ts";

export interface Child {
  readonly process: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output (waiting for it if needed). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited(): Promise<number | string>;
  /** Sends a signal to the process (not its group). */
  signal(signal: NodeJS.Signals): void;
  /** Stops the process and its group; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export const DEVICE_RTC_BIN = new URL("../../bin/device-rtc.js", import.meta.url).pathname;

/** Runs `device-rtc …` as a child. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return startChild(process.execPath, [DEVICE_RTC_BIN, ...args], env);
}

export function startChild(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so stop() reaches its children too
  });
  let output = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    for (const waiter of waiters) waiter();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exit = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve(code ?? signal ?? "unknown");
      for (const waiter of waiters) waiter();
    });
  });
  let exitedValue: number | string | undefined;
  void exit.then((value) => {
    exitedValue = value;
  });

  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };

  const handle: Child = {
    process: child,
    output: () => output,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (exitedValue !== undefined) {
            done();
            reject(
              new Error(`process exited (${exitedValue}) before printing ${pattern}; output:\n${output}`),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    exited: () => exit,
    signal(signal) {
      if (exitedValue === undefined) child.kill(signal);
    },
    async stop(graceMs = 3000) {
      if (exitedValue === undefined) {
        killGroup("SIGTERM");
        const timer = setTimeout(() => killGroup("SIGKILL"), graceMs);
        await exit;
        clearTimeout(timer);
      }
      // Children of the child (gst-launch-1.0) that outlived it.
      killGroup("SIGKILL");
    },
  };
  onCleanup(() => handle.stop());
  return handle;
}
