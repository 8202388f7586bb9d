/**
 * Attack first: a sender's name is the one string a peer controls that reaches the device's pipelines
 * (the echo's overlay) and its files (the recording's name). A browser registered under hostile names
 * sends its camera to a device that records and echoes it: nothing is written outside the record dir,
 * no element is added to a pipeline, and the device keeps serving.
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { waitInPage } from "../helpers/browser.ts";
import { stage, startTestDevice } from "../helpers/device.ts";

describe("a sender with a hostile name", () => {
  it("regression: a name with a quote cannot add elements to the echo's pipeline (it wrote a file)", async () => {
    const outside = mkdtempSync(join(tmpdir(), "device-rtc-outside-"));
    const records = mkdtempSync(join(tmpdir(), "device-rtc-rec-"));
    const hostile = `a" ! fakesink dataurisrc uri=data:,pwned ! filesink location=${outside}/pwned videotestsrc ! textoverlay name="z`;
    const s = await stage();
    const device = await startTestDevice(s.signalling, [
      "--incoming-video",
      "record,echo",
      "--record-dir",
      records,
    ]);
    const { page, log } = await s.openPage(hostile);
    const consumerId = await waitInPage<string>(page, `t.findConsumer("dev")`, "the device", 15_000, log);
    await page.evaluate(`t.produce(${JSON.stringify(consumerId)})`);
    await device.waitFor(/echo started/, 30_000);
    expect(existsSync(join(outside, "pwned"))).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
    const files = readdirSync(records);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[\p{L}\p{N}._-]+\.webm$/u);
  });
});
