/**
 * The two insecure modes of `device-rtc serve` (docs/SECURITY.md): `--open` (no authentication) and
 * `--no-tls` (plain HTTP). Each must say so loudly on stderr — a banner a person at the terminal
 * cannot miss, and a warn line in the structured log — and do what it says: `--open` lets a
 * signalling client in without any credential, `--no-tls` still asks for one.
 */
import { describe, expect, it } from "vitest";
import { jsonLogLines } from "../helpers/logs.ts";
import { upgradeStatus } from "../helpers/secure-server.ts";
import { serveTestDevice } from "../helpers/serve.ts";
import { TestPeer } from "../helpers/signalling.ts";

describe("serve's insecure modes", () => {
  it("--open warns loudly, then lets a signalling client in without any credential", async () => {
    const { child, port, ca } = await serveTestDevice(["--open"], { local: true });

    expect(child.stderr()).toContain("!!! WARNING: --open: NO AUTHENTICATION.");
    expect(jsonLogLines(child.stderr())).toContainEqual(
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
    const { child, port } = await serveTestDevice(["--no-tls"], { local: true });

    expect(child.stderr()).toContain("!!! WARNING: --no-tls: plain HTTP.");
    expect(jsonLogLines(child.stderr())).toContainEqual(
      expect.objectContaining({
        level: "warn",
        msg: "serving plain HTTP (--no-tls): signalling and login cookies travel in the clear",
      }),
    );
    // Without TLS a credential is still required.
    expect(await upgradeStatus(`ws://127.0.0.1:${port}/`, undefined)).toBe(401);
  });

  it("a secure serve prints neither warning", async () => {
    const { child } = await serveTestDevice([], { local: true });
    await child.waitFor(/serving on https:/);
    expect(child.stderr()).not.toContain("!!! WARNING");
  });
});
