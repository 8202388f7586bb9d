/**
 * Keeps a flood of identical warnings out of the log: at most `burst` lines per key in each window;
 * the rest are counted, and the next line that gets through says how many were suppressed.
 */
import type { Logger } from "./logger.ts";

export class LogBudget {
  readonly #windowMs: number;
  readonly #burst: number;
  readonly #keys = new Map<string, { start: number; lines: number; suppressed: number }>();

  constructor(options: { windowMs?: number; burst?: number } = {}) {
    this.#windowMs = options.windowMs ?? 10_000;
    this.#burst = options.burst ?? 5;
  }

  /** Logs at `level` unless `key` has used up its lines in this window. */
  log(
    log: Logger,
    level: "debug" | "info" | "warn" | "error",
    key: string,
    fields: Record<string, unknown>,
    message: string,
  ): void {
    const now = Date.now();
    let entry = this.#keys.get(key);
    if (!entry || now - entry.start >= this.#windowMs) {
      const suppressed = entry?.suppressed ?? 0;
      entry = { start: now, lines: 0, suppressed: 0 };
      this.#keys.set(key, entry);
      if (suppressed > 0) fields = { ...fields, suppressed };
      if (this.#keys.size > 10_000) this.#prune(now);
    }
    if (entry.lines >= this.#burst) {
      entry.suppressed++;
      return;
    }
    entry.lines++;
    log[level](fields, message);
  }

  /** Forgets a key (e.g. a peer that left). */
  forget(prefix: string): void {
    for (const key of this.#keys.keys()) if (key.startsWith(prefix)) this.#keys.delete(key);
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#keys) if (now - entry.start >= this.#windowMs) this.#keys.delete(key);
  }
}
