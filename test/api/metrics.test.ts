/**
 * Prometheus metrics of a real `serve`, scraped as Prometheus would (the `--metrics-port` listener) and
 * on the admin credential, parsed, and watched as a viewer and a sender come and go.
 */
import { describe, expect, it } from "vitest";
import { type ApiServe, localHttp, openApp, pollUntil, startApiServe } from "../helpers/api.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format 0.0.4: every sample line, checked against its # TYPE. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ")) continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key as string] = value as string;
    const value = Number(match[3]);
    if (Number.isNaN(value) && match[3] !== "NaN") throw new Error(`not a number: ${line}`);
    samples.push({ name: match[1] as string, labels, value });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find(
    (sample) => sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v),
  )?.value;
}

async function scrape(
  api: ApiServe,
  port: number,
): Promise<{ samples: Sample[]; types: Map<string, string>; contentType: string }> {
  const response = await localHttp(api, port, "/metrics");
  expect(response.status).toBe(200);
  return { ...parse(response.body), contentType: response.contentType };
}

async function mainMetrics(served: ApiServe, as: "admin" | "view" | "none"): Promise<number> {
  return (await served.call("/metrics", { as })).status;
}

describe("/metrics", () => {
  it("scraped and parsed; viewers, senders, bytes, keyframes and recordings move as a browser comes and goes", async () => {
    const metricsPort = 20000 + Math.floor(Math.random() * 3000);
    const served = await startApiServe([
      "--metrics-port",
      String(metricsPort),
      "--incoming-video",
      "record",
      "--incoming-audio",
      "discard",
    ]);
    expect(served.child.output()).toContain(`metrics on http://127.0.0.1:${metricsPort}/metrics`);
    // Bound to the device's loopback only: not reachable from the LAN.
    const lan = served.served.host?.address;
    if (lan) await expect(fetch(`http://${lan}:${metricsPort}/metrics`)).rejects.toThrow();

    // The encoders' rates cover whole seconds: the first scrape that has a few of them, for every layer.
    const before = await pollUntil(async () => {
      const scraped = await scrape(served, metricsPort);
      const layer = (size: string) =>
        value(scraped.samples, "device_rtc_layer_bitrate_bits_per_second", {
          stream: "video",
          layer: size,
        }) ?? 0;
      return layer("640x480") > 400_000 && layer("320x240") > 50_000 ? scraped : undefined;
    }, "the video's bitrate on every layer");
    expect(before.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const at = (name: string, labels: Record<string, string> = {}) => value(before.samples, name, labels);
    expect(at("device_rtc_viewers")).toBe(0);
    expect(at("device_rtc_senders")).toBe(0);
    expect(at("device_rtc_source_up", { kind: "video", source: "test" })).toBe(1);
    expect(at("device_rtc_frames_encoded_total", { stream: "video", codec: "vp8" })).toBeGreaterThan(10);
    expect(at("device_rtc_keyframes_sent_total", { stream: "video" })).toBeGreaterThanOrEqual(1);
    expect(at("device_rtc_stream_bitrate_bits_per_second", { stream: "video" })).toBeGreaterThan(100_000);
    // The ladder: every encoding sends, each at about its own rate.
    expect(
      at("device_rtc_layer_bitrate_bits_per_second", { stream: "video", layer: "640x480" }),
    ).toBeGreaterThan(400_000);
    const half = at("device_rtc_layer_bitrate_bits_per_second", { stream: "video", layer: "320x240" });
    expect(half).toBeGreaterThan(50_000);
    expect(half).toBeLessThan(400_000);
    expect(at("device_rtc_recording_bytes")).toBe(0);
    expect(at("device_rtc_ice_failures_total", { peer: "viewer" })).toBe(0);
    expect(at("nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(at("device_rtc_info", { name: "Porch" })).toBe(1);
    for (const [name, type] of [
      ["device_rtc_frames_encoded_total", "counter"],
      ["device_rtc_nacks_received_total", "counter"],
      ["device_rtc_retransmissions_total", "counter"],
      ["device_rtc_process_restarts_total", "counter"],
      ["device_rtc_viewers", "gauge"],
      ["nodejs_eventloop_lag_seconds", "gauge"],
    ] as const)
      expect(before.types.get(name), name).toBe(type);

    // On the main port: the admin credential only.
    expect(await mainMetrics(served, "admin")).toBe(200);
    expect(await mainMetrics(served, "view")).toBe(403);
    expect(await mainMetrics(served, "none")).toBe(401);
    // The scrape port serves the metrics only.
    expect((await localHttp(served, metricsPort, "/")).status).toBe(404);
    expect((await localHttp(served, metricsPort, "/metrics", "POST")).status).toBe(405);

    // A viewer arrives: counted, bytes flow to it, it asked for a keyframe.
    const { page } = await openApp(served);
    const watching = await pollUntil(async () => {
      const { samples } = await scrape(served, metricsPort);
      return value(samples, "device_rtc_viewers") === 1 &&
        (value(samples, "device_rtc_viewer_bytes_sent_total") ?? 0) > 100_000
        ? samples
        : undefined;
    }, "a viewer counted, with bytes sent to it");
    expect(value(watching, "device_rtc_keyframe_requests_total", { stream: "video" })).toBeGreaterThanOrEqual(
      1,
    );
    expect(value(watching, "device_rtc_frames_encoded_total", { stream: "video" })).toBeGreaterThan(
      at("device_rtc_frames_encoded_total", { stream: "video" }) as number,
    );

    // It sends its camera: a sender, and a recording growing on disk.
    await page.getByRole("button", { name: /Talk/ }).click();
    await page.getByRole("button", { name: /Camera/ }).click();
    const sending = await pollUntil(async () => {
      const { samples } = await scrape(served, metricsPort);
      return value(samples, "device_rtc_senders") === 1 &&
        value(samples, "device_rtc_recordings", { state: "active" }) === 1 &&
        (value(samples, "device_rtc_recording_bytes") ?? 0) > 10_000 &&
        (value(samples, "device_rtc_sender_bytes_received_total") ?? 0) > 10_000
        ? samples
        : undefined;
    }, "a sender and its recording");
    const viewerBytes = value(sending, "device_rtc_viewer_bytes_sent_total") as number;

    // The browser leaves: sessions end, totals stay (counters never go down).
    await page.close();
    const after = await pollUntil(async () => {
      const { samples } = await scrape(served, metricsPort);
      return value(samples, "device_rtc_viewers") === 0 && value(samples, "device_rtc_senders") === 0
        ? samples
        : undefined;
    }, "the viewer and the sender gone");
    expect(value(after, "device_rtc_viewer_bytes_sent_total")).toBeGreaterThanOrEqual(viewerBytes);
    expect(value(after, "device_rtc_sessions_ended_total", { peer: "viewer" })).toBeGreaterThanOrEqual(1);
    expect(value(after, "device_rtc_sessions_ended_total", { peer: "sender" })).toBeGreaterThanOrEqual(1);
    expect(value(after, "device_rtc_recordings", { state: "finished" })).toBe(1);
    expect(value(after, "device_rtc_recordings", { state: "active" })).toBe(0);
  });
});
