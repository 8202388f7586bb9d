/**
 * "The internet" for the network test bed: a public network (198.18.0.0/24, the benchmarking range,
 * inside a namespace of its own) with Debian's coturn on it, the LAN's router in front of the bed
 * (NAT; its firewall lets the LAN reach only the TURN server, and forwards chosen TCP ports — the
 * signalling server and the web page — to the LAN's switch), and a remote viewer behind a home
 * router (NAT). A remote viewer can reach the device only through TURN.
 *
 *   remote viewer 192.168.77.2 ── home router (NAT) 198.18.0.3 ─┐
 *                                                                ├─ 198.18.0.0/24: coturn 198.18.0.1
 *   device 10.x.y.2 ── LAN switch ── LAN router (NAT) 198.18.0.2 ┘
 */
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup } from "./cleanup.ts";
import { attach, BedHost, ip, type NetBed } from "./netbed.ts";
import type { Child } from "./processes.ts";

export const TURN_ADDRESS = "198.18.0.1";
export const LAN_ROUTER_PUBLIC = "198.18.0.2";
export const HOME_ROUTER_PUBLIC = "198.18.0.3";
const HOME_SUBNET = "192.168.77";
const TURN_PORT = 3478;
const REALM = "bed.test";

export interface TurnCredentials {
  username: string;
  credential: string;
}

export interface Internet {
  /** The namespace of the public network (coturn runs here). */
  wan: BedHost;
  lanRouter: BedHost;
  /** The LAN router's address on the LAN: the device's default gateway. */
  lanRouterAddress: string;
  homeRouter: BedHost;
  /** A host behind the home router. */
  remote: BedHost;
  coturn: Child;
  turnUrl: string;
  /** coturn's `static-auth-secret`, and a file holding it (for `--turn-secret-file`). */
  secret: string;
  secretFile: string;
  /** Short-lived credentials by coturn's `use-auth-secret` REST scheme (user "expiry:name"). */
  credentials(name: string, ttlSeconds?: number): TurnCredentials;
  /** `--ice-server` for the device, credentials URL-encoded. */
  deviceIceServer(name?: string): string;
}

function bridgeIn(host: BedHost, name: string, address: string): void {
  host.exec("ip", ["link", "add", name, "type", "bridge"]);
  host.exec("ip", ["addr", "add", `${address}/24`, "dev", name]);
  host.exec("ip", ["link", "set", name, "up"]);
}

function nft(host: BedHost, ruleset: string): void {
  host.exec("nft", ["-f", "-"], ruleset);
}

/**
 * Builds the internet around `bed`: call before starting hosts that should sit behind the LAN
 * router (give them `gateway: lanRouterAddress`). `forwardTcp` ports on the LAN router's public
 * address lead to the same port on `forwardTo` (default: the bed's switch).
 */
