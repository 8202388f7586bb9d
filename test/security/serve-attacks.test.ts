/**
 * The attacks of issue 8 against a real `device-rtc serve` (test sources), from the LAN: no credential,
 * a malicious web page's Origin, an impostor of the device, a third client after a talking page.
 * These attacks ran unchanged against the code before the security work (where every one succeeded).
 */
import { describe, expect, it } from "vitest";
import { startCli } from "../helpers/processes.ts";
import { upgradeStatus } from "../helpers/secure-server.ts";
import { type Served, serveTestDevice } from "../helpers/serve.ts";
import { TestPeer } from "../helpers/signalling.ts";

/** The device's serve on 127.0.0.1, the attacker's side of the LAN here. */
const serve = () => serveTestDevice([], { local: true });

describe("a LAN attacker against serve", () => {
  it("cannot connect to the signalling without a credential, nor from a foreign web page", async () => {
    const { port, ca } = await serve();
    const url = `wss://127.0.0.1:${port}/`;
    expect({
      none: await upgradeStatus(url, ca, {}),
      evilPage: await upgradeStatus(url, ca, { origin: "https://evil.example" }),
    }).toEqual({ none: 401, evilPage: 403 });
  });

  /**
   * The strongest credential an attacker could hold: an admin token where tokens exist, none before
   * (where none was needed).
   */
  async function attacker({ port, ca, dataDir }: Served): Promise<TestPeer> {
    const token = startCli(["token", "create", "--data-dir", dataDir, "--role", "admin"]);
    const secret =
      (await token.exited()) === 0 ? token.output().match(/drtc_[A-Za-z0-9_-]{43}/)?.[0] : undefined;
    const headers: Record<string, string> = secret ? { authorization: `Bearer ${secret}` } : {};
    return TestPeer.connect(`wss://127.0.0.1:${port}/`, { ca, headers });
  }

  it("cannot impersonate the device's producer, consumer or echo, even with an admin token", async () => {
    const impostor = await attacker(await serve());
    const replies: string[] = [];
    for (const status of [
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"Porch"}}`,
      `{"type":"setPeerStatus","roles":["consumer"],"meta":{"name":"Porch"}}`,
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"Porch echo you","echoOf":"x"}}`,
    ]) {
      impostor.send(status);
      replies.push(await impostor.next());
    }
    impostor.send(`{"type":"list"}`);
    for (;;) {
      const text = await impostor.next();
      replies.push(text);
      if (text.startsWith(`{"type":"list"`)) break;
    }
    expect(replies.slice(0, 3).every((text) => text.startsWith(`{"type":"error"`))).toBe(true);
    // Only the device's own producer is listed.
    const list = JSON.parse(replies.at(-1) as string) as { producers: Array<{ id: string }> };
    expect(list.producers.map((p) => p.id)).not.toContain(impostor.id);
  });

  it("cannot start a session with a page that talks, even with an admin token", async () => {
    const served = await serve();
    // A talking page, as gstwebrtc-api's createProducerSessionForConsumer registers it.
    const page = await attacker(served);
    page.send(`{"type":"setPeerStatus","roles":["listener","producer"],"meta":{"name":"web-1"}}`);
    await page.next();
    const eavesdropper = await attacker(served);
    eavesdropper.send(`{"type":"startSession","peerId":"${page.id}"}`);
    expect(await eavesdropper.next()).toMatch(/^\{"type":"error"/);
  });
});
