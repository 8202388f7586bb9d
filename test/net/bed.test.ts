/**
 * The network test bed itself: hosts in their own namespaces reach each other over the LAN and
 * nothing else; the link emulator delays, drops and cuts what crosses, and counts it.
 */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { type BedHost, bedAvailable, NetBed } from "../helpers/netbed.ts";

/** A UDP echo server on `host` port 7007. */
async function echoServer(host: BedHost) {
  const child = host.run(process.execPath, [
    "-e",
    `const s = require("node:dgram").createSocket("udp4");
     s.on("message", (m, r) => s.send(m, r.port, r.address));
     s.bind(7007, () => console.log("bound"));`,
  ]);
  await child.waitFor(/bound/);
  return child;
}

/** Sends `count` datagrams from `host` to `target`:7007 every `intervalMs`; prints the round trips. */
async function ping(host: BedHost, target: string, count: number, intervalMs = 5) {
  const child = host.run(process.execPath, [
    "-e",
    `const s = require("node:dgram").createSocket("udp4");
     const sent = new Map(); const rtts = [];
     s.on("message", (m) => { const t = sent.get(m.readUInt32BE(0)); if (t) rtts.push(performance.now() - t); });
     let i = 0;
     const timer = setInterval(() => {
       if (i === ${count}) { clearInterval(timer); setTimeout(() => { console.log(JSON.stringify(rtts)); process.exit(0); }, 500); return; }
       const b = Buffer.alloc(200); b.writeUInt32BE(i); sent.set(i++, performance.now()); s.send(b, 7007, ${JSON.stringify(target)});
     }, ${intervalMs});`,
  ]);
  const [line] = (await child.waitFor(/^\[.*\]$/m, 30_000)) as RegExpMatchArray;
  return JSON.parse(line) as number[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

describe.runIf(bedAvailable())("network test bed", () => {
  it("hosts have one LAN address each; their gateway forwards nothing; they reach each other", async () => {
    const bed = await NetBed.create();
    const a = await bed.host("a");
    const b = await bed.host("b", { impair: true });
    for (const host of [a, b]) {
      expect(host.exec("ip", ["-4", "-o", "addr", "show"])).toContain(`${host.address}/24`);
      expect(host.exec("ip", ["route", "show", "default"]).trim()).toBe(
        `default via ${bed.lanAddress} dev eth0`,
      );
    }
    expect(execFileSync("sysctl", ["-n", "net.ipv4.ip_forward"], { encoding: "utf8" }).trim()).toBe("0");
    // The only routes of the gateway's namespace: the LAN itself.
    expect(execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" })).not.toMatch(/default/);
    await echoServer(b);
    const rtts = await ping(a, b.address, 20);
    expect(rtts).toHaveLength(20);
  });

  it("link emulator: delay both ways, loss counted, an outage drops everything until it ends", async () => {
    const bed = await NetBed.create();
    const a = await bed.host("a");
    const b = await bed.host("b", { impair: { delayMs: 20 } });
    await echoServer(b);
    const rtts = await ping(a, b.address, 20);
    expect(median(rtts)).toBeGreaterThan(38);
    expect(median(rtts)).toBeLessThan(80);

    const link = b.link;
    if (!link) throw new Error("no link");
    await link.set("both", { delayMs: 0 });
    await link.set("down", { loss: 0.3 });
    await link.reset();
    const lossy = await ping(a, b.address, 200, 2);
    const counters = await link.counters();
    expect(counters.down.lost).toBeGreaterThan(30);
    expect(counters.down.lost).toBeLessThan(100);
    expect(counters.up.lost).toBe(0);
    expect(lossy.length).toBe(counters.up.delivered - counters.up.lost);

    await link.set("down", { loss: 0 });
    await link.outage(true);
    expect(await ping(a, b.address, 20)).toHaveLength(0);
    expect((await link.counters()).down.outageDropped).toBeGreaterThanOrEqual(20);
    await link.outage(false);
    expect(await ping(a, b.address, 20)).toHaveLength(20);
  });

  it("link emulator: a rate limit paces traffic and drops what overflows its queue", async () => {
    const bed = await NetBed.create();
    const a = await bed.host("a");
    const b = await bed.host("b", { impair: { rateKbps: 400, queueMs: 100 } });
    await echoServer(b);
    // 200 × 242-byte frames every 2 ms ≈ 970 kbit/s offered into 400 kbit/s.
    await b.link?.reset();
    const rtts = await ping(a, b.address, 200, 2);
    const counters = await b.link?.counters();
    expect(counters?.down.queueDropped).toBeGreaterThan(50);
    expect(counters?.down.maxQueueMs).toBeLessThanOrEqual(100);
    expect(Math.max(...rtts)).toBeGreaterThan(60);
  });
});
