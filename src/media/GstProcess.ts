/**
 * One supervised `gst-launch-1.0` child process.
 *
 * - Every pipeline token is its own argv element: a value with spaces (`font-desc=Sans 24`) stays one
 *   token, and nothing passes through a shell.
 * - Its output is logged; an `ERROR:` line is kept as the reason if it dies.
 * - If it dies it is restarted with exponential backoff (reset once it has run for a while). A clean
 *   end of stream (exit 0, e.g. a file source at its end) restarts at once — that is how file and
 *   text-to-speech sources loop — after `restartOnEosDelayMs`.
 * - `restart()` replaces it at once, with a pipeline asked for anew (a switch of source).
 * - `close()` sends SIGINT so `-e` turns it into an EOS and muxers finish their files, then SIGKILL
 *   after a grace period. Idempotent; no child outlives it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { processRestarted } from "../common/instrumentation.ts";
import type { Logger } from "../common/logger.ts";
import {
  RESTART_BACKOFF_FIRST_MS,
  RESTART_BACKOFF_MAX_MS,
  RESTART_STABLE_AFTER_MS,
  STOP_GRACE_MS,
} from "./constants.ts";

export interface GstProcessOptions {
  /** A name for logs (e.g. "video-source"). */
  name: string;
  /**
   * The pipeline, one token per element or property. Called at each (re)start, so it may pick new
   * ports or ids — and may be async for that (binding a port is).
   */
  pipeline: () => string[] | Promise<string[]>;
  logger: Logger;
  /** Restart after an unexpected exit. Default true. */
  restart?: boolean;
  /** Restart after a clean end of stream (exit 0). Default false. */
  restartOnEos?: boolean;
  /** Pause before restarting after an end of stream. Default 0. */
  restartOnEosDelayMs?: number;
  /** Give the process a stdin pipe (for `fdsrc fd=0`). Default: no stdin. */
  stdin?: boolean;
  /** Extra gst-launch-1.0 flags (e.g. `-m` to print bus messages). */
  flags?: string[];
  /** Called with every line the process prints. */
  onLine?: ((line: string) => void) | undefined;
}

interface GstProcessEvents {
  /** A process exited; `error` is its last ERROR line, if any. */
  exited: [code: number | null, signal: NodeJS.Signals | null, error: string | undefined];
}

/** util-linux's setpriv, when present (it is on Debian and Raspberry Pi OS). */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));

export class GstProcess extends EventEmitter<GstProcessEvents> {
  readonly #options: GstProcessOptions;
  readonly #log: Logger;
  #child: ChildProcess | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #starting = false;
  #failures = 0;
  #restarts = 0;
  #closed = false;
  /** {@link GstProcess.restart} asked for a new process once the running one has exited. */
  #restartOnExit = false;
  #exitWaiters: Array<() => void> = [];

