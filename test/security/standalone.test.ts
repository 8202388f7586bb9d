/**
 * `device-rtc signalling` stays an open drop-in by default (test/signalling/conformance.test.ts runs
 * against it unchanged); `--auth-token-file FILE` makes it check bearer tokens from a credential store
 * made with `device-rtc token create --file FILE`, and `device-rtc device --token-file` connects to it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Child, startCli } from "../helpers/processes.ts";
import { upgradeStatus } from "../helpers/secure-server.ts";
import { startSignallingCli, TestPeer } from "../helpers/signalling.ts";

const status = (url: string, headers: Record<string, string> = {}) => upgradeStatus(url, undefined, headers);

async function run(args: string[]): Promise<Child> {
  const child = startCli(args);
  await child.exited();
  return child;
}

describe("device-rtc token", () => {
  it("create prints a token once, list never shows it, revoke removes it; the file holds only hashes", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "device-rtc-tokens-")), "tokens.json");
    const created = await run([
      "token",
      "create",
      "--file",
      file,
      "--role",
      "talk",
      "--expires",
      "7d",
      "--label",
      "cam",
    ]);
    expect(await created.exited()).toBe(0);
    const secret = created.output().match(/drtc_[A-Za-z0-9_-]{43}/)?.[0] as string;
    const id = created.output().match(/Created token ([0-9a-f]{8})/)?.[1] as string;
    expect(created.output()).toContain(`Authorization: Bearer ${secret}`);
    expect(created.output()).toMatch(/\/pair#code=drtc_/);
    expect(readFileSync(file, "utf8")).not.toContain(secret);
    const listed = await run(["token", "list", "--file", file]);
    expect(listed.output()).toMatch(new RegExp(`${id}\\s+token\\s+talk\\s+\\d{4}-.*cam`));
    expect(listed.output()).not.toContain(secret);
    const revoked = await run(["token", "revoke", "--file", file, id]);
    expect(revoked.output()).toContain(`Revoked ${id}`);
    const again = await run(["token", "revoke", "--file", file, id]);
    expect(await again.exited()).toBe(1);
    expect(again.output()).toMatch(/no credential/);
  });

  it("refuses a bad role or duration with a clear message", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "device-rtc-tokens-")), "tokens.json");
    const role = await run(["token", "create", "--file", file, "--role", "root"]);
    expect(await role.exited()).not.toBe(0);
    expect(role.output()).toMatch(/Allowed choices are view, talk, admin/);
    const duration = await run(["token", "create", "--file", file, "--expires", "soon"]);
    expect(duration.output()).toMatch(/expected a duration/);
  });
});

describe("device-rtc signalling --auth-token-file", () => {
  it("refuses connections without a valid bearer token, and a revoked token at once", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "device-rtc-tokens-")), "tokens.json");
    const created = await run(["token", "create", "--file", file, "--role", "admin"]);
    const secret = created.output().match(/drtc_[A-Za-z0-9_-]{43}/)?.[0] as string;
    const id = created.output().match(/Created token ([0-9a-f]{8})/)?.[1] as string;
    const { url } = await startSignallingCli(["--auth-token-file", file]);
    expect(await status(url)).toBe(401);
    expect(await status(url, { authorization: "Bearer drtc_wrong" })).toBe(401);
    expect(await status(url, { authorization: `Bearer ${secret}` })).toBe(101);
    // Same messages as without authentication once in.
    const peer = await TestPeer.connect(url, { headers: { authorization: `Bearer ${secret}` } });
    peer.send(`{"type":"list"}`);
    expect(await peer.next()).toBe(`{"type":"list","producers":[]}`);
    await run(["token", "revoke", "--file", file, id]);
    expect((await peer.closedBy(5000)).code).toBe(1008);
    expect(await status(url, { authorization: `Bearer ${secret}` })).toBe(401);
  });

  it("exits 1 naming a missing token file", async () => {
    const child = await run(["signalling", "--port", "0", "--auth-token-file", "/nonexistent/tokens.json"]);
    expect(await child.exited()).toBe(1);
    expect(child.output()).toMatch(/no credential store at \/nonexistent\/tokens\.json/);
  });
});

describe("device-rtc device --token-file", () => {
  it("connects to an authenticating server with its token", async () => {
    const dir = mkdtempSync(join(tmpdir(), "device-rtc-tokens-"));
    const file = join(dir, "tokens.json");
    const created = await run(["token", "create", "--file", file, "--role", "talk"]);
    const secret = created.output().match(/drtc_[A-Za-z0-9_-]{43}/)?.[0] as string;
    writeFileSync(join(dir, "device.token"), `${secret}\n`, { mode: 0o600 });
    const { child: server, url } = await startSignallingCli(["--auth-token-file", file]);
    // No media needed to prove the credential: the device registers, then is stopped.
    const device = startCli([
      "device",
      "--server",
      url,
      "--token-file",
      join(dir, "device.token"),
      "--video",
      "none",
      "--audio",
      "none",
      "--incoming-audio",
      "discard",
      "--loopback-only",
    ]);
    await device.waitFor(/registered as producer/, 20_000);
    expect(server.output()).toMatch(/"role":"talk".*"peer joined"|peer joined.*"role":"talk"/);
  });
});
