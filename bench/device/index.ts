/**
 * Device benchmark: time to first frame, glass-to-glass latency, and CPU/memory against viewer count.
 *
 * Extra device flags for experiments: BENCH_DEVICE_FLAGS="--keyframe-interval 10".
 *
 *   npm run bench:device -- [--joins 20] [--latency-seconds 60] [--cpu-seconds 20] [--levels 1,3,5,10]
 *                           [--codecs vp8,h264] [--only ttff,latency,cpu] [--json FILE]
 *                           [--cpu-viewers spread|top] [--remb BPS,BPS,…] [--cpu-settle-seconds S]
 *
 * Runs inside a loopback-only network namespace (npm script). Everything is real: our signalling
 * server, `device-rtc device` with the test source, Chromium with gstwebrtc-api for the first two,
 * and a separate process of werift viewers for the CPU table (ten Chromium tabs decoding video would
 * take both cores and measure Chromium, not the device).
 *
 * - First frame: from the page's startSession to its first presented frame (requestVideoFrameCallback),
 *   over `--joins` joins in a row. Target p50 ≤ 400 ms.
 * - Glass-to-glass: the test pattern burns Date.now() into each frame as binary blocks when Node draws
 *   it; the page reads them from a canvas at each presented frame and subtracts from the frame's
 *   expected display time. Same machine, same clock. Target p50 ≤ 60 ms, p95 ≤ 120 ms.
 *   Each codec is measured with audio (lip sync on) and video only.
 * - CPU of the device (node + its gst-launch-1.0 children, % of one core) and node's RSS with N
 *   viewers, over `--cpu-seconds`. Targets: 10 viewers ≤ 2.0× the CPU of 1; RSS ≤ 150 MB at 10.
 *   `--cpu-viewers spread` (the default): the viewers are spread over the ladder's layers — viewer i
 *   sends REMBs claiming the i-th bandwidth of `--remb` (cycling; default {@link SPREAD_CLAIMS}),
 *   as a browser reports its estimate, and the device's LayerPolicy moves it; the measurement starts
 *   `--cpu-settle-seconds` after every viewer receives (default 12: time for the moves). `top`: no
 *   REMB, every viewer stays on the top layer. Each row says which layers the viewers were on at the
 *   end (from the device's "viewer moved to another layer" lines) and how many moves happened
 *   during the measurement. With `BENCH_DEVICE_FLAGS="--ladder off"` there is one layer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import { clockBlockLayout } from "../../src/media/TestPattern.ts";
import { SignallingServer } from "../../src/signalling/SignallingServer.ts";
import { CHROMIUM_WEBRTC_ARGS } from "../../test/helpers/netns.ts";

const { values: args } = parseArgs({
  options: {
    joins: { type: "string", default: "20" },
    "latency-seconds": { type: "string", default: "60" },
    "cpu-seconds": { type: "string", default: "20" },
    levels: { type: "string", default: "1,3,5,10" },
    codecs: { type: "string", default: "vp8,h264" },
    only: { type: "string", default: "ttff,latency,cpu,talkback,echo,incoming" },
    beeps: { type: "string", default: "20" },
    "echo-seconds": { type: "string", default: "30" },
    json: { type: "string" },
    "cpu-viewers": { type: "string", default: "spread" },
    remb: { type: "string" },
    "cpu-settle-seconds": { type: "string" },
  },
});
const JOINS = Number(args.joins);
const LATENCY_SECONDS = Number(args["latency-seconds"]);
const CPU_SECONDS = Number(args["cpu-seconds"]);
const LEVELS = (args.levels ?? "").split(",").map(Number);
const CODECS = (args.codecs ?? "").split(",") as Array<"vp8" | "h264">;
const ONLY = new Set((args.only ?? "").split(","));
const BEEPS = Number(args.beeps);
const ECHO_SECONDS = Number(args["echo-seconds"]);
/**
 * The bandwidths (bit/s) that spread viewers claim, in turn, under the default ladder
 * (640x480@1000, 320x240@250, 160x120@150 kbit/s, and 64 kbit/s of Opus) and LayerPolicy's rules
 * (src/device/LayerPolicy.ts, src/device/constants.ts). Each REMB says the same, so the estimate
 * never falls; a viewer settles where a constant estimate holds it:
 * - 3 Mbit/s: the top layer (an estimate is never far under it).
 * - 280 kbit/s: under half of top + audio reserve (545k) moves it down to the best layer that fits
 *   with 20 % headroom after 90k for audio — none, so the bottom; there it is above what it is sent
 *   (150k + Opus ≈ 220k), so 320x240 is tried after 4 s; there it is under what it is sent
 *   (250k + Opus ≈ 320k), so nothing higher is tried, and over half of it (170k), so it stays.
 *   (600 kbit/s would stay on the top layer: not under 545k.)
 * - 120 kbit/s: the bottom layer, under what it is sent there, so it never tries up.
 */
