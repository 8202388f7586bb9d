/**
 * The page renders every peer-provided string as text. Producers with every hostile name of
 * test/helpers/hostile.ts (markup, script, bidi overrides, quotes, controls, 4,000 characters…) are
 * listed on an open server (where the page sees every producer); each is shown exactly as the server
 * lists it, and nothing they contain runs or becomes an element, under the page's strict CSP.
 */
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/common/logger.ts";
import { SignallingServer } from "../../src/signalling/SignallingServer.ts";
import { AppServer } from "../../src/web/AppServer.ts";
import { consoleOf, launchBrowser, waitInPage } from "../helpers/browser.ts";
import { onCleanup } from "../helpers/cleanup.ts";
import { HOSTILE_NAMES } from "../helpers/hostile.ts";
import { WEB_ROOT } from "../helpers/secure-server.ts";
import { TestPeer } from "../helpers/signalling.ts";

/** What the signalling server does not list (test/signalling/robustness.test.ts "hostile names"). */
const NOT_LISTED = new Set(["200 kB", "a lone surrogate"]);
const HOSTILE = HOSTILE_NAMES.filter(([what]) => !NOT_LISTED.has(what)).map(([, name]) => name);

describe("hostile names in the page", () => {
  it("are shown as text, never markup or script", async () => {
    const logger = createLogger("test", { level: "silent" });
    const signalling = new SignallingServer({ logger });
    const app = await AppServer.create({
      host: "127.0.0.1",
      port: 0,
      tls: undefined,
      webRoot: WEB_ROOT,
      config: { deviceName: "Porch" },
      signalling,
      logger,
    });
    onCleanup(async () => {
      await signalling.close();
      await app.close();
    });
    const url = `ws://127.0.0.1:${app.port}`;
    for (const [, name] of HOSTILE_NAMES) {
      const peer = await TestPeer.connect(url);
      peer.send(
        `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":${JSON.stringify(name)}},"peerId":"${peer.id}"}`,
      );
    }
    const browser = await launchBrowser();
    const page = await browser.newPage();
    const log = consoleOf(page);
    await page.goto(`http://127.0.0.1:${app.port}/`);
    await waitInPage(
      page,
      `document.querySelectorAll("#producers li").length === ${HOSTILE.length}`,
      "the list",
      15_000,
      log,
    );
    const shown = (await page.evaluate(
      `[...document.querySelectorAll("#producers button")].map((b) => b.textContent)`,
    )) as string[];
    expect(shown.sort()).toEqual([...HOSTILE].sort());
    expect(await page.evaluate("window.pwned")).toBeUndefined();
    expect(
      await page.evaluate(
        `document.querySelectorAll("#producers img, #producers script, #producers a").length`,
      ),
    ).toBe(0);
  });
});
