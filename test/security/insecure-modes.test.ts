/**
 * The two insecure modes of `device-rtc serve` (docs/SECURITY.md): `--open` (no authentication) and
 * `--no-tls` (plain HTTP). Each must say so loudly on stderr — a banner a person at the terminal
 * cannot miss, and a warn line in the structured log — and do what it says: `--open` lets a
 * signalling client in without any credential, `--no-tls` still asks for one.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loopbackFlags } from "../helpers/device.ts";
import { type Child, startCli } from "../helpers/processes.ts";
import { upgradeStatus } from "../helpers/secure-server.ts";
import { TestPeer } from "../helpers/signalling.ts";

interface Served {
  server: Child;
  port: number;
  dataDir: string;
  /** Everything the process wrote to stderr (the banner and the JSON log lines), apart from stdout. */
  stderr: () => string;
}

async function serve(flags: string[]): Promise<Served> {
  const dataDir = mkdtempSync(join(tmpdir(), "device-rtc-insecure-"));
  const port = 23000 + Math.floor(Math.random() * 10000);
  const server = startCli([
    "serve",
    "--data-dir",
    dataDir,
    "--port",
    String(port),
    "--name",
    "Porch",
    "--video",
    "test",
    "--audio",
    "test",
    ...loopbackFlags(),
    ...flags,
  ]);
  let stderr = "";
  server.process.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  await server.waitFor(/registered as producer/, 30_000);
  return { server, port, dataDir, stderr: () => stderr };
}

/** The JSON log lines among what the process wrote to stderr. */
function logLines(stderr: string): Array<{ level: string; msg: string }> {
  return stderr
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

describe("serve's insecure modes", () => {
  it("--open warns loudly, then lets a signalling client in without any credential", async () => {
    const { port, dataDir, stderr } = await serve(["--open"]);
    const ca = readFileSync(join(dataDir, "pki", "ca.crt"), "utf8");

    expect(stderr()).toContain("!!! WARNING: --open: NO AUTHENTICATION.");
    expect(logLines(stderr())).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: "--open: no authentication; anyone who can reach this port may use the device",
      }),
    );

    // No cookie, no bearer token, no Origin: let in, and shown the device like any listener.
    const url = `wss://127.0.0.1:${port}/`;
    expect(await upgradeStatus(url, ca)).toBe(101);
    const stranger = await TestPeer.connect(url, { ca });
    stranger.send({ type: "list" });
    const list = JSON.parse(await stranger.next()) as {
      type: string;
      producers: Array<{ meta: { name?: string } }>;
    };
    expect(list.type).toBe("list");
    expect(list.producers.map((producer) => producer.meta.name)).toContain("Porch");
  });

  it("--no-tls warns loudly, and still asks every connection for a credential", async () => {
    const { port, stderr } = await serve(["--no-tls"]);

    expect(stderr()).toContain("!!! WARNING: --no-tls: plain HTTP.");
    expect(logLines(stderr())).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: "serving plain HTTP (--no-tls): signalling and login cookies travel in the clear",
      }),
    );
    // Without TLS a credential is still required.
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/`, undefined)).toBe(401);
  });

  it("a secure serve prints neither warning", async () => {
    const { server, stderr } = await serve([]);
    await server.waitFor(/serving on https:/);
    expect(stderr()).not.toContain("!!! WARNING");
  });
});