export async function internet(
  bed: NetBed,
  options: { forwardTcp?: number[]; forwardTo?: string } = {},
): Promise<Internet> {
  const wan = await BedHost.create("internet");
  bridgeIn(wan, "wan", TURN_ADDRESS);
  // Like the real internet, datagrams to addresses nobody routes vanish without an error (coturn
  // closes a whole allocation when a send to a peer fails with "network unreachable").
  // (A veth pair with both ends here: nothing answers its ARP, so what is sent there is dropped.)
  wan.exec("ip", ["link", "add", "void0", "type", "veth", "peer", "name", "void1"]);
  wan.exec("ip", ["link", "set", "void0", "up"]);
  wan.exec("ip", ["link", "set", "void1", "up"]);
  wan.exec("ip", ["route", "add", "default", "dev", "void0"]);

  // The LAN's router: NAT towards the internet, only the TURN server allowed out.
  const lanRouter = await BedHost.create("lan-router");
  const lanRouterAddress = `${bed.subnet}.254`;
  await attach(lanRouter, { name: bed.bridge, pid: 0 }, lanRouterAddress, { ifname: "lan0" });
  await attach(lanRouter, { name: "wan", pid: wan.pid }, LAN_ROUTER_PUBLIC, { ifname: "wan0" });
  lanRouter.exec("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  const forwards = options.forwardTcp ?? [];
  nft(
    lanRouter,
    `table ip bed {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    ${forwards.length ? `iifname "wan0" tcp dport { ${forwards.join(", ")} } dnat to ${options.forwardTo ?? bed.lanAddress}` : ""}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "wan0" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related counter accept
    iifname "lan0" oifname "wan0" ip daddr ${TURN_ADDRESS} counter accept
    iifname "wan0" oifname "lan0" ct status dnat counter accept
    counter
  }
}
`,
  );
  // Replies from the switch to forwarded connections go back through the router.
  ip("route", "replace", "198.18.0.0/24", "via", lanRouterAddress);
  onCleanup(() => {
    try {
      ip("route", "del", "198.18.0.0/24");
    } catch {}
  });

  // A home network somewhere else: its router masquerades everything going out.
  const homeRouter = await BedHost.create("home-router");
  bridgeIn(homeRouter, "home", `${HOME_SUBNET}.1`);
  await attach(homeRouter, { name: "wan", pid: wan.pid }, HOME_ROUTER_PUBLIC, { ifname: "wan0" });
  homeRouter.exec("sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  nft(
    homeRouter,
    `table ip home {
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "wan0" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "home" accept
  }
}
`,
  );
  const remote = await BedHost.create("remote-viewer");
  await attach(remote, { name: "home", pid: homeRouter.pid }, `${HOME_SUBNET}.2`, {
    gateway: `${HOME_SUBNET}.1`,
  });

  // coturn, from the command line only (-n: Debian's /etc/turnserver.conf is not read), listening
  // on the public address only, TURN REST credentials, no TLS/DTLS listeners, no CLI.
  const secret = randomBytes(16).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "device-rtc-coturn-"));
  const secretFile = join(dir, "static-auth-secret");
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const coturn = wan.run("turnserver", [
    "-n",
    "--listening-ip",
    TURN_ADDRESS,
    "--relay-ip",
    TURN_ADDRESS,
    "--listening-port",
    String(TURN_PORT),
    "--min-port",
    "49152",
    "--max-port",
    "49407",
    "--use-auth-secret",
    "--static-auth-secret",
    secret,
    "--realm",
    REALM,
    "--fingerprint",
    "--no-tls",
    "--no-dtls",
    "--no-cli",
    "--no-rfc5780",
    "--no-multicast-peers",
    // As production configurations do: no relaying into private networks (RFC 1918), nor loopback.
    "--denied-peer-ip=10.0.0.0-10.255.255.255",
    "--denied-peer-ip=172.16.0.0-172.31.255.255",
    "--denied-peer-ip=192.168.0.0-192.168.255.255",
    "--no-software-attribute",
    "--userdb",
    join(dir, "turndb"),
    "--pidfile",
    join(dir, "turnserver.pid"),
    "--log-file",
    "stdout",
    "--simple-log",
    "--verbose",
  ]);
  await coturn.waitFor(/Total (UDP|General) servers|IPv4. UDP listener opened on/, 10_000);

  const credentials = (name: string, ttlSeconds = 600): TurnCredentials => {
    const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${name}`;
    return { username, credential: createHmac("sha1", secret).update(username).digest("base64") };
  };
  const turnUrl = `turn:${TURN_ADDRESS}:${TURN_PORT}`;
  return {
    wan,
    lanRouter,
    lanRouterAddress,
    homeRouter,
    remote,
    coturn,
    turnUrl,
    secret,
    secretFile,
    credentials,
    deviceIceServer(name = "device") {
      const { username, credential } = credentials(name);
      return `turn:${encodeURIComponent(username)}:${encodeURIComponent(credential)}@${TURN_ADDRESS}:${TURN_PORT}`;
    },
  };
}
