/**
 * GStreamer's own webrtcbin as a peer of the device (test/net/peers/webrtcbin_peer.py, Debian's
 * python3-gi): a webrtcsink-style sender or a viewer, on a host of the test bed. Its signalling
 * lines are carried to and from the signalling server over a WebSocket opened here.
 */
import WebSocket from "ws";
import { onCleanup } from "./cleanup.ts";
import { PYTHON } from "./linkemu.ts";
import type { BedHost } from "./netbed.ts";
import { type Child, startChild } from "./processes.ts";

const PEER = new URL("../net/peers/webrtcbin_peer.py", import.meta.url).pathname;

export interface WebrtcbinReport {
  videoFrames?: number;
  videoSize?: [number, number] | null;
  audioBuffers?: number;
  audioRms?: number;
  offer?: string;
  state?: string;
  value?: string;
  ended?: boolean;
  /** Milliseconds from the viewer's startSession to its first decoded frame. */
  firstFrameMs?: number;
  /** A sender with --drop-keyframes N: keyframes lost so far, and a keyframe sent. */
  droppedKeyframes?: number;
  keyframeSent?: boolean;
}

export interface WebrtcbinPeer {
  child: Child;
  reports: WebrtcbinReport[];
  /** Resolves with the first report (past or future) for which `test` holds. */
  waitReport(
    test: (r: WebrtcbinReport) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<WebrtcbinReport>;
}

/**
 * Starts `webrtcbin_peer.py MODE ARGS` (on `host` when given) connected to `signalling`.
 * `headers` go with the WebSocket handshake (e.g. a credential, once the server asks for one).
 */
export async function startWebrtcbinPeer(
  host: BedHost | undefined,
  signalling: string,
  args: string[],
  headers: Record<string, string> = {},
): Promise<WebrtcbinPeer> {
  const argv = [PEER, ...args];
  const env = { GST_DEBUG: process.env.GST_DEBUG ?? "1" };
  const child = host
    ? startChild("nsenter", ["-t", String(host.pid), "-n", "--", PYTHON, ...argv], env, { stdin: true })
    : startChild(PYTHON, argv, env, { stdin: true });
  const stdin = child.process.stdin;
  if (!stdin) throw new Error("webrtcbin peer has no stdin");
  stdin.on("error", () => {});
  const reports: WebrtcbinReport[] = [];
  const waiters = new Set<() => void>();
  const socket = new WebSocket(signalling, { headers });
  onCleanup(() => socket.terminate());
  const queue: string[] = [];
  socket.on("message", (data) => {
    if (!stdin.destroyed) stdin.write(`${data.toString()}\n`);
  });
  socket.on("open", () => {
    for (const line of queue.splice(0)) socket.send(line);
  });
  socket.on("error", () => {});
  let pending = "";
  child.process.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.startsWith("SIG ")) {
        const message = line.slice(4);
        if (socket.readyState === WebSocket.OPEN) socket.send(message);
        else queue.push(message);
      } else if (line.startsWith("REPORT ")) {
        reports.push(JSON.parse(line.slice(7)));
        for (const waiter of waiters) waiter();
      }
      newline = pending.indexOf("\n");
    }
  });
  return {
    child,
    reports,
    waitReport(test, what, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = reports.find(test);
          if (found) {
            done();
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `webrtcbin peer: timed out waiting for ${what}; last reports ${JSON.stringify(reports.slice(-3))}\n${child.output().slice(-3000)}`,
            ),
          );
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
