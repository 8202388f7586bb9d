/**
 * Keeps the device's video going when its source goes away at run time — a camera unplugged, a file
 * removed — and brings the source back when it returns, without a restart of the device and without
 * a viewer noticing more than the picture (docs/ARCHITECTURE.md "Source failover"):
 *
 * - the stream's process is switched to the test picture with a "Camera unavailable" notice, and the
 *   state becomes `unavailable` (the page shows it; src/device/status.ts `SourceState`);
 * - every {@link SOURCE_POLL_MS} the source is checked (`videoSourceProblem`: a camera's node exists
 *   and opens, a file is readable); once it looks usable the process is switched back, and the state
 *   is `live` again when the source's first frame arrives.
 *
 * A switch is a process restart, which `RtpContinuity` already makes invisible to viewers: one
 * SSRC, continuous sequence numbers and timestamps, no renegotiation — every session carries on.
 *
 * The source is given up when its process failed (not a file's end: that is its loop) and either the
 * check says why (the node or the file is gone), or it failed {@link SOURCE_FAILURES_BEFORE_STANDIN}
 * times in a row without a frame (a source that cannot be checked: libcamera). A source switched back
 * to gets one try; each failed try doubles the time to the next (up to {@link SOURCE_POLL_MAX_MS}).
 * Failures before the stream's first frame are `OutgoingStream.create`'s to report.
 *
 * It is the stream's feeder (`OutgoingStreamOptions.feeder`): it is given the process, picks each
 * start's pipeline, feeds the test pattern only while the stand-in runs, and hears when a start delivers.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "../common/logger.ts";
import { SOURCE_FAILURES_BEFORE_STANDIN, SOURCE_POLL_MAX_MS, SOURCE_POLL_MS } from "./constants.ts";
import type { GstProcess } from "./GstProcess.ts";
import type { StreamFeeder } from "./OutgoingStream.ts";
import { type RtpTarget, type VideoSettings, videoPipeline } from "./pipelines.ts";
import { describeVideoSource, type VideoSource, videoSourceProblem } from "./sources.ts";
import { TestPattern } from "./TestPattern.ts";

/** Drawn across the stand-in picture; the page says the same (src/web/app/main.ts). */
export const STAND_IN_NOTICE = "Camera unavailable";

export type FailoverState = "live" | "unavailable";

export interface SourceFailoverOptions {
  source: VideoSource;
  settings: VideoSettings;
  logger: Logger;
  /** The source already failed at start (`--fallback test`): begin with the stand-in, for this reason. */
  unavailable?: string | undefined;
  /** Why the source cannot be used now, or undefined. Default `videoSourceProblem`. */
  problem?: ((source: VideoSource) => Promise<string | undefined>) | undefined;
  /** Default {@link SOURCE_POLL_MS}. */
  pollMs?: number | undefined;
  /** The stand-in pipeline for one start (tests give one that needs no GStreamer). */
  standInPipeline?: ((targets: RtpTarget[]) => string[]) | undefined;
}

interface SourceFailoverEvents {
  /** The source started or stopped delivering. */
  state: [state: FailoverState, reason: string | undefined];
}

