/** The versions `GET /api/status` reports: device-rtc's, Node's, werift's and GStreamer's. */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";

function packageVersion(file: string): string {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** GStreamer's version as `gst-launch-1.0 --version` prints it ("GStreamer 1.22.0"). */
function gstreamerVersion(): Promise<string> {
  return new Promise((resolve) => {
    execFile("gst-launch-1.0", ["--version"], { timeout: 5000 }, (error, stdout) => {
      resolve(error ? "unavailable" : (/GStreamer (\S+)/.exec(stdout)?.[1] ?? "unknown"));
    });
  });
}

let cached: Promise<Record<string, string>> | undefined;

/** Worked out once per process. */
export function versions(): Promise<Record<string, string>> {
  cached ??= gstreamerVersion().then((gstreamer) => {
    return {
      "device-rtc": packageVersion(new URL("../../package.json", import.meta.url).pathname),
      node: process.versions.node,
      werift: packageVersion(new URL("../../node_modules/werift/package.json", import.meta.url).pathname),
      gstreamer,
    };
  });
  return cached;
}
