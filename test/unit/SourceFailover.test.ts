/**
 * SourceFailover's decisions, without GStreamer: a process double reports exits and counts restarts,
 * the source's check is a switch the test flips, and the clock is vitest's (polls run when advanced). What is asserted is what a viewer and the
 * page get: which pipeline each start runs, and the `live`/`unavailable` states with their reasons.
 * Also `videoSourceProblem` on real paths (a camera node is a path that must exist and open).
 */
import { EventEmitter } from "node:events";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/common/logger.ts";
import {
  SOURCE_FAILURES_BEFORE_STANDIN,
  SOURCE_POLL_MAX_MS,
  SOURCE_POLL_MS,
} from "../../src/media/constants.ts";
import type { GstProcess } from "../../src/media/GstProcess.ts";
import type { VideoSettings } from "../../src/media/pipelines.ts";
import { type FailoverState, SourceFailover } from "../../src/media/SourceFailover.ts";
import { type VideoSource, videoSourceProblem } from "../../src/media/sources.ts";

const SETTINGS: VideoSettings = {
  codec: "vp8",
  width: 64,
  height: 48,
  framerate: 30,
  bitrateKbps: 500,
  keyframeIntervalSeconds: 3,
};
const TARGET = { rtpPort: 40000, sourcePort: 40003, rtcpPort: 40001, ssrc: 1234 };
const STAND_IN = ["stand-in"];

/** What GstProcess does that SourceFailover uses: "exited" events and restart(). No stdin. */
class ProcessDouble extends EventEmitter {
  restarts = 0;
  readonly stdin = undefined;
  restart(): void {
    this.restarts++;
  }
  exit(code: number | null, error?: string): void {
    this.emit("exited", code, null, error);
  }
}

const failovers: SourceFailover[] = [];
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  for (const failover of failovers.splice(0)) failover.close();
  vi.useRealTimers();
});

/** Lets pending checks finish (they are promises), without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);
/** Moves the clock past `polls` polls, letting each check finish. */
const poll = (polls = 1) => vi.advanceTimersByTimeAsync(polls * SOURCE_POLL_MS);

/** A running failover for `source` whose check says `problem.value`. */
function setUp(source: VideoSource, options: { unavailable?: string } = {}) {
  const problem: { value: string | undefined; checks: number } = { value: undefined, checks: 0 };
  const failover = new SourceFailover({
    source,
    settings: SETTINGS,
    logger: createLogger("test", { level: "silent" }),
    unavailable: options.unavailable,
    problem: async () => {
      problem.checks++;
      return problem.value;
    },
    standInPipeline: () => STAND_IN,
  });
  failovers.push(failover);
  const process = new ProcessDouble();
  failover.start(process as unknown as GstProcess);
  const states: Array<[FailoverState, string | undefined]> = [];
  failover.on("state", (state, reason) => states.push([state, reason]));
  /** A process start: its pipeline is built and (unless told otherwise) its first packet arrives. */
  const startProcess = (delivers = true) => {
    const pipeline = failover.pipeline([TARGET]);
    if (delivers) failover.delivering();
    return pipeline === STAND_IN ? "stand-in" : "source";
  };
  return { failover, process, problem, states, startProcess };
}

