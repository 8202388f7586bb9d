/** The reconnect policy: its delays, its jitter, and a SignallingClient that obeys a policy. */
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.ts";
import { DefaultReconnectPolicy, type ReconnectContext } from "../../src/device/ReconnectPolicy.ts";
import { SignallingClient } from "../../src/device/SignallingClient.ts";

describe("DefaultReconnectPolicy", () => {
  it("retries at once, then spreads out to every 7 s, forever", () => {
    const policy = new DefaultReconnectPolicy({ random: () => 0 });
    const delays = [0, 1, 2, 3, 4, 5, 6, 50, 10_000].map((retryCount) =>
      policy.nextRetryDelayInMs({ retryCount, elapsedMs: 0 }),
    );
    expect(delays).toEqual([0, 300, 1200, 2700, 4800, 7000, 7000, 7000, 7000]);
  });

  it("adds up to the maximum jitter to every retry but the first", () => {
    const policy = new DefaultReconnectPolicy({ random: () => 0.999 });
    expect(policy.nextRetryDelayInMs({ retryCount: 0, elapsedMs: 0 })).toBe(0);
    expect(policy.nextRetryDelayInMs({ retryCount: 1, elapsedMs: 0 })).toBe(300 + 999);
    expect(policy.nextRetryDelayInMs({ retryCount: 9, elapsedMs: 0 })).toBe(7000 + 999);
  });
});

/** A loopback port on which nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("SignallingClient with a policy", () => {
  it("asks the policy after each failure, with growing retry counts, and stops when it says null", async () => {
    const asked: ReconnectContext[] = [];
    let gaveUp: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      gaveUp = resolve;
    });
    const client = new SignallingClient({
      url: `ws://127.0.0.1:${await closedPort()}`,
      logger: createLogger("test", { level: "silent" }),
      reconnectPolicy: {
        nextRetryDelayInMs(context) {
          asked.push(context);
          if (context.retryCount >= 2) {
            gaveUp();
            return null;
          }
          return 10;
        },
      },
    });
    const disconnects: string[] = [];
    client.on("disconnected", (reason) => disconnects.push(reason));
    client.connect();
    await done;
    await client.close();
    expect(asked.map((context) => context.retryCount)).toEqual([0, 1, 2]);
    expect(asked.every((context) => context.elapsedMs >= 0)).toBe(true);
    expect(disconnects).toHaveLength(3);
    expect(disconnects[0]).toMatch(/ECONNREFUSED/);
  });
});
