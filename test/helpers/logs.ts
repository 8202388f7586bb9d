/** Loggers whose lines tests can read. */
import { PassThrough } from "node:stream";
import { createLogger } from "../../src/common/logger.ts";

/** A logger whose JSON lines are kept for inspection. */
export function capturedLogger() {
  const stream = new PassThrough();
  const lines: Array<{ level: string; msg: string; [key: string]: unknown }> = [];
  let partial = "";
  stream.on("data", (chunk: Buffer) => {
    partial += chunk.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts) if (part) lines.push(JSON.parse(part));
  });
  return { logger: createLogger("test", { level: "debug", destination: stream }), lines };
}

/** The JSON log lines among what a process printed (its other lines, e.g. a banner, are skipped). */
export function jsonLogLines(output: string): Array<{ level: string; msg: string; [key: string]: unknown }> {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}