describe("SourceFailover", () => {
  it("a source that goes away: the stand-in with the check's reason; back when the check passes, live at its first frame", async () => {
    const { failover, process, problem, states, startProcess } = setUp({ kind: "file", path: "/srv/a.mkv" });
    expect(startProcess()).toBe("source");
    expect(failover.state).toBe("live");

    problem.value = "video source file:/srv/a.mkv: /srv/a.mkv does not exist";
    process.exit(1, "Resource not found.");
    await settle();
    expect([failover.state, failover.reason]).toEqual(["unavailable", problem.value]);
    expect(process.restarts).toBe(1);
    expect(startProcess()).toBe("stand-in");
    // While it is still away, the polls change nothing.
    await poll(3);
    expect(problem.checks).toBe(4);
    expect(process.restarts).toBe(1);

    problem.value = undefined;
    await poll();
    expect(process.restarts).toBe(2);
    // Switched back, but not live until the source delivers.
    expect(failover.pipeline([TARGET])).not.toBe(STAND_IN);
    expect(failover.state).toBe("unavailable");
    failover.delivering();
    expect(failover.state).toBe("live");
    expect(states).toEqual([
      ["unavailable", "video source file:/srv/a.mkv: /srv/a.mkv does not exist"],
      ["live", undefined],
    ]);
  });

  it(`a source that looks usable but keeps failing is given up after ${SOURCE_FAILURES_BEFORE_STANDIN} failures in a row, with its error`, async () => {
    const { failover, process, startProcess } = setUp({ kind: "libcamera" });
    startProcess();
    for (let i = 1; i < SOURCE_FAILURES_BEFORE_STANDIN; i++) {
      process.exit(1, "Could not acquire camera");
      await settle();
      expect(failover.state).toBe("live");
      expect(startProcess(false)).toBe("source");
    }
    // A frame in between would have reset the count; none came. The last failure decides.
    process.exit(1, "Could not acquire camera");
    await settle();
    expect([failover.state, failover.reason]).toEqual([
      "unavailable",
      "video source libcamera: Could not acquire camera",
    ]);
    expect(process.restarts).toBe(1);
    expect(startProcess()).toBe("stand-in");
    // Switched back (the check passes), it gets one try: a failure brings the stand-in back at once.
    await poll();
    expect(process.restarts).toBe(2);
    expect(startProcess(false)).toBe("source");
    process.exit(1, "Could not acquire camera");
    await settle();
    expect(process.restarts).toBe(3);
    expect(startProcess()).toBe("stand-in");
    expect(failover.state).toBe("unavailable");
  });

  it("each failed try doubles the time to the next, up to the maximum; a frame resets it", async () => {
    const { failover, process, startProcess } = setUp({ kind: "libcamera" }, { unavailable: "absent" });
    startProcess();
    let restarts = 0;
    /** One try that fails: how long the stand-in ran before it. */
    const failedTry = async () => {
      let waited = 0;
      while (process.restarts === restarts) {
        await poll();
        waited += SOURCE_POLL_MS;
      }
      expect(startProcess(false)).toBe("source");
      process.exit(1, "Could not acquire camera");
      await settle();
      restarts = process.restarts;
      expect(startProcess()).toBe("stand-in");
      return waited;
    };
    const waits = [];
    for (let i = 0; i < 6; i++) waits.push(await failedTry());
    expect(waits).toEqual([1, 2, 4, 8, 15, 15].map((n) => n * SOURCE_POLL_MS));
    expect(SOURCE_POLL_MAX_MS).toBe(15 * SOURCE_POLL_MS);
    // A try that delivers: live, and the next outage is checked at the first interval again.
    while (process.restarts === restarts) await poll();
    expect(startProcess()).toBe("source");
    expect(failover.state).toBe("live");
    process.exit(1, "Could not acquire camera");
    for (let i = 1; i < SOURCE_FAILURES_BEFORE_STANDIN; i++) {
      await settle();
      startProcess(false);
      process.exit(1, "Could not acquire camera");
    }
    await settle();
    restarts = process.restarts;
    expect(startProcess()).toBe("stand-in");
    expect(await failedTry()).toBe(SOURCE_POLL_MS);
  });

  it("a frame resets the count of failures", async () => {
    const { failover, process, problem, startProcess } = setUp({ kind: "camera", device: "/dev/video0" });
    startProcess();
    for (let i = 0; i < 3 * SOURCE_FAILURES_BEFORE_STANDIN; i++) {
      process.exit(1, "Device busy");
      await settle();
      expect(startProcess(i % 2 === 1)).toBe("source");
    }
    expect(problem.checks).toBe(3 * SOURCE_FAILURES_BEFORE_STANDIN);
    expect(failover.state).toBe("live");
    expect(process.restarts).toBe(0);
  });

  it("a file's end is its loop; a camera's end is a failure", async () => {
    const file = setUp({ kind: "file", path: "/srv/a.mkv" });
    file.startProcess();
    file.problem.value = "gone";
    file.process.exit(0);
    await settle();
    expect(file.failover.state).toBe("live");
    expect(file.problem.checks).toBe(0);

    const camera = setUp({ kind: "camera", device: "/dev/video0" });
    camera.startProcess();
    camera.problem.value = "video source camera:/dev/video0: camera /dev/video0 does not exist";
    camera.process.exit(0);
    await settle();
    expect([camera.failover.state, camera.failover.reason]).toEqual(["unavailable", camera.problem.value]);
  });

  it("failures before the first frame are left to the stream's start; the stand-in's own exits are not the source's", async () => {
    const { failover, process, problem, startProcess } = setUp({ kind: "camera", device: "/dev/video0" });
    problem.value = "gone";
    startProcess(false);
    process.exit(1, "Cannot identify device");
    await settle();
    expect(failover.state).toBe("live");
    expect(process.restarts).toBe(0);

    const standIn = setUp({ kind: "camera", device: "/dev/video0" }, { unavailable: "absent at start" });
    standIn.problem.value = "gone";
    expect(standIn.startProcess()).toBe("stand-in");
    standIn.process.exit(1, "stand-in crashed");
    await poll(2);
    expect(standIn.process.restarts).toBe(0);
    expect([standIn.failover.state, standIn.failover.reason]).toEqual(["unavailable", "absent at start"]);
  });

  it("a source absent at start is picked up when it appears (a camera plugged in later)", async () => {
    const { failover, process, problem, states, startProcess } = setUp(
      { kind: "camera", device: "/dev/video0" },
      { unavailable: "camera /dev/video0 does not exist" },
    );
    problem.value = "camera /dev/video0 does not exist";
    expect(startProcess()).toBe("stand-in");
    expect(failover.state).toBe("unavailable");
    problem.value = undefined;
    await poll();
    expect(process.restarts).toBe(1);
    expect(startProcess()).toBe("source");
    expect(states).toEqual([["live", undefined]]);
  });

  it("stopped: no more polling and no more switching", async () => {
    const { failover, process, problem, startProcess } = setUp({ kind: "file", path: "/srv/a.mkv" });
    startProcess();
    problem.value = "gone";
    process.exit(1, "Resource not found.");
    await settle();
    expect(failover.state).toBe("unavailable");
    failover.close();
    problem.value = undefined;
    await poll(3);
    expect(problem.checks).toBe(1);
    expect(process.restarts).toBe(1);
    expect(process.listenerCount("exited")).toBe(0);
  });
});

