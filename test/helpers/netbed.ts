/**
 * The network test bed: a LAN made of network namespaces, so that ICE, mDNS and DTLS run as they do
 * between real machines. See docs/ARCHITECTURE.md "Tests" (the network test bed).
 *
 * - The test's own namespace (made by scripts/in-netns; only `lo` before the bed) is the LAN's switch:
 *   a bridge with address .1, where in-process servers the test starts (signalling, test pages) listen.
 * - Each host (the device, each browser or GStreamer peer) is its own network namespace with one
 *   interface, eth0, on the bridge: a veth pair, or a TAP pair through the link emulator when its
 *   link is impaired. Private addresses only; the default gateway is the switch, which forwards
 *   nothing (Chromium needs a default route to gather mDNS host candidates).
 * - `internet()` adds routers with NAT (nftables masquerade) and a "public" network (198.18.0.0/24,
 *   the benchmarking range) where coturn runs — see test/helpers/internet.ts.
 *
 * Namespaces are held by `sleep` processes started with `unshare -n` and entered by PID (`nsenter`),
 * so nothing is left in /run/netns; everything is removed after the test, and if the test process
 * dies, the PID namespace of scripts/in-netns ends every holder and the namespaces go with them.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup } from "./cleanup.ts";
import { type Dir, type Impairment, LinkEmulator } from "./linkemu.ts";
import { type Child, DEVICE_RTC_BIN, startChild } from "./processes.ts";

/** True when a bed can be built here: root, inside the loopback-only namespace of `npm test`. */
export function bedAvailable(): boolean {
  // DEVICE_RTC_NETNS=1 is set by scripts/in-netns once it made the suite's own namespace; the bed's
  // bridge lives there, never in the machine's namespace.
  if (process.getuid?.() !== 0 || process.env.DEVICE_RTC_NETNS !== "1") return false;
  if (process.env.DEVICE_RTC_NO_BED === "1") return false;
  try {
    execFileSync("ip", ["link", "show", "lo"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8" });
}

let hostCounter = 0;

/** A network namespace: a machine on the bed. */
export class BedHost {
  readonly name: string;
  /** PID of the process holding the namespace; `nsenter -t PID -n` runs a command in it. */
  readonly pid: number;
  /** Its address on the network it is attached to (set once attached). */
  address = "";
  /** The emulated link between it and its network, when it has one. */
  link: BedLink | undefined;
  readonly #holder: Child;

  constructor(name: string, holder: Child) {
    this.name = name;
    this.#holder = holder;
    this.pid = holder.process.pid ?? 0;
  }

  /** Creates an empty namespace (only `lo`, up). */
  static async create(name: string): Promise<BedHost> {
    const holder = startChild("unshare", ["-n", "--", "sleep", "infinity"]);
    const pid = holder.process.pid ?? 0;
    const own = readlinkSync("/proc/self/ns/net");
    for (let i = 0; ; i++) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/net`) !== own) break;
      } catch {}
      if (i > 200) throw new Error(`namespace for ${name} did not appear`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const host = new BedHost(name, holder);
    host.exec("ip", ["link", "set", "lo", "up"]);
    // IPv4 only: the bed's addresses are the ones the test chose (no link-local IPv6 noise).
    host.exec("sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
    return host;
  }

  /** The argv prefix that runs a command inside this namespace. */
  prefix(): string[] {
    return ["nsenter", "-t", String(this.pid), "-n", "--"];
  }

  /** Runs a command to completion inside the namespace; returns its stdout. */
  exec(command: string, args: string[], input?: string): string {
    return execFileSync("nsenter", ["-t", String(this.pid), "-n", "--", command, ...args], {
      encoding: "utf8",
      input,
    });
  }

  /** Starts a long-running command inside the namespace (stopped after the test). */
  run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Child {
    return startChild("nsenter", ["-t", String(this.pid), "-n", "--", command, ...args], env);
  }

  /** `device-rtc …` on this host. */
  cli(args: string[], env: NodeJS.ProcessEnv = {}): Child {
    return this.run(DEVICE_RTC_BIN, args, env);
  }

  /**
   * An executable that runs `program` inside this namespace with the arguments it is given: for
   * launchers that take an executable path (Playwright's executablePath, puppeteer's).
   */
  wrapper(program: string): string {
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-bed-"));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, `${this.name}-${program.split("/").at(-1)}`);
    writeFileSync(file, `#!/bin/sh\nexec nsenter -t ${this.pid} -n -- ${program} "$@"\n`, { mode: 0o755 });
    return file;
  }

  async stop(): Promise<void> {
    await this.#holder.stop(500);
  }
}

/** The emulated link of one host: impair it, switch it off, read what crossed. */
export class BedLink {
  readonly #emulator: LinkEmulator;
  readonly #name: string;
  constructor(emulator: LinkEmulator, name: string) {
    this.#emulator = emulator;
    this.#name = name;
  }
  /** "down" is towards the host (e.g. the device's video to a viewer), "up" away from it. */
  set(dir: Dir, impairment: Partial<Impairment>): Promise<void> {
    return this.#emulator.set(this.#name, dir, impairment);
  }
  outage(on: boolean): Promise<void> {
    return this.#emulator.set(this.#name, "both", { outage: on });
  }
  async counters() {
    const all = await this.#emulator.counters();
    return all[this.#name] as NonNullable<(typeof all)[string]>;
  }
  async reset() {
    const all = await this.#emulator.reset();
    return all[this.#name] as NonNullable<(typeof all)[string]>;
  }
  close(): Promise<void> {
    return this.#emulator.close();
  }
}

export interface HostOptions {
  /** The interface's name inside the host (default eth0; routers have more than one). */
  ifname?: string;
  /** The default gateway (default: the switch's address; it forwards nothing, so nothing leaves). */
  gateway?: string;
  /** Put the link emulator between the host and the LAN, starting with this impairment (both ways). */
  impair?: Partial<Impairment> | true;
  /** Seed of the emulator's random losses. */
  seed?: number;
}

/** Attaches `host` to a bridge in namespace `bridgePid` (0 = this process's) at `address/24`. */
export async function attach(
  host: BedHost,
  bridge: { name: string; pid: number },
  address: string,
  options: HostOptions = {},
): Promise<void> {
  const n = ++hostCounter;
  const inBridgeNs = (...args: string[]) =>
    bridge.pid === 0
      ? ip(...args)
      : execFileSync("nsenter", ["-t", String(bridge.pid), "-n", "--", "ip", ...args], { encoding: "utf8" });
  const outside = `bh${process.pid % 10000}x${n}`;
  const ifname = options.ifname ?? "eth0";
  if (options.impair) {
    const inside = `bt${process.pid % 10000}y${n}`;
    const emulator = await LinkEmulator.start({ [host.name]: [inside, outside] }, options.seed ?? n);
    ip("link", "set", inside, "netns", String(host.pid));
    host.exec("ip", ["link", "set", inside, "name", ifname]);
    if (bridge.pid !== 0) ip("link", "set", outside, "netns", String(bridge.pid));
    host.link = new BedLink(emulator, host.name);
    if (options.impair !== true) await host.link.set("both", options.impair);
  } else {
    ip("link", "add", outside, "type", "veth", "peer", "name", ifname, "netns", String(host.pid));
    if (bridge.pid !== 0) ip("link", "set", outside, "netns", String(bridge.pid));
  }
  inBridgeNs("link", "set", outside, "master", bridge.name, "up");
  host.exec("ip", ["addr", "add", `${address}/24`, "dev", ifname]);
  host.exec("ip", ["link", "set", ifname, "up"]);
  // A default route, as every LAN has: Chromium gathers host candidates (mDNS names) only on the
  // interface of the default route when the page has no camera/microphone permission. The gateway
  // is a namespace of the bed that does not forward, or a bed router; nothing leaves the bed.
  if (options.gateway) host.exec("ip", ["route", "add", "default", "via", options.gateway]);
  host.address = address;
}

/** A /24 in 10.0.0.0/8 that no interface of this namespace uses yet. */
function freeSubnet(): string {
  const used = ip("-4", "-o", "addr", "show");
  for (let i = 10; i < 250; i++) {
    const subnet = `10.${200 + (process.pid % 50)}.${i}`;
    if (!used.includes(` ${subnet}.`)) return subnet;
  }
  throw new Error("no free subnet for the bed");
}

let bedCounter = 0;

/** A LAN: a bridge in this namespace and hosts attached to it. Removed after the test. */
export class NetBed {
  /** This namespace's address on the LAN (servers the test runs in-process listen here). */
  readonly lanAddress: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly hosts: BedHost[] = [];
  #next = 2;

  private constructor(bridge: string, subnet: string) {
    this.bridge = bridge;
    this.subnet = subnet;
    this.lanAddress = `${subnet}.1`;
  }

  static async create(): Promise<NetBed> {
    if (!bedAvailable()) throw new Error("the network test bed needs root inside scripts/in-netns");
    // No link-local IPv6 on the bridge and the host-side ends either (they would make this namespace
    // look like more than loopback to the rest of the suite).
    execFileSync("sysctl", [
      "-qw",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]);
    const subnet = freeSubnet();
    const bridge = `bed${process.pid % 10000}n${++bedCounter}`;
    ip("link", "add", bridge, "type", "bridge");
    onCleanup(() => {
      try {
        ip("link", "del", bridge);
      } catch {}
    });
    ip("addr", "add", `${subnet}.1/24`, "dev", bridge);
    ip("link", "set", bridge, "up");
    // The switch is every host's default gateway and forwards nothing.
    execFileSync("sysctl", ["-qw", "net.ipv4.ip_forward=0"]);
    const bed = new NetBed(bridge, subnet);
    bedsByAddress.set(bed.lanAddress, bed);
    onCleanup(() => bedsByAddress.delete(bed.lanAddress));
    return bed;
  }

  /** A new host on this LAN (the next free address, or `.octet`). */
  async host(name: string, options: HostOptions & { octet?: number } = {}): Promise<BedHost> {
    const host = await BedHost.create(name);
    await attach(host, { name: this.bridge, pid: 0 }, `${this.subnet}.${options.octet ?? this.#next++}`, {
      gateway: this.lanAddress,
      ...options,
    });
    this.hosts.push(host);
    return host;
  }
}

const bedsByAddress = new Map<string, NetBed>();

/** The bed whose LAN a URL points into (its switch address), if any. */
export function bedOf(url: string): NetBed | undefined {
  try {
    return bedsByAddress.get(new URL(url).hostname);
  } catch {
    return undefined;
  }
}
