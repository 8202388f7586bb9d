/**
 * Recovery benchmark: how fast the system gets back to normal after something goes wrong. These were
 * timed assertions in the tests; the tests now check that recovery happens, this measures how fast.
 *
 *   npm run bench:recovery -- [--runs 5] [--only ghost,encoder,sigterm] [--json FILE]
 *
 * - ghost: a signalling peer that stops answering pings (half-open TCP) is removed — time from its
 *   connection to its removal, with a 200 ms ping interval and 200 ms pong timeout. Target ≤ 1.5 s.
 * - encoder: the device's video encoder process is killed (SIGKILL) while a viewer watches — time
 *   until the device forwards packets of the restarted encoder ("encoder restarted; stream
 *   continues") and until the viewer receives video again. Target ≤ 3 s.
 * - sigterm: `device-rtc device` with a viewer gets SIGTERM — time until it has ended the session,
 *   stopped every gst-launch-1.0 and exited. Target ≤ 3 s.
 *
 * Runs inside a loopback-only network namespace (npm script); a werift viewer process
 * (bench/device/viewers.ts) plays the viewer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { SignallingServer } from "../../src/signalling/SignallingServer.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    only: { type: "string", default: "ghost,encoder,sigterm" },
    json: { type: "string" },
  },
});
const RUNS = Number(args.runs);
const ONLY = new Set((args.only ?? "").split(","));
const ROOT = new URL("../../", import.meta.url).pathname;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Resolves when `child`'s output (stdout and stderr) matches `pattern`, with the time it did. */
function whenOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (!pattern.test(output)) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      resolve(performance.now());
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });
}

/** Children (by /proc) of `pid` whose command line matches `pattern`. */
function childrenMatching(pid: number, pattern: RegExp): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (ppid === pid && pattern.test(command)) found.push(Number(entry));
      else if (ppid === pid) found.push(...childrenMatching(Number(entry), pattern));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

interface Stage {
  signalling: SignallingServer;
  url: string;
  device: ChildProcess;
  viewer: ChildProcess;
}

async function stage(): Promise<Stage> {
  const signalling = await SignallingServer.create({ host: "127.0.0.1", port: 0 });
  const url = `ws://127.0.0.1:${signalling.address?.port}`;
  const device = spawn(
    join(ROOT, "bin/device-rtc.js"),
    ["device", "--server", url, "--name", "bench", "--video", "test", "--audio", "test"],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "info" } },
  );
  await whenOutput(device, /registered as producer/);
  const viewer = spawn(
    "node",
    ["--import", "tsx", join(ROOT, "bench/device/viewers.ts"), "--server", url, "--name", "bench"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await whenOutput(viewer, /receiving 1/);
  return { signalling, url, device, viewer };
}

async function teardown(s: Stage): Promise<void> {
  s.viewer.kill("SIGKILL");
  if (s.device.exitCode === null) {
    s.device.kill("SIGTERM");
    await new Promise((resolve) => s.device.once("exit", resolve));
  }
  await s.signalling.close();
}

/** Time for a viewer's packet count (printed every second) to rise again after `since`. */
function viewerResumes(viewer: ChildProcess, since: number): Promise<number> {
  return new Promise((resolve) => {
    let last = -1;
    const onData = (chunk: Buffer) => {
      for (const match of chunk.toString().matchAll(/packets (\d+) videoBytes (\d+)/g)) {
        const bytes = Number(match[2]);
        if (performance.now() > since + 200 && last >= 0 && bytes > last) {
          viewer.stdout?.off("data", onData);
          resolve(performance.now());
          return;
        }
        if (performance.now() > since) last = bytes;
      }
    };
    viewer.stdout?.on("data", onData);
  });
}

const report: Record<string, { samples: number[]; p50: number; max: number; target: number }> = {};
function record(name: string, samples: number[], target: number): void {
  report[name] = { samples, p50: percentile(samples, 50), max: Math.max(...samples), target };
}

if (ONLY.has("ghost")) {
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const server = await SignallingServer.create({
      host: "127.0.0.1",
      port: 0,
      pingIntervalMs: 200,
      pongTimeoutMs: 200,
    });
    const ghost = new WebSocket(`ws://127.0.0.1:${server.address?.port}`, { autoPong: false });
    await new Promise((resolve) => ghost.once("open", resolve));
    const connected = performance.now();
    while (server.stats.connections > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    samples.push(performance.now() - connected);
    ghost.terminate();
    await server.close();
  }
  record("half-open signalling peer removed (200 ms ping/pong), ms", samples, 1500);
}

if (ONLY.has("encoder")) {
  const devicePackets: number[] = [];
  const viewerPackets: number[] = [];
  const s = await stage();
  for (let run = 0; run < RUNS; run++) {
    const [encoder] = childrenMatching(s.device.pid ?? 0, /gst-launch-1\.0.*vp8enc/);
    if (!encoder) throw new Error("no video encoder process");
    const restarted = whenOutput(s.device, /"stream":"video"[^\n]*encoder restarted; stream continues/);
    const killed = performance.now();
    const resumed = viewerResumes(s.viewer, killed);
    process.kill(encoder, "SIGKILL");
    devicePackets.push((await restarted) - killed);
    viewerPackets.push((await resumed) - killed);
    // Let the new encoder settle before the next kill.
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  await teardown(s);
  record("encoder killed → device forwards the new encoder's packets, ms", devicePackets, 3000);
  record("encoder killed → the viewer receives video again (1 s resolution), ms", viewerPackets, 3000);
}

if (ONLY.has("sigterm")) {
  const samples: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const s = await stage();
    const exited = new Promise<number | null>((resolve) => s.device.once("exit", (code) => resolve(code)));
    const sent = performance.now();
    s.device.kill("SIGTERM");
    const code = await exited;
    samples.push(performance.now() - sent);
    if (code !== 0) throw new Error(`the device exited with ${code}`);
    await teardown(s);
  }
  record("SIGTERM with a viewer → every child stopped, exit 0, ms", samples, 3000);
}

const rows = Object.entries(report).map(
  ([name, r]) =>
    `| ${name} | ${r.p50.toFixed(0)} | ${r.max.toFixed(0)} | ≤ ${r.target} | ${r.max <= r.target ? "yes" : "NO"} |`,
);
process.stdout.write(
  [
    `| recovery (${RUNS} runs) | p50 | max | target | met |`,
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n"),
);
if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
process.exit(0);
