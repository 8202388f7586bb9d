/**
 * Signalling server benchmark: peers held, relay throughput, relay latency, server RSS and CPU.
 *
 *   npm run bench:signalling -- [--peers 2000] [--hold 5000] [--rate 10000] [--seconds 10] [--json FILE]
 *
 * The server runs as its own process (`device-rtc signalling`, LOG_LEVEL=warn) so its CPU and memory are
 * measured alone; this process plays every peer over loopback. Phases:
 *   1. hold: connect `--hold` peers, each welcomed, then disconnect them;
 *   2. connect `--peers` peers as producer/consumer pairs with one session each;
 *   3. relay `peer` messages (ICE candidates carrying a send timestamp) from producers to consumers at
 *      2,000 msg/s and at `--rate` msg/s for `--seconds` each: relayed rate, latency p50/p99;
 *   4. relay as fast as the server goes (a bounded window of messages in flight): the ceiling.
 * Targets (2-core machine): ≥ 5,000 peers held, ≥ 20,000 msg/s relayed, p99 < 10 ms at 2,000 msg/s.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values: args } = parseArgs({
  options: {
    peers: { type: "string", default: "2000" },
    hold: { type: "string", default: "5000" },
    rate: { type: "string", default: "10000" },
    seconds: { type: "string", default: "10" },
    port: { type: "string", default: "18943" },
    json: { type: "string" },
  },
});
const PEERS = Number(args.peers);
const HOLD = Number(args.hold);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const PORT = Number(args.port);
const SERVER_URL = `ws://127.0.0.1:${PORT}`;

// ---- the server process ----

const bin = new URL("../../bin/device-rtc.js", import.meta.url).pathname;
const server = spawn(
  process.execPath,
  [bin, "signalling", "--host", "127.0.0.1", "--port", String(PORT), "--max-message-size", "65536"],
  {
    env: { ...process.env, LOG_LEVEL: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  },
);
process.on("exit", () => server.kill("SIGKILL"));
const CLOCK_TICKS = 100; // USER_HZ on Linux

function serverCpuSeconds(): number {
  const fields = readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
function serverRssMb(): number {
  const match = readFileSync(`/proc/${server.pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(match?.[1] ?? 0) / 1024;
}

// ---- peers ----

interface Peer {
  ws: WebSocket;
  id: string;
  onMessage?: (text: string) => void;
}

function connect(): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(SERVER_URL, { perMessageDeflate: false });
    const peer: Peer = { ws, id: "" };
    ws.once("error", reject);
    ws.on("message", (data) => {
      const text = data.toString();
      if (!peer.id) {
        peer.id = JSON.parse(text).peerId;
        resolve(peer);
      } else peer.onMessage?.(text);
    });
  });
}

async function connectMany(count: number): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let i = 0; i < count; i += 200) {
    peers.push(...(await Promise.all(Array.from({ length: Math.min(200, count - i) }, connect))));
  }
  return peers;
}

function closeAll(peers: Peer[]): Promise<void> {
  return Promise.all(
    peers.map(
      (peer) =>
        new Promise<void>((resolve) => {
          peer.ws.once("close", () => resolve());
          peer.ws.close();
        }),
    ),
  ).then(() => undefined);
}

async function waitForServer(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      const peer = await connect();
      await closeAll([peer]);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error("the server did not start");
}

interface Pair {
  producer: Peer;
  consumer: Peer;
  sessionId: string;
}

async function makePairs(peers: Peer[]): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let i = 0; i + 1 < peers.length; i += 2) {
    const producer = peers[i] as Peer;
    const consumer = peers[i + 1] as Peer;
    producer.ws.send(
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"bench-${i}"},"peerId":"${producer.id}"}`,
    );
    pairs.push({ producer, consumer, sessionId: "" });
  }
  await Promise.all(
    pairs.map(
      (pair) =>
        new Promise<void>((resolve) => {
          pair.consumer.onMessage = (text) => {
            const message = JSON.parse(text);
            if (message.type === "sessionStarted") {
              pair.sessionId = message.sessionId;
              resolve();
            }
          };
          pair.consumer.ws.send(`{"type":"startSession","peerId":"${pair.producer.id}"}`);
        }),
    ),
  );
  return pairs;
}

// ---- relay ----

interface RelayResult {
  label: string;
  offered: number;
  relayedPerSecond: number;
  p50: number;
  p99: number;
  lost: number;
  serverCpuPercent: number;
  serverRssMb: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Sends at `rate` msg/s (0 = as fast as a window of in-flight messages allows) for `seconds`,
 * round-robin over the pairs, and measures each message's relay latency at its consumer.
 */
