/**
 * From `npm start` to the device's first frame in a browser, on a fresh data directory (so the
 * certificate authority is created too), as a new user experiences it after setup.
 *
 *   npm run bench:serve -- [--runs 3] [--json FILE]
 *
 * Phases: `npm start` spawned → "serving" logged (setup check, CA creation, encoders started) →
 * the page's first decoded frame (Chromium opened at that moment, trusting only the new CA, on the
 * pairing link `serve` printed — the newcomer's path).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { spkiFingerprint } from "../../src/pki/certificates.ts";
import { CHROMIUM_WEBRTC_ARGS } from "../../test/helpers/netns.ts";

const { values: args } = parseArgs({
  options: { runs: { type: "string", default: "3" }, json: { type: "string" } },
});
const ROOT = new URL("../../", import.meta.url).pathname;
const results: Array<{ servingMs: number; firstFrameMs: number }> = [];

for (let run = 0; run < Number(args.runs); run++) {
  const data = mkdtempSync(join(tmpdir(), "device-rtc-start-"));
  const started = performance.now();
  const child = spawn("npm", ["start", "--", "--video", "test", "--audio", "test"], {
    cwd: ROOT,
    env: { ...process.env, XDG_DATA_HOME: data },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const serving = new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/"serving on/.test(output)) resolve(performance.now() - started);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", () => reject(new Error(`npm start exited:\n${output}`)));
  });
  const servingMs = await serving;
  const ca = readFileSync(join(data, "device-rtc", "pki", "ca.crt"), "utf8");
  const profile = mkdtempSync(join(tmpdir(), "device-rtc-start-browser-"));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [`--ignore-certificate-errors-spki-list=${spkiFingerprint(ca)}`, ...CHROMIUM_WEBRTC_ARGS],
  });
  const page = await browser.newPage();
  const link = output.match(/https:\/\/127\.0\.0\.1:8443\/pair#code=\S+/)?.[0];
  if (!link) throw new Error(`no pairing link printed:\n${output}`);
  await page.goto(link);
  await page.waitForFunction(
    () => (document.getElementById("remote") as HTMLVideoElement).videoWidth > 0,
    undefined,
    { timeout: 30_000, polling: 20 },
  );
  const firstFrameMs = performance.now() - started;
  results.push({ servingMs, firstFrameMs });
  await browser.close();
  process.kill(-(child.pid ?? 0), "SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  rmSync(data, { recursive: true, force: true });
  rmSync(profile, { recursive: true, force: true });
}

const lines = [
  "From `npm start` (setup already done) to the first frame in the page, fresh data directory",
  "",
  "| run | serving (ms) | first frame (ms) |",
  "|---|---|---|",
  ...results.map((r, i) => `| ${i + 1} | ${Math.round(r.servingMs)} | ${Math.round(r.firstFrameMs)} |`),
];
process.stdout.write(`${lines.join("\n")}\n`);
if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));
process.exit(0);
