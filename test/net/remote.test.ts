/**
 * A viewer outside the LAN: behind its own NAT, on "the internet" of the bed, where it can reach the
 * device only through Debian's coturn (TURN REST credentials). It plays — on the gstwebrtc-api test
 * page given credentials by hand, and on the product page, `device-rtc serve`'s own, which gets them
 * from /config.json, minted from the secret coturn shares with the device.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spkiFingerprint } from "../../src/pki/certificates.ts";
import { SignallingServer } from "../../src/signalling/SignallingServer.ts";
import { consoleOf, waitInPage } from "../helpers/browser.ts";
import { onCleanup } from "../helpers/cleanup.ts";
import { consumeProducer, launchBrowserOn, playing } from "../helpers/device.ts";
import { internet, LAN_ROUTER_PUBLIC, TURN_ADDRESS } from "../helpers/internet.ts";
import { bedAvailable, NetBed } from "../helpers/netbed.ts";
import { startServe } from "../helpers/serve.ts";
import { GSTWEBRTC_API_BUNDLE, serveStatic } from "../helpers/static-server.ts";

/** The product page's picture: size and decoded frames of #remote. */
const REMOTE_VIDEO = `(() => { const v = document.getElementById("remote"); return { width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames }; })()`;

/** The candidate pair the product page's viewing session uses, and the ICE servers it was given. */
const PAGE_ICE = `(async () => {
  const pc = window.deviceRtc.state.watching?.session.rtcPeerConnection;
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) return null;
  const type = (id) => stats.get(id)?.candidateType;
  return {
    local: type(pair.localCandidateId),
    remote: type(pair.remoteCandidateId),
    iceServers: pc.getConfiguration().iceServers,
  };
})()`;

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

  it("the product page behind NAT plays the device through coturn, with credentials from /config.json", async () => {
    const bed = await NetBed.create();
    const port = 23000 + Math.floor(Math.random() * 10000);
    // The device's host gets a fixed address, so the LAN router can forward the page's port to it.
    const deviceOctet = 10;
    const net = await internet(bed, { forwardTcp: [port], forwardTo: `${bed.subnet}.${deviceOctet}` });
    const deviceHost = await bed.host("device", { gateway: net.lanRouterAddress, octet: deviceOctet });
    const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-data-"));
    const served = await startServe(
      dataDir,
      port,
      [
        // A name that is no TURN username as it is: the device's label is made safe.
        "--name",
        "Porch: front door",
        "--video",
        "test",
        "--audio",
        "test",
        // Only the TURN server, no credentials in the URL: they are minted from coturn's secret.
        "--ice-server",
        net.turnUrl,
        "--turn-secret-file",
        net.secretFile,
      ],
      { bed, host: deviceHost },
    );

    // The remote viewer opens the pairing link on the LAN router's public address (port forwarding).
    const code = /\/pair#code=([A-Za-z0-9_%-]+)/.exec(served.child.output())?.[1];
    if (!code) throw new Error(`no pairing link in:\n${served.child.output()}`);
    const origin = `https://${LAN_ROUTER_PUBLIC}:${port}`;
    const ca = readFileSync(join(dataDir, "pki", "ca.crt"), "utf8");
    const browser = await launchBrowserOn(net.remote, [], {
      args: [`--ignore-certificate-errors-spki-list=${spkiFingerprint(ca)}`],
    });
    const page = await browser.newPage();
    const log = consoleOf(page);
    await page.goto(`${origin}/pair#code=${code}`);
    await page.waitForURL(`${origin}/`, { timeout: 15_000 });

    // The picture plays (frames keep being decoded).
    const first = await waitInPage<{ frames: number }>(
      page,
      `(${REMOTE_VIDEO}).width > 0 ? ${REMOTE_VIDEO} : null`,
      "video in #remote",
      45_000,
      log,
    );
    await waitInPage(page, `(${REMOTE_VIDEO}).frames > ${first.frames + 10}`, "#remote playing", 15_000, log);

    // Through the relay, with the TURN server and this browser's own minted credentials from /config.json.
    const ice = await waitInPage<{
      local: string;
      remote: string;
      iceServers: { urls: string | string[]; username?: string; credential?: string }[];
    }>(page, PAGE_ICE, "the selected candidate pair", 10_000, log);
    expect([ice.local, ice.remote]).toContain("relay");
    expect(ice.iceServers).toHaveLength(1);
    expect([ice.iceServers[0]?.urls].flat()).toEqual([net.turnUrl]);
    expect(ice.iceServers[0]?.username).toMatch(/^\d+:web-[0-9a-f]{8}$/);
    expect(ice.iceServers[0]?.credential).not.toContain(net.secret);

    // coturn accepted both: the browser's credentials and the device's (labelled by its name, made safe).
    const turnLog = net.coturn.output();
    expect(turnLog).toMatch(/user <\d+:web-[0-9a-f]{8}>: incoming packet ALLOCATE processed, success/);
    expect(turnLog).toMatch(/user <\d+:Porch-front-door>: incoming packet ALLOCATE processed, success/);
    expect(served.child.output()).not.toContain(net.secret);
  });
});
