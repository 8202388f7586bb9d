/**
 * UDP on 127.0.0.1 between Node and its gst-launch-1.0 children. Nothing binds a wildcard address, and
 * every socket Node reads from is connected to the one port its pipeline sends from, so the kernel
 * drops datagrams from anyone else (another local user who read a port from /proc).
 */
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";

export const LOOPBACK = "127.0.0.1";

/** A UDP socket bound to 127.0.0.1 on `port` (by default an ephemeral one); closed again if the bind fails. */
export function bindLoopbackSocket(port = 0): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const failed = (error: Error) => {
      socket.close();
      reject(error);
    };
    socket.once("error", failed);
    socket.bind(port, LOOPBACK, () => {
      socket.off("error", failed);
      resolve(socket);
    });
  });
}

/** Connects `socket` to 127.0.0.1:`port` (datagrams from any other address or port are dropped). */
export function connectLoopback(socket: Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(port, LOOPBACK, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

/** Where Linux hands out ports for `bind(0)` when /proc cannot be read (its default). */
const DEFAULT_EPHEMERAL_RANGE: readonly [number, number] = [32768, 60999];
/** The lowest port handed to a pipeline: above the registered ports most services listen on. */
const LOWEST_PIPELINE_PORT = 10000;
/** How long a port handed out is not handed out again: time enough for gst-launch-1.0 to bind it. */
const HANDED_OUT_MS = 30_000;
const handedOut = new Map<number, number>();

let ephemeralRange: readonly [number, number] | undefined;

/** The kernel's ephemeral port range (net.ipv4.ip_local_port_range), read once. */
export function ephemeralPortRange(): readonly [number, number] {
  ephemeralRange ??= readEphemeralPortRange();
  return ephemeralRange;
}

function readEphemeralPortRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && (low as number) <= (high as number))
      return [low as number, high as number];
  } catch {
    // not Linux, or no /proc: its default
  }
  return DEFAULT_EPHEMERAL_RANGE;
}

/**
 * A port on 127.0.0.1 that is free now, for a pipeline to bind (`udpsrc port=`, `udpsink bind-port=`).
 * GStreamer binds with SO_REUSEPORT, which Linux grants only to sockets of the same user, so another
 * user cannot share the port once the pipeline has it.
 *
 * The port is free between this check and gst-launch-1.0's bind only if nobody else takes it in that
 * window. Every socket bound to port 0 (the browser's, werift's, ours) gets a port from the kernel's
 * ephemeral range, so a port from there could be taken by any of them (CI saw it once: udpsrc "Could
 * not get/set settings"). The port is therefore picked outside that range, at random, and not handed
 * out twice within {@link HANDED_OUT_MS}.
 */
export async function reserveLoopbackPort(): Promise<number> {
  const candidates = pipelinePortRange();
  if (!candidates) return ephemeralPort();
  const [low, high] = candidates;
  const now = performance.now();
  for (const [port, at] of handedOut) if (now - at > HANDED_OUT_MS) handedOut.delete(port);
  for (let attempt = 0; attempt < 64; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port) || !(await isFree(port))) continue;
    handedOut.set(port, now);
    return port;
  }
  return ephemeralPort();
}

/** The ports below (or else above) the ephemeral range; undefined if the ephemeral range covers them all. */
function pipelinePortRange(): readonly [number, number] | undefined {
  const [low, high] = ephemeralPortRange();
  if (low - 1 - LOWEST_PIPELINE_PORT >= 1000) return [LOWEST_PIPELINE_PORT, low - 1];
  if (65535 - (high + 1) >= 1000) return [high + 1, 65535];
  return undefined;
}

/** Whether nothing holds `port` on 127.0.0.1 now: a bind there succeeds (and is undone). */
function isFree(port: number): Promise<boolean> {
  return bindLoopbackSocket(port).then(
    (socket) => closeSocket(socket).then(() => true),
    () => false,
  );
}

async function ephemeralPort(): Promise<number> {
  const socket = await bindLoopbackSocket();
  const { port } = socket.address();
  await closeSocket(socket);
  return port;
}

export function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