const SPREAD_CLAIMS = [3_000_000, 280_000, 120_000];
const CPU_VIEWERS = args["cpu-viewers"] === "top" ? "top" : "spread";
const CLAIMS = CPU_VIEWERS === "spread" ? (args.remb?.split(",").map(Number) ?? SPREAD_CLAIMS) : [];
const CPU_SETTLE_SECONDS = Number(args["cpu-settle-seconds"] ?? (CPU_VIEWERS === "spread" ? 12 : 2));
const ROOT = new URL("../../", import.meta.url).pathname;
const WIDTH = 640;
const HEIGHT = 480;

// ---- helpers ----

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        child.stderr?.off("data", onData);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 4000).unref();
  });
}

/** CPU seconds (user + system) of a process and all its descendants. */
function treeCpuSeconds(root: number): number {
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry), {
        ppid: Number(fields[1]),
        cpu: (Number(fields[11]) + Number(fields[12])) / 100,
      });
    } catch {}
  }
  let total = 0;
  const walk = (pid: number) => {
    total += stats.get(pid)?.cpu ?? 0;
    for (const [child, { ppid }] of stats) if (ppid === pid) walk(child);
  };
  walk(root);
  return total;
}

/** CPU seconds (user + system) of one process. */
function processCpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function rssMb(pid: number): number {
  const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(match?.[1] ?? 0) / 1024;
}

// ---- the stage ----

