import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { ephemeralPortRange, LOOPBACK, reserveLoopbackPort } from "../../src/media/loopback.ts";

describe("reserveLoopbackPort", () => {
  it("regression: a port for a pipeline came from the ephemeral range, where any socket bound to port 0 could take it before gst-launch-1.0 did (CI: udpsrc 'Could not get/set settings')", async () => {
    const [low, high] = ephemeralPortRange();
    const ports = [];
    for (let i = 0; i < 300; i++) ports.push(await reserveLoopbackPort());
    for (const port of ports) expect(port < low || port > high, `port ${port} in ${low}-${high}`).toBe(true);
    // Not handed out twice while a pipeline may still be starting on it.
    expect(new Set(ports).size).toBe(ports.length);
  });

  it("never hands out a port something is bound to", async () => {
    const port = await reserveLoopbackPort();
    // Hold it as a pipeline would; the next 300 reservations go elsewhere.
    const socket = createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((resolve) => socket.bind(port, LOOPBACK, () => resolve()));
    try {
      for (let i = 0; i < 300; i++) expect(await reserveLoopbackPort()).not.toBe(port);
    } finally {
      socket.close();
    }
  });
});