describe("videoSourceProblem", () => {
  const dir = mkdtempSync(join(tmpdir(), "device-rtc-source-"));

  it("a camera: its node must exist and open", async () => {
    const node = join(dir, "video0");
    expect(await videoSourceProblem({ kind: "camera", device: node })).toMatch(
      /camera .*video0 does not exist/,
    );
    writeFileSync(node, "");
    expect(await videoSourceProblem({ kind: "camera", device: node })).toBeUndefined();
    // Exists but cannot be opened for reading and writing (a directory): not usable either.
    const directory = join(dir, "video1");
    mkdirSync(directory);
    expect(await videoSourceProblem({ kind: "camera", device: directory })).toMatch(
      /cannot open .*video1 \(EISDIR\)/,
    );
  });

  it("a file must be there; libcamera and the test source are tried, not checked", async () => {
    const clip = join(dir, "clip.mkv");
    expect(await videoSourceProblem({ kind: "file", path: clip })).toMatch(/clip\.mkv does not exist/);
    writeFileSync(clip, "");
    expect(await videoSourceProblem({ kind: "file", path: clip })).toBeUndefined();
    expect(await videoSourceProblem({ kind: "libcamera" })).toBeUndefined();
    expect(await videoSourceProblem({ kind: "test" })).toBeUndefined();
  });
});
