/**
 * Attack first: another local user sends RTP to the loopback port on which Node receives an encoder's
 * packets (the port is in the gst-launch-1.0 command line, which every user can read in /proc). The
 * packet must never reach the viewers.
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.ts";
import { OutgoingStream } from "../../src/media/OutgoingStream.ts";
import { audioPipeline, type RtpTarget } from "../../src/media/pipelines.ts";
import { onCleanup } from "../helpers/cleanup.ts";

/** The `port=` of the udpsink in a process's command line, as an attacker would read it. */
function udpsinkPort(pid: number): number {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  const sink = argv.indexOf("udpsink");
  const port = argv.slice(sink).find((token) => token.startsWith("port="));
  if (sink < 0 || !port) throw new Error(`no udpsink port in ${argv.join(" ")}`);
  return Number(port.slice("port=".length));
}

describe("the loopback RTP between GStreamer and Node", () => {
  it("regression: a foreign local sender's RTP (new SSRC) is not taken for an encoder restart", async () => {
    const lines: string[] = [];
    const logger = createLogger("test", {
      level: "info",
      destination: { write: (line: string) => lines.push(line) } as unknown as NodeJS.WritableStream,
    });
    const stream = await OutgoingStream.create({
      kind: "audio",
      logger,
      pipeline: ([target]) => audioPipeline({ kind: "test" }, target as RtpTarget),
    });
    onCleanup(() => stream.close());
    const pid = stream.process.pid;
    if (pid === undefined) throw new Error("no encoder process");
    const port = udpsinkPort(pid);

    const forged = Buffer.alloc(12 + 160, 0);
    forged[0] = 0x80;
    forged[1] = 111;
    forged.writeUInt32BE(0x0badf00d, 8);
    const seen: number[] = [];
    stream.subscribe({ write: (packet) => seen.push(packet.readUInt32BE(8)) });
    const attacker = createSocket("udp4");
    onCleanup(() => attacker.close());
    for (let i = 0; i < 20; i++) {
      forged.writeUInt16BE(i, 2);
      attacker.send(forged, port, "127.0.0.1");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The encoder's own packets keep coming: 20 ms each, so a few dozen meanwhile.
    expect(seen.length).toBeGreaterThan(5);
    expect(new Set(seen).size).toBe(1);
    expect(seen).not.toContain(0x0badf00d);
    expect(lines.join("")).not.toMatch(/encoder restarted/);
  });
});
