/**
 * Hands each packet to every subscribed {@link RtpSink}, isolated from one another (the idea of
 * mediasoup's `safeEmit`): a sink that throws, or whose `write` returns a promise that rejects or never
 * settles, is logged and the others still get every packet, in order. Nothing here awaits a sink.
 */
import type { Logger } from "../common/logger.ts";
import type { RtpSink } from "./RtpSink.ts";

export class RtpFanOut {
  readonly #sinks = new Set<RtpSink>();
  readonly #log: Logger;
  /** Sinks already reported as failing: one warning each, not one per packet. */
  readonly #reported = new WeakSet<RtpSink>();

  constructor(logger: Logger) {
    this.#log = logger;
  }

  /** Subscribes `sink`; returns its unsubscribe function. */
  add(sink: RtpSink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  get size(): number {
    return this.#sinks.size;
  }

  /** Gives `packet` to every sink (each borrows it: see the {@link RtpSink} contract). */
  write(packet: Buffer): void {
    for (const sink of this.#sinks) {
      try {
        // A sink may be an async function in disguise: its rejection must not become unhandled.
        const result: unknown = sink.write(packet);
        if (result instanceof Promise) result.catch((error: unknown) => this.#failed(sink, error));
      } catch (error) {
        this.#failed(sink, error);
      }
    }
  }

  clear(): void {
    this.#sinks.clear();
  }

  #failed(sink: RtpSink, error: unknown): void {
    if (this.#reported.has(sink)) return;
    this.#reported.add(sink);
    this.#log.warn(
      { err: (error as Error)?.message ?? String(error) },
      "an RTP sink failed; the others go on",
    );
  }
}
