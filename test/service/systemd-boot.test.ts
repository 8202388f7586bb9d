/**
 * The service under a real systemd: a container (systemd-nspawn) booted from an overlay of this machine's
 * own root, loopback only, where test/service/container/probe.sh does what an owner does —
 * `device-rtc service install` as root — and then checks it from outside: the device serves HTTPS as the
 * device-rtc user inside the full sandbox, its GStreamer pipelines run, a crash is restarted without
 * orphans, a config error is not restarted, `systemctl stop` is clean, uninstall removes it.
 *
 * Needs root, systemd-nspawn (Debian's systemd-container, installed by scripts/setup --tests) and
 * overlayfs; skipped where any is missing, and says so.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { onCleanup } from "../helpers/cleanup.ts";

const SOURCE = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const BOOT = new URL("./container/boot.sh", import.meta.url).pathname;

function why(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  if (spawnSync("systemd-nspawn", ["--version"]).status !== 0) return "no systemd-nspawn (systemd-container)";
  if (!readFileSync("/proc/filesystems", "utf8").includes("overlay")) return "no overlayfs";
  return undefined;
}
const skip = why();
if (skip) process.stderr.write(`[systemd-boot] skipped: ${skip}\n`);

describe.skipIf(skip !== undefined)("the service under a real systemd", () => {
  it("installs, serves as device-rtc in its sandbox, restarts after a crash but not after a config error, stops cleanly, uninstalls", () => {
    const results = mkdtempSync(join(tmpdir(), "device-rtc-boot-"));
    onCleanup(() => rmSync(results, { recursive: true, force: true }));
    const boot = spawnSync("unshare", ["-m", "--propagation", "private", BOOT, results, SOURCE], {
      encoding: "utf8",
      timeout: 240_000,
    });
    const read = (name: string) =>
      existsSync(join(results, name)) ? readFileSync(join(results, name), "utf8") : "";
    const context = `${read("probe.log")}\n${read("journal.txt")}\n${boot.stdout.slice(-3000)}${boot.stderr}`;
    expect(read("done"), context).toBe("done\n");

    expect(read("install.status").trim(), context).toBe("0");
    expect(read("status.status").trim()).toBe("0");
    expect(read("status.txt")).toMatch(/Active: active \(running\)/);
    expect(read("running.txt")).toContain("ActiveState=active");
    expect(read("running.txt")).toContain("NRestarts=0");
    expect(read("main-user.txt").trim()).toBe("device-rtc");
    expect(read("id.txt")).toMatch(/groups=\d+\(device-rtc\),.*\baudio\b.*\bvideo\b/);
    // Its encoders run as its children, in the sandbox.
    const children = read("children.txt");
    expect(children).toMatch(/^device-\+ gst-launch-1\.0 -e .*vp8enc/m);
    expect(children).toMatch(/^device-\+ gst-launch-1\.0 -e .*opusenc/m);
    // HTTPS from outside the unit, and the CA made in the state directory, private to the service.
    expect(read("ca-over-https.txt")).toMatch(/^200\n-----BEGIN CERTIFICATE-----\r?\n/);
    expect(read("ca-file.txt")).toMatch(
      /^-rw-r----- 1 device-rtc device-rtc .* \/var\/lib\/device-rtc\/pki\/ca\.crt$/m,
    );

    expect(read("after-crash.txt")).toContain("NRestarts=1");
    expect(read("after-crash.txt")).toContain("ActiveState=active");
    expect(read("orphans-after-crash.txt")).toBe("");

    expect(read("config-error.txt")).toContain("ExecMainStatus=2");
    expect(read("config-error.txt")).toContain("ActiveState=failed");
    expect(read("config-error.txt")).toContain("NRestarts=0");
    expect(read("config-error-message.txt")).toMatch(
      /^device-rtc: config file \/etc\/device-rtc\/config\.yaml, line \d+: port: "eighty" is invalid: expected an integer from 0 to 65535\.$/m,
    );
    expect(read("fixed.txt").trim()).toBe("active");

    expect(read("stop.status").trim()).toBe("0");
    expect(read("stopped.txt")).toContain("Result=success");
    expect(read("stopped.txt")).toContain("ActiveState=inactive");
    expect(read("leftover.txt")).toBe("");
    expect(read("journal.txt")).toMatch(
      /"process":"video-encoder".*"code":0,"signal":null.*"process exited"/,
    );

    expect(read("uninstall.status").trim()).toBe("0");
    expect(read("after-uninstall.txt")).toContain("cannot access '/etc/systemd/system/device-rtc.service'");
    expect(read("after-uninstall.txt")).toContain("cannot access '/opt/device-rtc'");
  }, 300_000);
});
