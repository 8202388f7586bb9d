/**
 * Driving the userspace link emulator (test/net/emulator/emulator.ts) from a test or a benchmark:
 * start it with its TAP devices, change a direction's impairment while it runs (an outage on and off),
 * and read what crossed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { DirectionCounters, Impairment } from "../net/emulator/emulator.ts";
import { onCleanup } from "./cleanup.ts";

export type { DirectionCounters, Impairment };

const OPEN_TAPS = new URL("../net/emulator/open-taps.py", import.meta.url).pathname;
const EMULATOR = new URL("../net/emulator/emulator.ts", import.meta.url).pathname;
/** Debian's python3 (CI has no other); a pyenv one may come first on PATH here. */
export const PYTHON = process.env.DEVICE_RTC_PYTHON ?? "/usr/bin/python3";

export type Dir = "up" | "down" | "both";

export interface LinkCounters {
  /** Host → LAN. */
  up: DirectionCounters;
  /** LAN → host. */
  down: DirectionCounters;
}

export class LinkEmulator {
  readonly #child: ChildProcess;
  readonly #waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  #nextId = 1;
  #closed = false;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      let reply: Record<string, unknown>;
      try {
        reply = JSON.parse(line);
      } catch {
        return;
      }
      const id = reply.id as number | undefined;
      if (id !== undefined) {
        this.#waiting.get(id)?.(reply);
        this.#waiting.delete(id);
      }
    });
  }

  /**
   * Starts an emulator for `links` (name → [host TAP, LAN TAP]); the TAP devices are created in this
   * process's network namespace, for the caller to move. Stopped after the test (or by close()).
   */
  static async start(links: Record<string, [string, string]>, seed = 1): Promise<LinkEmulator> {
    const taps = Object.values(links).flat();
    const child = spawn(
      PYTHON,
      [
        OPEN_TAPS,
        ...taps,
        "--",
        process.execPath,
        "--import",
        "tsx",
        EMULATOR,
        "--seed",
        String(seed),
        ...Object.entries(links).flatMap(([name, [host, lan]]) => ["--link", `${name}=${host},${lan}`]),
      ],
      {
        stdio: ["pipe", "pipe", "pipe"],
        // Every TAP has a read pending on a libuv pool thread.
        env: { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, taps.length + 2)) },
      },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const emulator = new LinkEmulator(child);
    onCleanup(() => emulator.close());
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`link emulator did not start:\n${stderr}`)), 20_000);
      child.stdout?.once("data", () => {
        clearTimeout(timer);
        resolve();
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`link emulator exited (${code}):\n${stderr}`));
      });
    });
    return emulator;
  }

  #request(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new Error("link emulator closed"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, (reply) =>
        reply.ok ? resolve(reply) : reject(new Error(`link emulator: ${String(reply.error)}`)),
      );
      this.#child.stdin?.write(`${JSON.stringify({ id, ...request })}\n`);
    });
  }

  /** Changes the impairment of one link's direction(s); unspecified fields keep their values. */
  async set(link: string, dir: Dir, impairment: Partial<Impairment>): Promise<void> {
    await this.#request({ cmd: "set", link, dir, ...impairment });
  }

  async counters(): Promise<Record<string, LinkCounters>> {
    return (await this.#request({ cmd: "counters" })).counters as Record<string, LinkCounters>;
  }

  /** The counters so far, then zero. */
  async reset(): Promise<Record<string, LinkCounters>> {
    return (await this.#request({ cmd: "reset" })).counters as Record<string, LinkCounters>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 2000);
    await this.#exited;
    clearTimeout(timer);
  }
}
