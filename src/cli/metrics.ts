/**
 * `--metrics-port` and `--metrics-host`, shared by `serve` and `device`: the Prometheus metrics on a
 * plain listener of their own for scrapers (off by default; on `serve` they are also at /metrics on the
 * admin credential). docs/SECURITY.md "Metrics".
 */
import type { Command } from "commander";
import type { Logger } from "../common/logger.ts";
import { Metrics, type MetricsSources } from "../metrics/Metrics.ts";
import { MetricsServer } from "../metrics/MetricsServer.ts";
import { integerOption } from "./lifecycle.ts";

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
  let server: MetricsServer | undefined;
  if (flags.metricsPort !== undefined) {
    try {
      server = await MetricsServer.listen({
        host: flags.metricsHost,
        port: flags.metricsPort,
        metrics,
        logger: log,
      });
    } catch (error) {
      metrics.close();
      throw error;
    }
  }
  return {
    metrics,
    close: async () => {
      await server?.close();
      metrics.close();
    },
  };
}
