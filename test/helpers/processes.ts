/**
 * Child processes for tests, with guaranteed cleanup: each is stopped after the test (SIGTERM, then
 * SIGKILL after a grace period) and its whole process group goes with it, so no gst-launch-1.0 or
 * chromium outlives a test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { onCleanup } from "./cleanup.ts";

export interface Child {
  readonly process: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** What it wrote to stderr alone so far (a banner meant for the terminal, the JSON log lines). */
  stderr(): string;
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

/** Runs `device-rtc …` as a child, the way `npx device-rtc` does (the file's shebang picks node's flags). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return startChild(DEVICE_RTC_BIN, args, env);
}

export function startChild(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { stdin?: boolean } = {},
): Child {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    // stdin is a pipe only when asked for (a peer driven over stdin).
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    detached: true, // its own process group, so stop() reaches its children too
  });
  let output = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    for (const waiter of waiters) waiter();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
    onData(chunk);
  });
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
    stderr: () => stderr,
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

/** Every live descendant of `pid` (from /proc), with its command line. */
export function descendants(pid: number): Array<{ pid: number; command: string }> {
  const parents = new Map<number, number>();
  const commands = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      parents.set(Number(entry), Number(fields[1]));
      commands.set(
        Number(entry),
        readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim(),
      );
    } catch {
      // exited meanwhile
    }
  }
  const found: Array<{ pid: number; command: string }> = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push({ pid: child, command: commands.get(child) ?? "" });
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

/** Whether a process is still alive (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Every live process of a process group (from /proc): what a detached child left behind, even orphans. */
export function processGroup(pgid: number): Array<{ pid: number; command: string }> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z" || Number(fields[2]) !== pgid) continue;
      found.push({
        pid: Number(entry),
        command: readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim(),
      });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
