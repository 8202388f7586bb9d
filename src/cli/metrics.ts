/**
 * `--metrics-port` and `--metrics-host`, shared by `serve` and `device`: the Prometheus metrics on a
 * plain listener of their own for scrapers (off by default; on `serve` they are also at /metrics on the
 * admin credential). docs/SECURITY.md "Metrics".
 */
import type { Command } from "commander";
import type { Logger } from "../common/logger.ts";
import { Metrics, type MetricsSources } from "../metrics/Metrics.ts";
import { MetricsServer } from "../metrics/MetricsServer.ts";
import { integerOption, openOrUndo } from "./lifecycle.ts";

export interface MetricsFlags {
  metricsPort?: number;
  metricsHost: string;
}

export function addMetricsOptions(command: Command): Command {
  return command
    .option(
      "--metrics-port <PORT>",
      "serve Prometheus metrics at http://HOST:PORT/metrics without a credential (off by default)",
      integerOption(0, 65535),
    )
    .option(
      "--metrics-host <ADDR>",
      "the address of --metrics-port (the metrics need no credential there: keep it private)",
      "127.0.0.1",
    );
}

/** The metrics, and their listener when `--metrics-port` is given; `close` stops both. */
export async function startMetrics(
  flags: MetricsFlags,
  sources: MetricsSources,
  log: Logger,
): Promise<{ metrics: Metrics; close: () => Promise<void> }> {
  const metrics = new Metrics(sources);
  const { metricsPort } = flags;
  const server =
    metricsPort === undefined
      ? undefined
      : await openOrUndo(
          () => MetricsServer.create({ host: flags.metricsHost, port: metricsPort, metrics, logger: log }),
          async () => metrics.close(),
        );
  return {
    metrics,
    close: async () => {
      await server?.close();
      metrics.close();
    },
  };
}