const signalling = await SignallingServer.create({ host: "127.0.0.1", port: 0 });
const signallingUrl = `ws://127.0.0.1:${signalling.address?.port}`;
const files: Record<string, string> = {
  "/": join(ROOT, "bench/device/page.html"),
  "/gstwebrtc-api.js": join(ROOT, "node_modules/gstwebrtc-api/dist/gstwebrtc-api-3.0.0.min.js"),
};
const http = createServer((request, response) => {
  const file = files[new URL(request.url ?? "/", "http://x").pathname];
  if (!file) return void response.writeHead(404).end();
  response
    .writeHead(200, { "content-type": file.endsWith(".js") ? "text/javascript" : "text/html" })
    .end(readFileSync(file));
});
await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
const pageUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/?signalling=${encodeURIComponent(signallingUrl)}${process.env.BENCH_JBT ? `&jbt=${process.env.BENCH_JBT}` : ""}`;

function startDevice(
  codec: string,
  name: string,
  sources: string[] = ["--video", "test", "--audio", "test"],
): ChildProcess {
  return spawn(
    join(ROOT, "bin/device-rtc.js"),
    [
      "device",
      ...sources,
      ...(process.env.BENCH_DEVICE_FLAGS?.split(" ").filter(Boolean) ?? []),
      "--server",
      signallingUrl,
      "--name",
      name,
      "--codec",
      codec,
      "--width",
      String(WIDTH),
      "--height",
      String(HEIGHT),
      "--framerate",
      "30",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "info" } },
  );
}

const profile = mkdtempSync(join(tmpdir(), "device-rtc-bench-"));
const browser = ["ttff", "latency", "talkback", "echo", "incoming"].some((section) => ONLY.has(section))
  ? await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_WEBRTC_ARGS,
    })
  : undefined;

async function openPage(): Promise<Page> {
  if (!browser) throw new Error("no browser");
  const page = await browser.newPage();
  await page.goto(pageUrl);
  await page.evaluate("bench.ready()");
  return page;
}

async function producerId(page: Page, name: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const id = (await page.evaluate(`bench.producer(${JSON.stringify(name)})`)) as string | null;
    if (id) return id;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`producer ${name} not listed`);
}

interface Report {
  talkback?: { p50: number; p95: number; heard: number; sent: number };
  echo?: { p50: number; p95: number; frames: number; unreadable: number };
  incoming?: Array<{ mode: string; cpuPercent: number; perStream: number }>;
  ttff: Record<string, { p50: number; p95: number; samples: number[] }>;
  latency: Record<string, { p50: number; p95: number; frames: number; unreadable: number }>;
  cpu: Record<
    string,
    Array<{
      viewers: number;
      cpuPercent: number;
      /** Node's own share of {@link cpuPercent} (the rest is the encoders). */
      nodeCpuPercent: number;
      nodeRssMb: number;
      videoKbpsPerViewer: number;
      /** Each layer's viewers at the end and their mean video kbit/s, in the order first seen. */
      layers: Array<{ layer: string; viewers: number; videoKbps: number }>;
      /** Layer moves during the measurement. */
      moves: number;
    }>
  >;
}
const report: Report = { ttff: {}, latency: {}, cpu: {} };

/** Glass-to-glass samples of the producer called `producer`, in a fresh page. */
async function measureLatency(producer: string): Promise<Report["latency"][string]> {
  const page = await openPage();
  const id = await producerId(page, producer);
  await page.evaluate(`bench.join(${JSON.stringify(id)})`);
  // Let Chrome's bandwidth estimate and jitter buffer settle before measuring.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const result = (await page.evaluate(
    `bench.latency(${JSON.stringify(clockBlockLayout(WIDTH))}, ${LATENCY_SECONDS})`,
  )) as { samples: number[]; unreadable: number };
  await page.close();
  return {
    p50: percentile(result.samples, 50),
    p95: percentile(result.samples, 95),
    frames: result.samples.length,
    unreadable: result.unreadable,
  };
}

for (const codec of CODECS) {
  const name = `bench-${codec}`;
  const device = startDevice(codec, name);
  await waitForLine(device, /registered as producer/);

  if (ONLY.has("ttff")) {
    const page = await openPage();
    const id = await producerId(page, name);
    const samples: number[] = [];
    for (let i = 0; i < JOINS; i++) {
      samples.push((await page.evaluate(`bench.join(${JSON.stringify(id)})`)) as number);
      await page.evaluate("bench.leave()");
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    report.ttff[codec] = { p50: percentile(samples, 50), p95: percentile(samples, 95), samples };
    await page.close();
  }

  if (ONLY.has("latency")) report.latency[`${codec}, video + audio`] = await measureLatency(name);

  if (ONLY.has("cpu")) {
    report.cpu[codec] = [];
    // The device's "viewer moved to another layer" lines, when they came.
    const moves: Array<{ peerId: string; layer: string; at: number }> = [];
    for (const stream of [device.stdout, device.stderr]) {
      let partial = "";
      stream?.on("data", (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          if (!line.includes('"viewer moved to another layer"')) continue;
          try {
            const entry = JSON.parse(line) as { peerId: string; layer: string };
            moves.push({ peerId: entry.peerId, layer: entry.layer, at: performance.now() });
          } catch {}
        }
      });
    }
    for (const viewers of LEVELS) {
      const farm = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          join(ROOT, "bench/device/viewers.ts"),
          "--server",
          signallingUrl,
          "--name",
          name,
          "--count",
          String(viewers),
          ...(CLAIMS.length > 0 ? ["--remb", CLAIMS.join(",")] : []),
        ],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let videoBytes = 0;
      /** Each viewer's signalling id and video bytes so far, in viewer order. */
      const peerIds: string[] = [];
      let bytesOf: number[] = [];
      let partial = "";
      farm.stdout?.on("data", (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          const words = line.split(" ");
          if (words[0] === "packets") videoBytes = Number(words[3]);
          else if (words[0] === "bytes") bytesOf = words.slice(1).map(Number);
          else if (words[0] === "viewer") peerIds[Number(words[1])] = words[2] as string;
        }
      });
      await waitForLine(farm, new RegExp(`receiving ${viewers}`), 60_000);
      await new Promise((resolve) => setTimeout(resolve, CPU_SETTLE_SECONDS * 1000));
      const before = treeCpuSeconds(device.pid ?? 0);
      const nodeBefore = processCpuSeconds(device.pid ?? 0);
      const bytesBefore = videoBytes;
      const eachBefore = [...bytesOf];
      const start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, CPU_SECONDS * 1000));
      const cpu = treeCpuSeconds(device.pid ?? 0) - before;
      const nodeCpu = processCpuSeconds(device.pid ?? 0) - nodeBefore;
      const end = performance.now();
      const elapsed = (end - start) / 1000;
      // Where each viewer is: its last move, or the top layer it starts on.
      const layers: Array<{ layer: string; viewers: number; videoKbps: number }> = [];
      peerIds.forEach((peerId, i) => {
        const layer = moves.filter((move) => move.peerId === peerId).at(-1)?.layer ?? `${WIDTH}x${HEIGHT}`;
        const kbps = (((bytesOf[i] ?? 0) - (eachBefore[i] ?? 0)) * 8) / 1000 / elapsed;
        let group = layers.find((entry) => entry.layer === layer);
        if (!group) {
          group = { layer, viewers: 0, videoKbps: 0 };
          layers.push(group);
        }
        group.videoKbps = (group.videoKbps * group.viewers + kbps) / (group.viewers + 1);
        group.viewers++;
      });
      const ours = new Set(peerIds);
      report.cpu[codec].push({
        viewers,
        cpuPercent: (cpu / elapsed) * 100,
        nodeCpuPercent: (nodeCpu / elapsed) * 100,
        nodeRssMb: rssMb(device.pid ?? 0),
        videoKbpsPerViewer: ((videoBytes - bytesBefore) * 8) / 1000 / elapsed / viewers,
        layers,
        moves: moves.filter((move) => ours.has(move.peerId) && move.at >= start && move.at <= end).length,
      });
      await stop(farm);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
  await stop(device);

  if (ONLY.has("latency")) {
    // The same without audio, alone on the machine: Chrome then has no lip sync to hold video back for.
    const videoOnly = startDevice(codec, `${name}-video-only`, ["--video", "test", "--audio", "none"]);
    await waitForLine(videoOnly, /registered as producer/);
    report.latency[`${codec}, video only`] = await measureLatency(`${name}-video-only`);
    await stop(videoOnly);
  }
}

/** Device lines of the form {"time":…,"msg":"speaker onset"} as Date.now() times. */
function onsetsOf(output: string): number[] {
  return output
    .split("\n")
    .filter((line) => line.includes('"speaker onset"'))
    .map((line) => Date.parse((JSON.parse(line) as { time: string }).time));
}

if (ONLY.has("talkback")) {
  const device = startDevice("vp8", "bench-talk", [
    "--video",
    "none",
    "--audio",
    "none",
    "--speaker",
    "meter",
  ]);
  let output = "";
  device.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitForLine(device, /registered as consumer/);
  const page = await openPage();
  const consumer = await (async () => {
    for (let i = 0; i < 100; i++) {
      const id = (await page.evaluate(`bench.consumer("bench-talk")`)) as string | null;
      if (id) return id;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("no consumer");
  })();
  const starts = (await page.evaluate(`bench.talk(${JSON.stringify(consumer)}, ${BEEPS})`)) as number[];
  const onsets = onsetsOf(output);
  // Each beep is heard at the first onset after it starts (and before the next beep).
  const latencies = starts
    .map((start, i) => onsets.find((onset) => onset >= start && onset < (starts[i + 1] ?? start + 1000)))
    .map((onset, i) => (onset === undefined ? undefined : onset - (starts[i] as number)))
    .filter((value): value is number => value !== undefined);
  report.talkback = {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    heard: latencies.length,
    sent: starts.length,
  };
  await page.close();
  await stop(device);
}

if (ONLY.has("echo")) {
  const device = startDevice("vp8", "bench-echo", [
    "--video",
    "none",
    "--audio",
    "none",
    "--incoming-video",
    "echo",
  ]);
  await waitForLine(device, /registered as consumer/);
  const page = await openPage();
  let consumer: string | null = null;
  for (let i = 0; i < 100 && !consumer; i++) {
    consumer = (await page.evaluate(`bench.consumer("bench-echo")`)) as string | null;
    if (!consumer) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const layout = { block: 24, x: 24, y: 200, columns: 24, rows: 2 };
  const result = (await page.evaluate(
    `bench.echoLatency(${JSON.stringify(consumer)}, "bench-echo", ${JSON.stringify(layout)}, ${ECHO_SECONDS})`,
  )) as { samples: number[]; unreadable: number };
  report.echo = {
    p50: percentile(result.samples, 50),
    p95: percentile(result.samples, 95),
    frames: result.samples.length,
    unreadable: result.unreadable,
  };
  await page.close();
  await stop(device);
}

if (ONLY.has("incoming")) {
  report.incoming = [];
  const modes: Array<[string, string[]]> = [
    ["none (idle device)", []],
    ["discard", ["--incoming-audio", "discard", "--incoming-video", "discard"]],
    ["speaker (audio)", ["--incoming-audio", "speaker", "--speaker", "meter", "--incoming-video", "discard"]],
    [
      "record (video + audio)",
      [
        "--incoming-audio",
        "discard",
        "--incoming-video",
        "record",
        "--record-dir",
        mkdtempSync(join(tmpdir(), "bench-rec-")),
      ],
    ],
    ["echo (video)", ["--incoming-audio", "discard", "--incoming-video", "echo"]],
  ];
  let idle = 0;
  for (const [mode, flags] of modes) {
    const device = startDevice("vp8", "bench-in", ["--video", "none", "--audio", "none", ...flags]);
    await waitForLine(device, /registered as consumer/);
    const page = await openPage();
    if (flags.length > 0) {
      let consumer: string | null = null;
      for (let i = 0; i < 100 && !consumer; i++) {
        consumer = (await page.evaluate(`bench.consumer("bench-in")`)) as string | null;
        if (!consumer) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await page.evaluate(`bench.send(${JSON.stringify(consumer)})`);
      await new Promise((resolve) => setTimeout(resolve, 4000));
    }
    const before = treeCpuSeconds(device.pid ?? 0);
    const start = performance.now();
    await new Promise((resolve) => setTimeout(resolve, CPU_SECONDS * 1000));
    const cpuPercent =
      ((treeCpuSeconds(device.pid ?? 0) - before) / ((performance.now() - start) / 1000)) * 100;
    if (flags.length === 0) idle = cpuPercent;
    report.incoming.push({ mode, cpuPercent, perStream: cpuPercent - idle });
    await page.close();
    await stop(device);
  }
}

await browser?.close();
rmSync(profile, { recursive: true, force: true });
await signalling.close();
http.close();

const lines: string[] = [
  `Device benchmark — ${new Date().toISOString()}, ${WIDTH}x${HEIGHT}@30, test source, node ${process.version}`,
  "",
];
if (Object.keys(report.ttff).length) {
  lines.push(
    `First decoded frame after startSession (${JOINS} joins)`,
    "",
    "| codec | p50 (ms) | p95 (ms) | min | max |",
    "|---|---|---|---|---|",
  );
  for (const [codec, r] of Object.entries(report.ttff)) {
    lines.push(
      `| ${codec} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(Math.min(...r.samples))} | ${fmt(Math.max(...r.samples))} |`,
    );
  }
  lines.push("");
}
if (Object.keys(report.latency).length) {
  lines.push(
    `Glass-to-glass latency (${LATENCY_SECONDS} s)`,
    "",
    "| codec | p50 (ms) | p95 (ms) | frames read | unreadable |",
    "|---|---|---|---|---|",
  );
  for (const [codec, r] of Object.entries(report.latency)) {
    lines.push(`| ${codec} | ${fmt(r.p50, 1)} | ${fmt(r.p95, 1)} | ${r.frames} | ${r.unreadable} |`);
  }
  lines.push(
    "",
    "With audio in the same MediaStream (as gstwebrtc-api pages expect: `streams[0]`), Chrome delays video to",
    "keep lip sync with its adaptive audio jitter buffer; the video-only rows show the path without it.",
    "",
  );
}
if (Object.keys(report.cpu).length) {
  lines.push(
    `Device CPU (node + gst-launch-1.0 children, % of one core, ${CPU_SECONDS} s) and node RSS, ${
      CPU_VIEWERS === "spread"
        ? `viewers spread over the layers (REMB claims ${CLAIMS.map((bps) => `${bps / 1000}`).join(" / ")} kbit/s in turn)`
        : "every viewer on the top layer (no REMB)"
    }${process.env.BENCH_DEVICE_FLAGS ? `, device flags: ${process.env.BENCH_DEVICE_FLAGS}` : ""}`,
    "",
    "| codec | viewers | CPU % | × 1 viewer | node RSS (MB) | video kbit/s per viewer | layers at the end: viewers (video kbit/s each) | moves while measured |",
    "|---|---|---|---|---|---|---|---|",
  );
  for (const [codec, rows] of Object.entries(report.cpu)) {
    const base = rows[0]?.cpuPercent ?? Number.NaN;
    for (const row of rows)
      lines.push(
        `| ${codec} | ${row.viewers} | ${fmt(row.cpuPercent, 1)} | ${fmt(row.cpuPercent / base, 2)} | ${fmt(row.nodeRssMb)} | ${fmt(row.videoKbpsPerViewer)} | ${row.layers
          .map((group) => `${group.layer}: ${group.viewers} (${fmt(group.videoKbps)})`)
          .join(", ")} | ${row.moves} |`,
      );
  }
}
if (report.talkback) {
  const r = report.talkback;
  lines.push(
    "",
    `Talk-back latency: page WebAudio beep → device speaker output (${r.heard} of ${r.sent} beeps heard)`,
    "",
    "| p50 (ms) | p95 (ms) |",
    "|---|---|",
    `| ${fmt(r.p50)} | ${fmt(r.p95)} |`,
  );
}
if (report.echo) {
  const r = report.echo;
  lines.push(
    "",
    `Echo round trip: page canvas (burnt clock) → device decode/overlay/encode → page screen (${ECHO_SECONDS} s)`,
    "",
    "| p50 (ms) | p95 (ms) | frames read | unreadable |",
    "|---|---|---|---|",
    `| ${fmt(r.p50, 1)} | ${fmt(r.p95, 1)} | ${r.frames} | ${r.unreadable} |`,
  );
}
if (report.incoming) {
  lines.push(
    "",
    `Device CPU with one incoming browser stream (640x480 VP8 + Opus), by mode (${CPU_SECONDS} s, % of one core)`,
    "",
    "| mode | device CPU % | for the stream |",
    "|---|---|---|",
  );
  for (const row of report.incoming)
    lines.push(`| ${row.mode} | ${fmt(row.cpuPercent, 1)} | ${fmt(row.perStream, 1)} |`);
}
process.stdout.write(`${lines.join("\n")}\n`);
if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
process.exit(0);
