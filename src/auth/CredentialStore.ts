/**
 * Every credential of a device-rtc installation, in one JSON file (0600, in a 0700 directory), none of
 * them in the clear (docs/SECURITY.md "Credentials at rest"):
 * - tokens (`device-rtc token create`): bearer tokens for GStreamer clients, also usable as a
 *   pairing link for browsers until they expire or are revoked;
 * - pairing codes: one-time, short-lived links that log one browser in (printed by `serve`);
 * - browser sessions: what a pairing or a password login turns into, held in an HttpOnly cookie;
 * - the owner password (scrypt).
 *
 * Secrets are 256 bits from the system's CSPRNG and stored as their SHA-256 — enough for random secrets,
 * which cannot be guessed, so no slow hash is needed; the password, chosen by a person, gets scrypt.
 * The CLI and a running `serve` share the file: writes are atomic (rename) under a lock file, and
 * `serve` re-reads it when it changes, so a revoked token stops working at once.
 */
import { createHash, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { ROLES, type Role } from "./roles.ts";

export type CredentialKind = "token" | "pairing" | "session";

export interface Credential {
  id: string;
  kind: CredentialKind;
  role: Role;
  label: string;
  /** ISO dates. */
  created: string;
  expires: string | null;
  /** The token or pairing code a session came from: revoking that revokes the session. */
  parent: string | null;
}

/** A credential just made: its secret is shown once and never stored. */
export interface NewCredential {
  credential: Credential;
  secret: string;
}

/** The store file cannot be used (unreadable, corrupt). */
export class CredentialStoreError extends Error {
  override readonly name = "CredentialStoreError";
}

const PREFIX: Record<CredentialKind, string> = { token: "drtc_", pairing: "drtcp_", session: "drtcs_" };
/** Browser sessions last this long at most (or until their token expires or is revoked). */
export const SESSION_LIFETIME_MS = 180 * 24 * 3600 * 1000;
/** A pairing code printed by `serve`: one browser, within this time. */
export const PAIRING_LIFETIME_MS = 60 * 60 * 1000;

const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

const storedCredential = z.object({
  id: z.string(),
  kind: z.enum(["token", "pairing", "session"]),
  role: z.enum(ROLES),
  label: z.string(),
  created: z.string(),
  expires: z.string().nullable(),
  parent: z.string().nullable(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
const storeFile = z.object({
  version: z.literal(1),
  password: z
    .object({ salt: z.string(), hash: z.string(), N: z.number(), r: z.number(), p: z.number() })
    .nullable(),
  credentials: z.array(storedCredential),
});
type StoreData = z.infer<typeof storeFile>;
type Stored = z.infer<typeof storedCredential>;

function sha256(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

function expired(credential: { expires: string | null }, now: number): boolean {
  return credential.expires !== null && Date.parse(credential.expires) <= now;
}

export class CredentialStore {
  readonly file: string;
  #data: StoreData;
  #byHash = new Map<string, Stored>();
  #stamp = "";
  #generation = 0;

  private constructor(file: string, data: StoreData) {
    this.file = file;
    this.#data = data;
    this.#index();
  }

  /** Opens the store, creating an empty one (and its 0700 directory) if there is none. */
  static open(file: string): CredentialStore {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      chmodSync(dirname(file), 0o700);
      const store = new CredentialStore(file, { version: 1, password: null, credentials: [] });
      store.#update(() => {});
      return store;
    }
    const store = new CredentialStore(file, CredentialStore.#read(file));
    store.#stamp = stampOf(file);
    return store;
  }

  /** Whether the file exists (a first run has not happened yet otherwise). */
  static exists(file: string): boolean {
    return existsSync(file);
  }

  static #read(file: string): StoreData {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new CredentialStoreError(
        `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CredentialStoreError(`${file} is not JSON`);
    }
    const parsed = storeFile.safeParse(json);
    if (!parsed.success) {
      throw new CredentialStoreError(
        `${file} is not a device-rtc credential store: ${parsed.error.issues[0]?.message}`,
      );
    }
    return parsed.data;
  }

  /** Re-reads the file if another process changed it; true when it did. */
  reload(): boolean {
    const stamp = stampOf(this.file);
    if (stamp === this.#stamp) return false;
    this.#data = CredentialStore.#read(this.file);
    this.#stamp = stamp;
    this.#index();
    return true;
  }

  get hasPassword(): boolean {
    return this.#data.password !== null;
  }

  /** Every credential (without hashes), oldest first. */
  list(): Credential[] {
    return this.#data.credentials.map(publicView);
  }

  /** Makes a token, a pairing code or a session. `expiresInMs` null: never expires. */
  create(options: {
    kind: CredentialKind;
    role: Role;
    label?: string;
    expiresInMs?: number | null;
    parent?: string | null;
  }): NewCredential {
    const secret = PREFIX[options.kind] + randomBytes(32).toString("base64url");
    const now = Date.now();
    const stored: Stored = {
      id: randomBytes(4).toString("hex"),
      kind: options.kind,
      role: options.role,
      label: (options.label ?? "").slice(0, 100),
      created: new Date(now).toISOString(),
      expires:
        options.expiresInMs === null || options.expiresInMs === undefined
          ? null
          : new Date(now + options.expiresInMs).toISOString(),
      parent: options.parent ?? null,
      hash: sha256(secret),
    };
    this.#update((data) => {
      data.credentials.push(stored);
    });
    return { credential: publicView(stored), secret };
  }

  /**
   * The live credential a secret belongs to, if it is of one of `kinds`: not expired, and (for a
   * session) its parent token not revoked.
   */
  verify(secret: string, kinds: readonly CredentialKind[]): Credential | undefined {
    if (secret.length > 200) return undefined;
    const stored = this.#byHash.get(sha256(secret));
    if (!stored || !kinds.includes(stored.kind) || !this.isValid(stored.id)) return undefined;
    return publicView(stored);
  }

  /** Whether a credential id still stands (exists, not expired, its parent too). */
  isValid(id: string, now = Date.now()): boolean {
    const stored = this.#data.credentials.find((credential) => credential.id === id);
    if (!stored || expired(stored, now)) return false;
    if (stored.parent === null) return true;
    const parent = this.#data.credentials.find((credential) => credential.id === stored.parent);
    return parent !== undefined && !expired(parent, now);
  }

  /**
   * Logs a browser in with a pairing code (consumed) or a token (it stays; the session ends with it).
   * Returns the new session and its secret (the cookie value).
   */
  pair(secret: string, label: string): NewCredential | undefined {
    const source = this.verify(secret, ["pairing", "token"]);
    if (!source) return undefined;
    const now = Date.now();
    const until = source.kind === "token" && source.expires ? Date.parse(source.expires) - now : Infinity;
    const session = this.#newSession(
      source.role,
      `${source.kind === "pairing" ? "paired" : "token"} ${label}`,
      {
        expiresInMs: Math.min(SESSION_LIFETIME_MS, until),
        parent: source.kind === "token" ? source.id : null,
      },
    );
    if (source.kind === "pairing") this.revoke(source.id);
    return session;
  }

  /** Logs a browser in as admin with the owner password. */
  login(password: string, label: string): NewCredential | undefined {
    const stored = this.#data.password;
    if (!stored || password.length > 1024) return undefined;
    const hash = scryptSync(password, Buffer.from(stored.salt, "base64"), 32, {
      N: stored.N,
      r: stored.r,
      p: stored.p,
      maxmem: SCRYPT.maxmem,
    });
    if (!timingSafeEqual(hash, Buffer.from(stored.hash, "base64"))) return undefined;
    return this.#newSession("admin", `password ${label}`, { expiresInMs: SESSION_LIFETIME_MS, parent: null });
  }

  #newSession(
    role: Role,
    label: string,
    options: { expiresInMs: number; parent: string | null },
  ): NewCredential {
    return this.create({ kind: "session", role, label, ...options });
  }

  /** Sets (or replaces) the owner password. */
  setPassword(password: string): void {
    const salt = randomBytes(16);
    const hash = scryptSync(password, salt, 32, SCRYPT);
    this.#update((data) => {
      data.password = {
        salt: salt.toString("base64"),
        hash: hash.toString("base64"),
        N: SCRYPT.N,
        r: SCRYPT.r,
        p: SCRYPT.p,
      };
    });
  }

  /**
   * Removes credentials by id (or "all" of a kind list), with the sessions made from them. Returns the
   * ids removed.
   */
  revoke(id: string): string[] {
    const removed: string[] = [];
    this.#update((data) => {
      const gone = new Set<string>();
      for (const credential of data.credentials) {
        if (credential.id === id || (id === "all" && credential.kind !== "pairing")) gone.add(credential.id);
      }
      for (const credential of data.credentials) {
        if (credential.parent !== null && gone.has(credential.parent) && credential.kind === "session")
          gone.add(credential.id);
      }
      data.credentials = data.credentials.filter((credential) => !gone.has(credential.id));
      removed.push(...gone);
    });
    return removed;
  }

  /** Drops expired credentials from the file. */
  prune(now = Date.now()): void {
    if (!this.#data.credentials.some((credential) => expired(credential, now))) return;
    this.#update((data) => {
      data.credentials = data.credentials.filter((credential) => !expired(credential, now));
    });
  }

  /** Grows with every change, made here or read from the file. */
  get generation(): number {
    return this.#generation;
  }

  #index(): void {
    this.#generation++;
    this.#byHash = new Map(this.#data.credentials.map((credential) => [credential.hash, credential]));
  }

  /** Read-modify-write under the lock: the latest file, changed, written atomically. */
  #update(change: (data: StoreData) => void): void {
    withLock(`${this.file}.lock`, () => {
      const data = existsSync(this.file) ? CredentialStore.#read(this.file) : this.#data;
      change(data);
      const temporary = `${this.file}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
      chmodSync(temporary, 0o600);
      renameSync(temporary, this.file);
      this.#data = data;
      this.#stamp = stampOf(this.file);
      this.#index();
    });
  }
}

function publicView(stored: Stored): Credential {
  const { hash: _hash, ...rest } = stored;
  return rest;
}

function stampOf(file: string): string {
  try {
    const stat = statSync(file);
    return `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
  } catch {
    return "";
  }
}

/** An exclusive lock file (O_EXCL); a lock older than 10 s is taken as left by a crashed process. */
function withLock(lock: string, body: () => void): void {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) unlinkSync(lock);
      } catch {
        // gone meanwhile
      }
      if (Date.now() > deadline) throw new CredentialStoreError(`${lock} is held by another process`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    body();
  } finally {
    unlinkSync(lock);
  }
}
