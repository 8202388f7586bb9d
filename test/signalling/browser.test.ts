/**
 * The real browser client: two headless Chromium pages load gstwebrtc-api 3.0.0 from npm, unmodified.
 * One produces its fake camera and microphone, the other finds it through the peer listener and
 * consumes it through our signalling server.
 */
import { describe, expect, it } from "vitest";
import { consoleOf, launchBrowser, waitInPage } from "../helpers/browser.ts";
import { startServer } from "../helpers/signalling.ts";
import { GSTWEBRTC_API_BUNDLE, serveStatic } from "../helpers/static-server.ts";

const PAGE = new URL("../pages/gstwebrtc-client.html", import.meta.url).pathname;

interface Inbound {
  videoWidth: number;
  videoHeight: number;
  currentTime: number;
  framesDecoded?: number;
  audioBytes?: number;
}

describe("gstwebrtc-api 3.0.0 in Chromium through our signalling server", () => {
  it("a consumer page plays a producer page's camera and microphone, and learns when it stops", async () => {
    const { url: signalling, server } = await startServer();
    const origin = await serveStatic({
      "/": { file: PAGE },
      "/gstwebrtc-api.js": { file: GSTWEBRTC_API_BUNDLE },
    });
    const browser = await launchBrowser();
    const pageUrl = `${origin}/?signalling=${encodeURIComponent(signalling)}`;

    const producer = await browser.newPage();
    const producerLog = consoleOf(producer);
    await producer.goto(pageUrl);
    await producer.evaluate(`t.connect("chromium-producer")`);
    await producer.evaluate(`t.produce()`);

    const consumer = await browser.newPage();
    const consumerLog = consoleOf(consumer);
    await consumer.goto(pageUrl);
    await consumer.evaluate(`t.connect("chromium-consumer")`);
    const producerId = await waitInPage<string>(
      consumer,
      `t.findProducer("chromium-producer")`,
      "the producer to be listed",
      10_000,
      consumerLog,
    );
    expect(await consumer.evaluate(`t.consume(${JSON.stringify(producerId)})`)).toBe(true);

    const first = await waitInPage<Inbound>(
      consumer,
      `t.inbound().then((s) => (s.videoWidth > 0 && s.framesDecoded > 0 && s.audioBytes > 0 ? s : null))`,
      "decoded video and received audio",
      20_000,
      [...consumerLog, ...producerLog],
    );
    // Chrome's encoder starts small and ramps up with its bandwidth estimate; the aspect ratio holds.
    expect(first.videoWidth * 3).toBe(first.videoHeight * 4);
    const later = await waitInPage<Inbound>(
      consumer,
      `t.inbound().then((s) => (s.framesDecoded > ${(first.framesDecoded ?? 0) + 10} && s.audioBytes > ${first.audioBytes ?? 0} && s.currentTime > ${first.currentTime} ? s : null))`,
      "the consumer to play on",
      10_000,
      [...consumerLog, ...producerLog],
    );
    expect(later.framesDecoded ?? 0).toBeGreaterThan((first.framesDecoded ?? 0) + 10);
    expect(later.audioBytes ?? 0).toBeGreaterThan(first.audioBytes ?? 0);
    expect(later.currentTime).toBeGreaterThan(first.currentTime);
    expect(server.stats.sessions).toBe(1);

    // The producer stops: the server ends the session and the consumer's session closes.
    await producer.evaluate(`t.producer.close()`);
    await waitInPage(consumer, `t.closed > 0`, "the consumer session to close", 5000, consumerLog);
    await waitInPage(
      consumer,
      `t.findProducer("chromium-producer") === null`,
      "the producer to be unlisted",
      5000,
    );
    expect(server.stats.sessions).toBe(0);
    expect(await consumer.evaluate(`t.errors`)).toEqual([]);
  });
});