  constructor(options: GstProcessOptions) {
    super();
    this.#options = options;
    this.#log = options.logger.child({ process: options.name });
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How many times the process was restarted (after dying, or looping at an end of stream). */
  get restarts(): number {
    return this.#restarts;
  }

  /** The running process's stdin, when `stdin` was requested. */
  get stdin(): NodeJS.WritableStream | undefined {
    return this.#child?.stdin ?? undefined;
  }

  /**
   * Starts the process once its pipeline is built. A pipeline that cannot be built or spawned (an
   * argument list too long, say) counts as a failed start: reported as an exit, and retried.
   */
  start(): void {
    if (this.#closed || this.#child || this.#starting) return;
    this.#starting = true;
    Promise.resolve()
      .then(() => this.#options.pipeline())
      .then((pipeline) => {
        this.#starting = false;
        if (!this.#closed) this.#spawn(pipeline);
      })
      .catch((error: Error) => {
        this.#starting = false;
        this.#log.warn({ err: error.message }, "could not start the process");
        this.emit("exited", null, null, error.message);
        for (const waiter of this.#exitWaiters.splice(0)) waiter();
        this.#afterExit(null, 0);
      });
  }

  #spawn(pipeline: string[]): void {
    const args = ["-e", ...(this.#options.flags ?? []), ...pipeline];
    this.#log.debug({ args }, "spawning gst-launch-1.0");
    // setpriv --pdeathsig: if Node itself dies (even by SIGKILL), the kernel sends the child SIGINT,
    // which -e turns into an EOS, so a recording is finalized and no gst-launch-1.0 is orphaned.
    // SIGPIPE is ignored (an ignored signal stays ignored across exec): with Node gone, its output
    // pipes are closed, and gst-launch printing "EOS on shutdown" must not kill it mid-finalization.
    const launch = ["sh", "-c", 'trap "" PIPE; exec gst-launch-1.0 "$@"', "gst-launch-1.0", ...args];
    const [command, commandArgs] = SETPRIV
      ? [SETPRIV, ["--pdeathsig", "INT", "--", ...launch]]
      : [launch[0] as string, launch.slice(1)];
    const child = spawn(command, commandArgs, {
      stdio: [this.#options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    this.#child = child;
    // A restart was asked for while this pipeline was being built: it may be the one being replaced.
    if (this.#restartOnExit) this.#stop(child);
    const startedAt = Date.now();
    let lastError: string | undefined;
    const onLine = (line: string) => {
      this.#options.onLine?.(line);
      if (/^ERROR|^WARNING: erroneous pipeline/.test(line)) {
        lastError = line.replace(/^ERROR: (from element [^:]+: )?/, "");
        this.#log.warn({ line }, "gstreamer error");
      } else if (line.startsWith("Additional debug info") || /^\S+\.c\(\d+\)/.test(line)) {
        this.#log.debug({ line }, "gstreamer");
      } else if (line.trim()) {
        this.#log.trace({ line }, "gstreamer");
      }
    };
    if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);
    // A write racing the process's death fails with EPIPE; the exit is handled below.
    child.stdin?.on("error", () => {});
    child.once("error", (error) => {
      lastError = error.message.includes("ENOENT")
        ? "gst-launch-1.0 is not installed (run scripts/setup)"
        : error.message;
    });
    child.once("close", (code, signal) => {
      this.#child = undefined;
      const ranMs = Date.now() - startedAt;
      const level = this.#closed || code === 0 ? "info" : "warn";
      this.#log[level]({ pid: child.pid, code, signal, ranMs, error: lastError }, "process exited");
      this.emit("exited", code, signal, lastError);
      for (const waiter of this.#exitWaiters.splice(0)) waiter();
      this.#afterExit(code, ranMs);
    });
    if (child.pid !== undefined) {
      this.#log.info({ pid: child.pid, restarts: this.#restarts }, "process started");
    }
  }

  /**
   * Replaces the process now, whatever a pending restart's backoff: the running one (if any) is stopped
   * as by `close()`, then `pipeline()` is asked again — how a source is switched (SourceFailover).
   */
  restart(): void {
    if (this.#closed) return;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    if (this.#child) {
      this.#restartOnExit = true;
      this.#stop(this.#child);
    } else if (this.#starting) {
      this.#restartOnExit = true;
    } else {
      this.#restartNow(false);
    }
  }

  /** Stops for good: EOS first (SIGINT with -e), SIGKILL after the grace period. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => this.#exitWaiters.push(resolve));
    this.#stop(child);
    await exited;
  }

  /** SIGINT (an EOS, with -e), then SIGKILL if it has not exited after the grace period. */
  #stop(child: ChildProcess): void {
    child.kill("SIGINT");
    const kill = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    child.once("close", () => clearTimeout(kill));
  }

  /** What follows an exit: nothing once closed or restarted by a listener; else a restart. */
  #afterExit(code: number | null, ranMs: number): void {
    if (this.#closed || this.#child || this.#starting) return;
    if (this.#restartOnExit) {
      this.#restartOnExit = false;
      this.#restartNow(false);
    } else {
      this.#scheduleRestart(code, ranMs);
    }
  }

  #scheduleRestart(code: number | null, ranMs: number): void {
    const eos = code === 0;
    if (eos ? !this.#options.restartOnEos : this.#options.restart === false) return;
    if (ranMs > RESTART_STABLE_AFTER_MS) this.#failures = 0;
    const delay = eos
      ? (this.#options.restartOnEosDelayMs ?? 0)
      : Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_FIRST_MS * 2 ** this.#failures++);
    this.#restartTimer = setTimeout(() => this.#restartNow(eos), delay);
  }

  #restartNow(endOfStream: boolean): void {
    this.#restartTimer = undefined;
    this.#restarts++;
    if (processRestarted.hasSubscribers) processRestarted.publish({ name: this.#options.name, endOfStream });
    this.start();
  }
}
