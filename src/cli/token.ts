/**
 * `device-rtc token`, `device-rtc pair` and `device-rtc password`: the credentials of a device
 * (docs/SECURITY.md "Pairing, rotating and revoking"). They work on the credential store file, which a
 * running `serve` re-reads: a new token works and a revoked one stops working at once.
 */
import { hostname } from "node:os";
import { Command, InvalidArgumentError, Option } from "commander";
import { CredentialStore, PAIRING_LIFETIME_MS } from "../auth/CredentialStore.ts";
import { newPassword, pairingUrl, terminalQr } from "../auth/pairing.ts";
import { ROLES, type Role } from "../auth/roles.ts";
import { UsageError } from "./lifecycle.ts";
import { credentialStorePath, defaultDataDir } from "./paths.ts";

interface StoreFlags {
  dataDir: string;
  file?: string;
}

/** `7d`, `12h`, `30m`, `never` → milliseconds (null: never). */
export function parseDuration(text: string): number | null {
  if (text === "never") return null;
  const match = /^(\d{1,6})([mhdw])$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError("expected a duration such as 30m, 12h, 7d, 4w, or never.");
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as "m" | "h" | "d" | "w"];
  return Number(match[1]) * unit;
}

function addStoreOptions(command: Command): Command {
  return command
    .option("--data-dir <DIR>", "the data directory of `device-rtc serve`", defaultDataDir())
    .option(
      "--file <FILE>",
      "a credential store file instead (e.g. for `device-rtc signalling --auth-token-file`)",
    );
}

function openStore(flags: StoreFlags, create: boolean): CredentialStore {
  const file = flags.file ?? credentialStorePath(flags.dataDir);
  if (!create && !CredentialStore.exists(file)) {
    throw new UsageError(
      `no credential store at ${file} (run device-rtc serve once, or create a token first)`,
    );
  }
  return CredentialStore.open(file);
}

function baseUrl(flags: { url?: string; port: number }): string {
  return flags.url ?? `https://${hostname()}.local:${flags.port}`;
}

const roleOption = () =>
  new Option("--role <ROLE>", "view (watch and listen), talk (also send mic and camera), admin")
    .choices(ROLES)
    .default("view");

export function tokenCommand(): Command {
  const token = new Command("token").description(
    "Create, list and revoke access tokens (for GStreamer clients, scripts and shared pairing links).",
  );
  addStoreOptions(
    token
      .command("create")
      .description("Create a token; it is shown once (only its SHA-256 is stored).")
      .addOption(roleOption())
      .option("--expires <DURATION>", "30m, 12h, 7d, 4w or never", parseDuration, 30 * 86_400_000)
      .option("--label <TEXT>", "what it is for (shown by token list)", "")
      .option("--url <BASE>", "the device's address for the pairing link (default https://<host>.local:PORT)")
      .option("--port <PORT>", "the port of `serve`, for the pairing link", Number, 8443),
  ).action(
    async (
      flags: StoreFlags & { role: Role; expires: number | null; label: string; url?: string; port: number },
    ) => {
      const store = openStore(flags, true);
      const { credential, secret } = store.create({
        kind: "token",
        role: flags.role,
        label: flags.label,
        expiresInMs: flags.expires,
      });
      const link = pairingUrl(baseUrl(flags), secret);
      process.stdout.write(
        [
          `Created token ${credential.id} (role ${credential.role}, ${credential.expires ? `expires ${credential.expires}` : "never expires"}).`,
          "",
          `  ${secret}`,
          "",
          "GStreamer clients send it as a header of the signalling connection:",
          `  Authorization: Bearer ${secret}`,
          "Browsers: open this link (it logs in every browser that opens it, until the token expires or is revoked):",
          `  ${link}`,
          "",
          await terminalQr(link),
          `Revoke it with: device-rtc token revoke ${credential.id}`,
          "",
        ].join("\n"),
      );
    },
  );
  addStoreOptions(
    token
      .command("list")
      .description("List tokens, pairing codes and browser sessions (never their secrets)."),
  ).action((flags: StoreFlags) => {
    const store = openStore(flags, false);
    const rows = store.list().map((c) => [c.id, c.kind, c.role, c.expires ?? "never", c.label]);
    const header = ["ID", "KIND", "ROLE", "EXPIRES", "LABEL"];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
    const line = (row: string[]) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd();
    process.stdout.write(`${[line(header), ...rows.map(line)].join("\n")}\n`);
  });
  addStoreOptions(
    token
      .command("revoke")
      .description(
        "Revoke a token, pairing code or browser session (and the sessions made from it); `all` revokes everything but pairing codes.",
      )
      .argument("<ID>", "an ID from token list, or all"),
  ).action((id: string, flags: StoreFlags) => {
    const store = openStore(flags, false);
    const removed = store.revoke(id);
    if (removed.length === 0) throw new UsageError(`no credential ${id} (see device-rtc token list)`);
    process.stdout.write(`Revoked ${removed.join(", ")}.\n`);
  });
  return token;
}

export function pairCommand(): Command {
  return addStoreOptions(
    new Command("pair")
      .description("Print a one-time pairing link (and QR code) that logs one more browser in.")
      .addOption(roleOption().default("admin"))
      .option(
        "--expires <DURATION>",
        "how long the link may wait to be opened",
        parseDuration,
        PAIRING_LIFETIME_MS,
      )
      .option("--url <BASE>", "the device's address (default https://<host>.local:PORT)")
      .option("--port <PORT>", "the port of `serve`", Number, 8443),
  ).action(async (flags: StoreFlags & { role: Role; expires: number | null; url?: string; port: number }) => {
    const store = openStore(flags, true);
    const { secret } = store.create({
      kind: "pairing",
      role: flags.role,
      label: "device-rtc pair",
      expiresInMs: flags.expires ?? PAIRING_LIFETIME_MS,
    });
    const link = pairingUrl(baseUrl(flags), secret);
    process.stdout.write(
      `Open this on the browser to pair (once, role ${flags.role}):\n  ${link}\n\n${await terminalQr(link)}\n`,
    );
  });
}

export function passwordCommand(): Command {
  return addStoreOptions(
    new Command("password")
      .description(
        "Set a new owner password (the login page's fallback): a generated one, or one read from stdin.",
      )
      .option("--stdin", "read the new password from standard input", false),
  ).action(async (flags: StoreFlags & { stdin: boolean }) => {
    const store = openStore(flags, true);
    let password = newPassword();
    if (flags.stdin) {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      password = Buffer.concat(chunks)
        .toString("utf8")
        .replace(/\r?\n$/, "");
      if (password.length < 10) throw new UsageError("the password must have at least 10 characters");
    }
    store.setPassword(password);
    process.stdout.write(flags.stdin ? "Password changed.\n" : `New owner password: ${password}\n`);
  });
}
