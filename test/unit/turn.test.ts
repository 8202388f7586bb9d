/**
 * Time-limited TURN credentials (src/device/turn.ts): coturn's `use-auth-secret` scheme, the ICE
 * servers a session or a page gets, and the `--turn-secret-file` checks. That coturn itself accepts
 * them is test/net/remote.test.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { turnSettingsFrom } from "../../src/cli/device.ts";
import { UsageError } from "../../src/cli/lifecycle.ts";
import { mintTurnCredentials, turnLabel } from "../../src/device/turn.ts";
import { iceServersFor, iceSettingsProblem } from "../../src/device/webrtc.ts";
import { HOSTILE_NAMES } from "../helpers/hostile.ts";

/** 2023-11-14T22:13:20Z, in ms. */
const NOW = 1_700_000_000_000;

describe("mintTurnCredentials", () => {
  it("username <expiry>:<label>, credential base64(HMAC-SHA1(secret, username)) — a vector computed with openssl", () => {
    // printf '%s' '1700086400:Porch' | openssl dgst -sha1 -hmac north -binary | base64
    expect(mintTurnCredentials({ secret: "north", ttlSeconds: 86_400 }, "Porch", NOW)).toEqual({
      username: "1700086400:Porch",
      credential: "JUnmA9nuztz9GomNJ6zez2GNa9U=",
      expires: 1_700_086_400,
    });
    // printf '%s' '1700000060:web-0a1b2c3d' | openssl dgst -sha1 -hmac 's3cr3t with spaces' -binary | base64
    expect(
      mintTurnCredentials({ secret: "s3cr3t with spaces", ttlSeconds: 60 }, "web-0a1b2c3d", NOW).credential,
    ).toBe("aFx+WG7QKs12Kmj76TnCjTBYq6I=");
  });

  it("the expiry is now plus the lifetime, in whole Unix seconds (the fraction of a second dropped)", () => {
    const settings = { secret: "north", ttlSeconds: 600 };
    expect(mintTurnCredentials(settings, "x", NOW + 999).expires).toBe(1_700_000_600);
    expect(mintTurnCredentials(settings, "x", NOW + 1000).expires).toBe(1_700_000_601);
    expect(mintTurnCredentials(settings, "x", NOW + 1000).username).toBe("1700000601:x");
  });

  it("another secret or another expiry gives another credential", () => {
    const a = mintTurnCredentials({ secret: "north", ttlSeconds: 600 }, "x", NOW);
    expect(mintTurnCredentials({ secret: "south", ttlSeconds: 600 }, "x", NOW).credential).not.toBe(
      a.credential,
    );
    expect(mintTurnCredentials({ secret: "north", ttlSeconds: 601 }, "x", NOW).credential).not.toBe(
      a.credential,
    );
  });
});

describe("turnLabel: hostile labels", () => {
  it.each(HOSTILE_NAMES)("%s", (_, name) => {
    const label = turnLabel(name);
    // Letters, digits, . _ - only: never coturn's separator, nothing SASLprep would change.
    expect(label).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/);
    const { username } = mintTurnCredentials({ secret: "north", ttlSeconds: 60 }, name, NOW);
    expect(username.split(":")).toEqual(["1700000060", label]);
  });

  it.each([
    ["Porch", "Porch"],
    ["front door", "front-door"],
    ["web-0a1b2c3d", "web-0a1b2c3d"],
    ["a:b:c", "a-b-c"],
    ["ｆｕｌｌ ｗｉｄｔｈ", "full-width"],
    ["../../etc", "etc"],
    ["", "peer"],
    ["::::", "peer"],
    ["手机", "peer"],
    ["1700000000", "1700000000"],
  ])("%j → %j", (name, label) => {
    expect(turnLabel(name)).toBe(label);
  });
});

describe("iceServersFor", () => {
  const turn = { secret: "north", ttlSeconds: 86_400 };
  const urls = [
    "stun:stun.example.org:3478",
    "turn:turn.example.org:3478",
    "turns:turn.example.org:5349?transport=tcp",
    "turn:alice:pw@static.example.org:3478",
  ];

  it("TURN URLs without credentials get minted ones; STUN and TURN with user:pass stay as given", () => {
    const minted = mintTurnCredentials(turn, "Porch", NOW);
    expect(iceServersFor(urls, turn, "Porch", NOW)).toEqual([
      { urls: "stun:stun.example.org:3478" },
      { urls: "turn:turn.example.org:3478", username: minted.username, credential: minted.credential },
      {
        urls: "turns:turn.example.org:5349?transport=tcp",
        username: minted.username,
        credential: minted.credential,
      },
      { urls: "turn:static.example.org:3478", username: "alice", credential: "pw" },
    ]);
  });

  it("without a secret, the URLs are only parsed", () => {
    expect(iceServersFor(["stun:s.example.org", "turn:a:b@t.example.org"], undefined, "Porch", NOW)).toEqual([
      { urls: "stun:s.example.org" },
      { urls: "turn:t.example.org", username: "a", credential: "b" },
    ]);
  });

  it("never carries the secret", () => {
    const text = JSON.stringify(iceServersFor(urls, { secret: "the-shared-secret", ttlSeconds: 60 }, "x"));
    expect(text).not.toContain("the-shared-secret");
  });
});

describe("iceSettingsProblem", () => {
  it("a TURN URL needs credentials: in the URL or from a secret", () => {
    expect(iceSettingsProblem(["turn:turn.example.org:3478"], undefined)).toMatch(
      /turn:turn\.example\.org:3478 has no credentials.*--turn-secret-file/,
    );
    expect(iceSettingsProblem(["turns:turn.example.org:5349"], undefined)).toMatch(/has no credentials/);
    expect(
      iceSettingsProblem(["turn:turn.example.org:3478"], { secret: "north", ttlSeconds: 60 }),
    ).toBeUndefined();
    expect(
      iceSettingsProblem(["turn:a:b@turn.example.org", "stun:s.example.org"], undefined),
    ).toBeUndefined();
  });

  it("names a URL that is not STUN or TURN", () => {
    expect(iceSettingsProblem(["http://example.org"], undefined)).toMatch(/not a STUN or TURN URL/);
  });
});

describe("--turn-secret-file", () => {
  const dir = mkdtempSync(join(tmpdir(), "device-rtc-turn-"));

  it("reads the secret, without surrounding white space (a file ends with a newline)", () => {
    const file = join(dir, "secret");
    writeFileSync(file, "  north \n");
    expect(turnSettingsFrom({ turnSecretFile: file, turnCredentialTtl: 3600 })).toEqual({
      secret: "north",
      ttlSeconds: 3600,
    });
    expect(turnSettingsFrom({ turnCredentialTtl: 3600 })).toBeUndefined();
  });

  it("refuses an empty or unreadable file, naming it and not showing its contents", () => {
    const empty = join(dir, "empty");
    writeFileSync(empty, "\n \n");
    expect(() => turnSettingsFrom({ turnSecretFile: empty, turnCredentialTtl: 60 })).toThrow(
      new UsageError(`the TURN secret file ${empty} is empty`),
    );
    const missing = join(dir, "missing");
    expect(() => turnSettingsFrom({ turnSecretFile: missing, turnCredentialTtl: 60 })).toThrow(
      new UsageError(`cannot read the TURN secret file ${missing}`),
    );
    // A directory where the file should be.
    expect(() => turnSettingsFrom({ turnSecretFile: dir, turnCredentialTtl: 60 })).toThrow(
      new UsageError(`cannot read the TURN secret file ${dir}`),
    );
  });
});
