import { expect, it } from "vitest";
import { consoleOf } from "../helpers/browser.ts";
import { consumeProducer, launchBrowserOn, stage, startDevice } from "../helpers/device.ts";
import { CHROMIUM_BED_ARGS } from "../helpers/netns.ts";

it("probe", async () => {
  const s = await stage();
  const device = await startDevice(s.signalling, ["--name","dev","--video","test","--audio","test"], { LOG_LEVEL: "debug" });
  s.viewer!.exec("ip", ["route", "add", "default", "via", s.bed!.lanAddress]);
  const browser = await launchBrowserOn(s.viewer!, [], { baseArgs: CHROMIUM_BED_ARGS.filter((f) => f !== "--use-fake-ui-for-media-stream") });
  await browser.grantPermissions(["camera", "microphone"]);
  const page = await browser.newPage();
  const log = consoleOf(page);
  await page.goto(s.pageUrl);
  await page.evaluate(`t.connect("viewer")`);
  const t0 = Date.now();
  await consumeProducer(page, "dev", log);
  console.log("first frame after", Date.now() - t0);
  console.log(JSON.stringify(await page.evaluate("t.selectedPair()")));
  console.log(await page.evaluate("t.consumer.rtcPeerConnection.localDescription.sdp.split(\"\\n\").filter((l) => l.includes(\"candidate\")).join(\"\\n\")"));
  console.log("gum", await page.evaluate("navigator.mediaDevices.getUserMedia({video:true,audio:true}).then((s) => s.getTracks().length, (e) => String(e))"));
  expect(1).toBe(1);
});
