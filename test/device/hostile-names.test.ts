/**
 * Attack first: a sender's name is the one string a peer controls that reaches the device's pipelines
 * (the echo's overlay) and its files (the recording's name). Hostile names go through real
 * gst-launch-1.0 (each stays one value: no element is added, no file written) and through a real
 * device that records and echoes a browser registered under them: nothing is written outside the
 * record dir, every log line stays one JSON line, and the device keeps serving.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { normalizeName } from "../../src/common/names.ts";
import { gstString } from "../../src/media/launchSyntax.ts";
import { reserveLoopbackPort } from "../../src/media/loopback.ts";
import { echoPipeline } from "../../src/media/pipelines.ts";
import { waitInPage } from "../helpers/browser.ts";
import { stage, startTestDevice } from "../helpers/device.ts";
import { HOSTILE_NAMES } from "../helpers/hostile.ts";

const SETTINGS = {
  codec: "vp8",
  width: 320,
  height: 240,
  framerate: 30,
  bitrateKbps: 300,
  keyframeIntervalSeconds: 3,
} as const;
const PWNED = "/tmp/device-rtc-pwned";

/**
 * Builds the pipeline `argv` runs with gst-launch-1.0 and returns the element types it was made of
 * (from the graph GStreamer dumps when the pipeline goes to READY), then stops it.
 */
async function elementsOf(argv: string[]): Promise<string[]> {
  const dots = mkdtempSync(join(tmpdir(), "device-rtc-dot-"));
  const child = spawn("gst-launch-1.0", argv, {
    stdio: "ignore",
    env: { ...process.env, GST_DEBUG_DUMP_DOT_DIR: dots },
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  // The graph is written when the pipeline goes to READY; read it once it is complete.
  let text = "";
  for (let i = 0; i < 200 && !text.trimEnd().endsWith("}"); i++) {
    const graph = readdirSync(dots).find((name) => name.endsWith("NULL_READY.dot"));
    text = graph ? readFileSync(join(dots, graph), "utf8") : "";
    if (!text.trimEnd().endsWith("}")) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGKILL");
  await exited;
  if (!text) throw new Error(`gst-launch-1.0 did not build the pipeline: ${argv.join(" ")}`);
  return [...text.matchAll(/label="(Gst[A-Za-z0-9]+)\\n/g)].map((m) => m[1] as string).sort();
}

async function echoArgv(label: string): Promise<string[]> {
  const [port, rtpPort, sourcePort, rtcpPort] = await Promise.all(
    [1, 2, 3, 4].map(() => reserveLoopbackPort()),
  );
  return echoPipeline({ port: port as number, codec: "vp8", label }, SETTINGS, {
    rtpPort: rtpPort as number,
    sourcePort: sourcePort as number,
    rtcpPort,
    ssrc: 1,
  });
}

describe("hostile names through gst-launch-1.0", () => {
  it("as the echo's label, every name builds exactly the elements a plain name does", async () => {
    const plain = await elementsOf(await echoArgv("phone"));
    expect(plain).toContain("GstTextOverlay");
    for (const [what, name] of HOSTILE_NAMES) {
      // What the device does (normalised where the name enters), and the raw name where gst-launch can take it.
      const labels = [
        normalizeName(name, "x"),
        ...(name.includes("\0") || name.length > 10_000 ? [] : [name]),
      ];
      for (const label of labels) expect(await elementsOf(await echoArgv(label)), what).toEqual(plain);
    }
    expect(existsSync(PWNED)).toBe(false);
  });

  it("as a file path (local values such as --record-dir or file:PATH), each is exactly that file", async () => {
    for (const [what, name] of HOSTILE_NAMES) {
      if (name.includes("\0") || name.includes("/") || name.length > 200 || name === "..") continue;
      const dir = mkdtempSync(join(tmpdir(), "device-rtc-path-"));
      const child = spawn(
        "gst-launch-1.0",
        ["-q", "fakesrc", "num-buffers=1", "!", "filesink", `location=${gstString(join(dir, name))}`],
        { stdio: "ignore" },
      );
      expect(await new Promise((resolve) => child.once("exit", resolve)), what).toBe(0);
      expect(readdirSync(dir), what).toEqual([name.replace(/\ud800/g, "\ufffd")]);
    }
  });
});

describe("a sender with a hostile name", () => {
  it("regression: a name with a quote cannot add elements to the echo's pipeline (it wrote a file)", async () => {
    const outside = mkdtempSync(join(tmpdir(), "device-rtc-outside-"));
    const records = mkdtempSync(join(tmpdir(), "device-rtc-rec-"));
    const hostile = `a" ! fakesink dataurisrc uri=data:,pwned ! filesink location=${outside}/pwned videotestsrc ! textoverlay name="z`;
    const s = await stage();
    const device = await startTestDevice(s.signalling, [
      "--incoming-video",
      "record,echo",
      "--record-dir",
      records,
    ]);
    const { page, log } = await s.openPage(hostile);
    const consumerId = await waitInPage<string>(page, `t.findConsumer("dev")`, "the device", 15_000, log);
    await page.evaluate(`t.produce(${JSON.stringify(consumerId)})`);
    await device.waitFor(/echo started/, 30_000);
    expect(existsSync(join(outside, "pwned"))).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
    const files = readdirSync(records);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[\p{L}\p{N}._-]+\.webm$/u);
  });

  it("control characters, bidi overrides and a forged log line stay inside one JSON log line", async () => {
    const records = mkdtempSync(join(tmpdir(), "device-rtc-rec-"));
    const hostile = `\u202Eevil\n{"level":"error","msg":"forged"}\r\n${"x".repeat(3000)}`;
    const s = await stage();
    const device = await startTestDevice(s.signalling, [
      "--incoming-video",
      "record,echo",
      "--record-dir",
      records,
    ]);
    const { page, log } = await s.openPage(hostile);
    const consumerId = await waitInPage<string>(page, `t.findConsumer("dev")`, "the device", 15_000, log);
    await page.evaluate(`t.produce(${JSON.stringify(consumerId)})`);
    await device.waitFor(/echo started/, 30_000);
    // The echo's producer carries the normalised name: no control or format character, capped.
    const echo = await waitInPage<{ meta: { name: string } }>(
      page,
      "t.producers.find((p) => p.meta.echoOf) ?? null",
      "the echo producer",
      20_000,
      log,
    );
    expect(echo.meta.name).toMatch(/^dev echo evil \{"level":"error","msg":"forged"\} x+$/);
    expect(echo.meta.name.length).toBeLessThan(80);
    const lines = device
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"));
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(device.output()).not.toMatch(/^\{"level":"error","msg":"forged"\}/m);
    expect(readdirSync(records)).toHaveLength(1);
  });
});
