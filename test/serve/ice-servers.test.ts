/**
 * The device's ICE servers reach the page: `serve --ice-server … --turn-secret-file FILE` puts them in
 * /config.json — only for a browser with a credential — with TURN credentials minted for that browser
 * (coturn `use-auth-secret`), and the secret itself appears nowhere: not in /config.json, not in the
 * log. That the page uses them and coturn accepts them is test/net/remote.test.ts.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loginCookie, startApiServe } from "../helpers/api.ts";
import { startCli } from "../helpers/processes.ts";

const SECRET = "the-turn-servers-shared-secret-4f2a";
const TTL = 3600;

interface IceServerJson {
  urls: string;
  username?: string;
  credential?: string;
}

function secretFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "device-rtc-turn-")), "turn-secret");
  writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
  return file;
}

describe("serve: the device's ICE servers in /config.json", () => {
  it("minted TURN credentials per browser, static ones as given, never the secret", async () => {
    const served = await startApiServe([
      "--ice-server",
      "stun:stun.example.org:3478",
      "--ice-server",
      "turn:turn.example.org:3478",
      "--ice-server",
      "turns:turn.example.org:5349?transport=tcp",
      "--ice-server",
      "turn:alice:static-pw@other.example.org:3478",
      "--turn-secret-file",
      secretFile(),
      "--turn-credential-ttl",
      String(TTL),
    ]);

    // Without a credential: nothing at all.
    const anonymous = await served.call("/config.json", { as: "none" });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).not.toContain("iceServers");

    for (const [as, label] of [
      ["view", `web-${served.tokens.view.id}`],
      ["admin", `web-${served.tokens.admin.id}`],
    ] as const) {
      const before = Math.floor(Date.now() / 1000);
      const response = await served.call("/config.json", { as });
      const after = Math.floor(Date.now() / 1000);
      expect(response.status).toBe(200);
      expect(response.headers["cache-control"]).toBe("no-store");
      expect(response.body).not.toContain(SECRET);
      const config = JSON.parse(response.body) as {
        iceServers: IceServerJson[];
        iceServersValidSeconds: number;
      };
      expect(config.iceServersValidSeconds).toBe(TTL);
      const [stun, turn, turns, other] = config.iceServers;
      expect(config.iceServers).toHaveLength(4);
      expect(stun).toEqual({ urls: "stun:stun.example.org:3478" });
      expect(other).toEqual({
        urls: "turn:other.example.org:3478",
        username: "alice",
        credential: "static-pw",
      });
      for (const [server, urls] of [
        [turn, "turn:turn.example.org:3478"],
        [turns, "turns:turn.example.org:5349?transport=tcp"],
      ] as const) {
        expect(server?.urls).toBe(urls);
        // <expiry>:<label> — this browser's credential id — and the HMAC a TURN server computes.
        const [expiry, who] = (server?.username ?? "").split(":");
        expect(who).toBe(label);
        expect(Number(expiry)).toBeGreaterThanOrEqual(before + TTL);
        expect(Number(expiry)).toBeLessThanOrEqual(after + TTL);
        expect(server?.credential).toBe(
          createHmac("sha1", SECRET)
            .update(server?.username ?? "")
            .digest("base64"),
        );
      }
    }

    // A browser logged in with the owner password: its session's own label.
    const cookie = await loginCookie(served);
    const browser = JSON.parse((await served.call("/config.json", { as: { cookie } })).body) as {
      iceServers: IceServerJson[];
    };
    expect(browser.iceServers[1]?.username).toMatch(/^\d+:web-[0-9a-f]{8}$/);
    expect(browser.iceServers[1]?.username).not.toMatch(/web-(view|admin)/);

    // The log (info, the default) says which servers, never the secret nor a credential.
    served.child.signal("SIGTERM");
    expect(await served.child.exited()).toBe(0);
    const output = served.child.output();
    expect(output).toMatch(/"iceServers":\["stun:stun\.example\.org:3478","turn:turn\.example\.org:3478"/);
    expect(output).toMatch(/"turnCredentialTtlSeconds":3600/);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain("static-pw");
  });

  it("a TURN URL without credentials and no secret is refused at start, naming the URL", async () => {
    const child = startCli([
      "serve",
      "--data-dir",
      mkdtempSync(join(tmpdir(), "device-rtc-data-")),
      "--ice-server",
      "turn:turn.example.org:3478",
    ]);
    expect(await child.exited()).toBe(1);
    expect(child.output()).toMatch(
      /--ice-server: turn:turn\.example\.org:3478 has no credentials: give them in the URL.*--turn-secret-file/,
    );
  });

  it("an empty secret file is refused at start", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "device-rtc-turn-")), "empty");
    writeFileSync(file, "\n");
    const child = startCli([
      "serve",
      "--data-dir",
      mkdtempSync(join(tmpdir(), "device-rtc-data-")),
      "--turn-secret-file",
      file,
    ]);
    expect(await child.exited()).toBe(1);
    expect(child.output()).toContain(`the TURN secret file ${file} is empty`);
  });
});