async function relay(pairs: Pair[], rate: number, seconds: number, label: string): Promise<RelayResult> {
  const latencies: number[] = [];
  let received = 0;
  let sent = 0;
  const WINDOW = 2000;
  let wakeSender: (() => void) | undefined;
  for (const pair of pairs) {
    pair.consumer.onMessage = (text) => {
      const at = text.indexOf("candidate:");
      const sentAt = Number(text.slice(at + 10, text.indexOf(" ", at)));
      latencies.push(performance.now() - sentAt);
      received++;
      wakeSender?.();
    };
  }
  const send = (pair: Pair) => {
    sent++;
    pair.producer.ws.send(
      `{"type":"peer","sessionId":"${pair.sessionId}","ice":{"candidate":"candidate:${performance.now().toFixed(3)} 1 UDP 2015363327 127.0.0.1 38559 typ host","sdpMLineIndex":0}}`,
    );
  };
  const cpuBefore = serverCpuSeconds();
  const start = performance.now();
  const end = start + seconds * 1000;
  let next = 0;
  if (rate > 0) {
    // Paced in 1 ms ticks: send what the schedule says is due.
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (now >= end) return resolve();
        const due = Math.floor(((now - start) / 1000) * rate);
        while (sent < due) send(pairs[next++ % pairs.length] as Pair);
        setImmediate(tick);
      };
      tick();
    });
  } else {
    await new Promise<void>((resolve) => {
      const pump = () => {
        if (performance.now() >= end) return resolve();
        while (sent - received < WINDOW) send(pairs[next++ % pairs.length] as Pair);
        wakeSender = pump;
      };
      pump();
    });
    wakeSender = undefined;
  }
  const elapsed = (performance.now() - start) / 1000;
  // Let the tail arrive.
  const drainUntil = performance.now() + 3000;
  while (received < sent && performance.now() < drainUntil)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const cpu = serverCpuSeconds() - cpuBefore;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    label,
    offered: rate,
    relayedPerSecond: Math.round(received / elapsed),
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    lost: sent - received,
    serverCpuPercent: Math.round((cpu / elapsed) * 100),
    serverRssMb: Math.round(serverRssMb()),
  };
}

// ---- run ----

await waitForServer();
const idleRss = serverRssMb();

const holdStart = performance.now();
const held = await connectMany(HOLD);
const holdSeconds = (performance.now() - holdStart) / 1000;
const heldRss = serverRssMb();
await closeAll(held);

const peers = await connectMany(PEERS);
const pairs = await makePairs(peers);
const results: RelayResult[] = [];
results.push(await relay(pairs, 2000, SECONDS, "2,000 msg/s"));
results.push(await relay(pairs, RATE, SECONDS, `${RATE.toLocaleString("en")} msg/s`));
results.push(await relay(pairs, 0, SECONDS, "max"));
await closeAll(peers);
server.kill("SIGTERM");

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const lines = [
  `Signalling benchmark — ${new Date().toISOString()}, node ${process.version}, ${PEERS} peers (${pairs.length} sessions)`,
  "",
  `peers held: ${held.length} of ${HOLD} (connected in ${fmt(holdSeconds, 1)} s); server RSS idle ${fmt(idleRss, 0)} MB, holding ${fmt(heldRss, 0)} MB`,
  "",
  "| load | relayed msg/s | latency p50 (ms) | latency p99 (ms) | lost | server CPU | server RSS (MB) |",
  "|---|---|---|---|---|---|---|",
  ...results.map(
    (r) =>
      `| ${r.label} | ${r.relayedPerSecond.toLocaleString("en")} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.lost} | ${r.serverCpuPercent} % | ${r.serverRssMb} |`,
  ),
];
process.stdout.write(`${lines.join("\n")}\n`);
if (args.json) {
  writeFileSync(
    args.json,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        peers: PEERS,
        held: held.length,
        holdSeconds,
        idleRss,
        heldRss,
        results,
      },
      null,
      2,
    ),
  );
}
process.exit(0);
