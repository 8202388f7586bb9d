/**
 * A viewer outside the LAN: behind its own NAT, on "the internet" of the bed, where it can reach the
 * device only through Debian's coturn (TURN REST credentials). It plays.
 */
import { describe, expect, it } from "vitest";
import { SignallingServer } from "../../src/signalling/SignallingServer.ts";
import { consoleOf } from "../helpers/browser.ts";
import { onCleanup } from "../helpers/cleanup.ts";
import { consumeProducer, launchBrowserOn, playing } from "../helpers/device.ts";
import { internet, LAN_ROUTER_PUBLIC, TURN_ADDRESS } from "../helpers/internet.ts";
import { bedAvailable, NetBed } from "../helpers/netbed.ts";
import { GSTWEBRTC_API_BUNDLE, serveStatic } from "../helpers/static-server.ts";

const PAGE = new URL("../pages/gstwebrtc-client.html", import.meta.url).pathname;

describe.runIf(bedAvailable())("remote viewer through TURN", () => {
  it("coturn listens only on the bed's public address", async () => {
    const bed = await NetBed.create();
    const net = await internet(bed);
    // Every listening socket in the internet's namespace (coturn's, and nothing else runs there).
    const sockets = net.wan.exec("ss", ["-H", "-l", "-n", "-u", "-t"]);
    const locals = sockets
      .trim()
      .split("\n")
      .map(
        (line) =>
          line
            .trim()
            .split(/\s+/)
            .find((field) => /:\d+$/.test(field)) ?? line,
      );
    expect(locals.length).toBeGreaterThan(0);
    for (const local of locals) expect(local).toMatch(new RegExp(`^${TURN_ADDRESS.replaceAll(".", "\\.")}:`));
  });

  it("a browser behind NAT plays the device through coturn", async () => {
    const bed = await NetBed.create();
    const server = await SignallingServer.create({ host: bed.lanAddress, port: 0 });
    onCleanup(() => server.close());
    const signallingPort = server.address?.port ?? 0;
    const origin = await serveStatic(
      { "/": { file: PAGE }, "/gstwebrtc-api.js": { file: GSTWEBRTC_API_BUNDLE } },
      bed.lanAddress,
    );
    const httpPort = Number(new URL(origin).port);
    const net = await internet(bed, { forwardTcp: [signallingPort, httpPort] });

    const deviceHost = await bed.host("device", { gateway: net.lanRouterAddress });
    const device = deviceHost.cli([
      "device",
      "--server",
      `ws://${bed.lanAddress}:${signallingPort}`,
      "--name",
      "dev",
      "--video",
      "test",
      "--audio",
      "test",
      "--ice-server",
      `stun:${TURN_ADDRESS}:3478`,
      "--ice-server",
      net.deviceIceServer(),
    ]);
    await device.waitFor(/registered as producer/, 30_000);

    // The remote viewer knows only the LAN router's public address (port forwarding).
    const publicOrigin = `http://${LAN_ROUTER_PUBLIC}:${httpPort}`;
    const browser = await launchBrowserOn(net.remote, [publicOrigin]);
    const page = await browser.newPage();
    const log = consoleOf(page);
    const ice = [{ urls: net.turnUrl, ...net.credentials("viewer") }];
    const query = new URLSearchParams({
      signalling: `ws://${LAN_ROUTER_PUBLIC}:${signallingPort}`,
      ice: JSON.stringify(ice),
    });
    await page.goto(`${publicOrigin}/?${query}`);
    await page.evaluate(`t.connect("remote")`);
    const first = await consumeProducer(page, "dev", log);
    // Video and audio play on (frames decoded, audio energy growing).
    await playing(page, first, log);
    const pair = (await page.evaluate("t.selectedPair()")) as {
      local: { type: string };
      remote: { type: string; address: string };
    };
    // Through the relay: our end is a relay candidate, or the device's is.
    expect([pair.local.type, pair.remote.type]).toContain("relay");
    expect(net.coturn.output()).toMatch(/ALLOCATE/i);
  });
});
