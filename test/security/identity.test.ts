/**
 * Identity of the device (in-process `serve` without media, test/helpers/secure-server.ts). Attacks:
 * register a producer and a consumer under the device's name before it does, so the page shows the
 * impostor and "Talk" sends the microphone to it; spoof the echo of someone's camera (`meta.echoOf`);
 * start a session with a page that talks (it is a producer then) and receive its microphone.
 */
import { describe, expect, it } from "vitest";
import { startSecureServer } from "../helpers/secure-server.ts";
import type { TestPeer } from "../helpers/signalling.ts";

async function talkClient(server: Awaited<ReturnType<typeof startSecureServer>>): Promise<TestPeer> {
  return server.connect({ cookie: server.cookie("talk"), origin: server.origin });
}

describe("only the device registers as the device", () => {
  it.each([
    [
      "the device's name as producer",
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"Porch"}}`,
    ],
    [
      "a look-alike of the name",
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":" PORCH\\u200b"}}`,
    ],
    ["a full-width look-alike", `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"Ｐｏｒｃｈ"}}`],
    ["a passive consumer", `{"type":"setPeerStatus","roles":["consumer"],"meta":{"name":"Porch"}}`],
    [
      "an echo of someone's camera",
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"Porch echo web-1","echoOf":"x"}}`,
    ],
    ["a listener claiming the name", `{"type":"setPeerStatus","roles":["listener"],"meta":{"name":"Porch"}}`],
  ])("refuses %s from an admin client", async (_what, message) => {
    const server = await startSecureServer();
    const impostor = await server.connect({ authorization: `Bearer ${server.token("admin").secret}` });
    impostor.send(message);
    expect(await impostor.next()).toMatch(/^\{"type":"error","details":"Cannot register peer [^"]+: /);
    const viewer = await server.connect({ cookie: server.cookie("view"), origin: server.origin });
    viewer.send(`{"type":"list"}`);
    expect(await viewer.next()).toBe(`{"type":"list","producers":[]}`);
    viewer.send(`{"type":"listConsumers"}`);
    expect(await viewer.next()).toBe(`{"type":"listConsumers","consumers":[]}`);
  });

  it("lets the device register its producer, consumer and echoes", async () => {
    const server = await startSecureServer();
    const { producer, consumer } = await server.device();
    const viewer = await server.connect({ cookie: server.cookie("view"), origin: server.origin });
    viewer.send(`{"type":"list"}`);
    expect(await viewer.next()).toBe(
      `{"type":"list","producers":[{"id":"${producer.id}","meta":{"name":"Porch"}}]}`,
    );
    viewer.send(`{"type":"listConsumers"}`);
    expect(await viewer.next()).toBe(
      `{"type":"listConsumers","consumers":[{"id":"${consumer.id}","meta":{"name":"Porch"}}]}`,
    );
  });
});

describe("a page that talks sends only to the device", () => {
  it("no other client can start a session with it, or even see it", async () => {
    const server = await startSecureServer();
    const { consumer } = await server.device();
    const page = await talkClient(server);
    page.send(`{"type":"setPeerStatus","roles":["listener"],"meta":{"name":"web-a"}}`);
    await page.next();
    // gstwebrtc-api's createProducerSessionForConsumer: register as producer, then start the session.
    page.send(`{"type":"setPeerStatus","roles":["listener","producer"],"meta":{"name":"web-a"}}`);
    await page.next();
    page.send(`{"type":"startSession","peerId":"${consumer.id}"}`);
    expect(await page.next()).toMatch(/^\{"type":"startSession","peerId":"[^"]+","sessionId"/);

    for (const role of ["view", "talk", "admin"] as const) {
      const eavesdropper = await server.connect({ authorization: `Bearer ${server.token(role).secret}` });
      eavesdropper.send(`{"type":"setPeerStatus","roles":["listener"],"meta":{"name":"x"}}`);
      await eavesdropper.next();
      // It is not listed…
      eavesdropper.send(`{"type":"list"}`);
      expect(await eavesdropper.next()).not.toContain(page.id);
      // …and knowing its id does not help.
      eavesdropper.send(`{"type":"startSession","peerId":"${page.id}"}`);
      expect(await eavesdropper.next()).toBe(
        `{"type":"error","details":"Cannot start a session with ${page.id}: peer ${page.id} accepts sessions from the device only"}`,
      );
    }
    await page.nothing();
  });

  it("a page hears only of the device's peers: another page's producer is never announced to it", async () => {
    const server = await startSecureServer();
    const { producer } = await server.device();
    const page = await talkClient(server);
    page.send(`{"type":"setPeerStatus","roles":["listener"],"meta":{"name":"web-a"}}`);
    expect(await page.next()).toContain(page.id);
    const other = await talkClient(server);
    other.send(`{"type":"setPeerStatus","roles":["listener","producer"],"meta":{"name":"web-b"}}`);
    await other.next();
    await page.nothing(200);
    // The device still sees everyone (it needs senders' names).
    const deviceListener = await server.connect({ authorization: `Bearer ${server.deviceSecret}` });
    deviceListener.send(`{"type":"list"}`);
    const list = await deviceListener.next();
    expect(list).toContain(other.id);
    expect(list).toContain(producer.id);
  });
});

describe("talk slots", () => {
  it("one talk token cannot take every talk slot, even through many browsers it logged in", async () => {
    const server = await startSecureServer();
    const { consumer } = await server.device();
    const { secret } = server.token("talk");
    const replies: string[] = [];
    for (let i = 0; i < 4; i++) {
      // Each browser that opened the token's link has its own session, counted with the token.
      const session = server.store.pair(secret, `browser ${i}`);
      const browser = await server.connect({
        cookie: `__Host-device-rtc=${session?.secret}`,
        origin: server.origin,
      });
      browser.send(`{"type":"startSession","peerId":"${consumer.id}"}`);
      replies.push(await browser.next());
    }
    expect(replies.filter((text) => text.startsWith(`{"type":"startSession"`))).toHaveLength(2);
    expect(replies[2]).toMatch(/the limit is 2 \(--max-sending-per-credential\)/);
  });
});