export class SourceFailover extends EventEmitter<SourceFailoverEvents> implements StreamFeeder {
  readonly #source: VideoSource;
  readonly #settings: VideoSettings;
  readonly #log: Logger;
  readonly #problem: (source: VideoSource) => Promise<string | undefined>;
  readonly #pollMs: number;
  /** The time to the next check: the poll interval, doubled by each failed try. */
  #pollDelay: number;
  /** Switched back to the source, which has not delivered yet. */
  #trying = false;
  readonly #testPattern: TestPattern;
  readonly #standInPipeline: ((targets: RtpTarget[]) => string[]) | undefined;
  /** What the next process start runs. */
  #standIn: boolean;
  /** What the current process runs (set when its pipeline is built). */
  #running: "source" | "stand-in" | undefined;
  #state: FailoverState;
  #reason: string | undefined;
  /** Failed starts of the source in a row, without a frame in between. */
  #failures = 0;
  /** The stream delivered once: from then on, failures are ours to handle, not the start's. */
  #delivered = false;
  #process: GstProcess | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SourceFailoverOptions) {
    super();
    this.#source = options.source;
    this.#settings = options.settings;
    this.#log = options.logger.child({ failover: describeVideoSource(options.source) });
    this.#problem = options.problem ?? videoSourceProblem;
    this.#pollMs = options.pollMs ?? SOURCE_POLL_MS;
    this.#pollDelay = this.#pollMs;
    this.#standInPipeline = options.standInPipeline;
    this.#testPattern = new TestPattern({
      width: options.settings.width,
      height: options.settings.height,
      framerate: options.settings.framerate,
      logger: options.logger,
    });
    this.#standIn = options.unavailable !== undefined;
    this.#state = this.#standIn ? "unavailable" : "live";
    this.#reason = options.unavailable;
  }

  /** `live` while the source delivers; `unavailable` while the stand-in is sent. */
  get state(): FailoverState {
    return this.#state;
  }

  /** Why the source is unavailable. */
  get reason(): string | undefined {
    return this.#reason;
  }

  /** The pipeline for one process start: the source's, or the stand-in fed with the test pattern. */
  pipeline(targets: RtpTarget[]): string[] {
    if (!this.#standIn) {
      this.#running = "source";
      // Not fed while the source runs (started again for the next stand-in).
      this.#testPattern.close();
      return videoPipeline(this.#source, this.#settings, targets);
    }
    this.#running = "stand-in";
    if (this.#process) this.#testPattern.start(this.#process);
    return (
      this.#standInPipeline?.(targets) ??
      videoPipeline({ kind: "test" }, this.#settings, targets, STAND_IN_NOTICE)
    );
  }

  start(process: GstProcess): void {
    if (this.#closed) return;
    this.#process = process;
    process.on("exited", this.#onExit);
    if (this.#standIn) this.#schedulePoll();
  }

  delivering(): void {
    this.#delivered = true;
    if (this.#running !== "source") return;
    this.#failures = 0;
    this.#trying = false;
    this.#pollDelay = this.#pollMs;
    this.#setState("live", undefined);
  }

  /** Stops polling and feeding (the stream is closing). Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#pollTimer);
    this.#testPattern.close();
    this.#process?.off("exited", this.#onExit);
  }

  readonly #onExit = (code: number | null, _signal: NodeJS.Signals | null, error: string | undefined) => {
    if (this.#closed || !this.#delivered || this.#standIn || this.#running !== "source") return;
    // A file's end is its loop (restartOnEos); any other end of a live source is a failure.
    if (code === 0 && !error && this.#source.kind === "file") return;
    this.#failures++;
    void this.#sourceFailed(error ?? (code === 0 ? "it ended" : `its process exited with code ${code}`));
  };

  async #sourceFailed(error: string): Promise<void> {
    const problem = await this.#problem(this.#source).catch((e: Error) => e.message);
    if (this.#closed || this.#standIn) return;
    // Looks usable, and has failed only a few times: the process's own restart tries again.
    if (problem === undefined && this.#failures < SOURCE_FAILURES_BEFORE_STANDIN) return;
    this.#log.debug({ problem, error, failures: this.#failures }, "switching to the stand-in");
    this.#standIn = true;
    this.#pollDelay = this.#trying ? Math.min(SOURCE_POLL_MAX_MS, this.#pollDelay * 2) : this.#pollMs;
    this.#trying = false;
    this.#setState("unavailable", problem ?? `video source ${describeVideoSource(this.#source)}: ${error}`);
    this.#schedulePoll();
    this.#process?.restart();
  }

  #schedulePoll(): void {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = setTimeout(() => void this.#poll(), this.#pollDelay);
  }

  async #poll(): Promise<void> {
    const problem = await this.#problem(this.#source).catch((e: Error) => e.message);
    if (this.#closed || !this.#standIn) return;
    if (problem !== undefined) {
      this.#schedulePoll();
      return;
    }
    this.#log.debug("the source looks usable again; switching back to it");
    this.#standIn = false;
    this.#trying = true;
    // One try: if it fails again, the stand-in is back at once.
    this.#failures = SOURCE_FAILURES_BEFORE_STANDIN - 1;
    this.#process?.restart();
  }

  #setState(state: FailoverState, reason: string | undefined): void {
    if (state === this.#state && reason === this.#reason) return;
    // Once unavailable, a second failure with another reason is the same outage.
    if (state === "unavailable" && this.#state === "unavailable") return;
    this.#state = state;
    this.#reason = reason;
    this.emit("state", state, reason);
  }
}
