/**
 * Who is asking: from an HTTP request (a page load, an API call or a WebSocket upgrade) to an identity.
 * - Browsers: the session cookie (HttpOnly, Secure, SameSite=Strict) that pairing or a password login
 *   set, plus an `Origin` equal to the page's own origin, so no other web site can drive the signalling
 *   from a visitor's browser (cross-site WebSocket hijacking).
 * - GStreamer clients and scripts: `Authorization: Bearer <token>`; they send no Origin. A request
 *   that does carry an Origin must match it, whatever the credential.
 * - The device of `serve`: a bearer secret made at each start and kept in memory only.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { parse as parseCookie, serialize as serializeCookie } from "cookie";
import type { UpgradeDecision } from "../signalling/SignallingServer.ts";
import type { Credential, CredentialStore, NewCredential } from "./CredentialStore.ts";
import type { Identity } from "./roles.ts";

export interface AuthenticatorOptions {
  store: CredentialStore;
  /** Whether the server speaks TLS: the cookie is then `Secure` and `__Host-` prefixed. */
  secure: boolean;
  /** Accept the in-process device's secret (serve); none for the standalone server. */
  deviceSecret?: string | undefined;
  /** Check the Origin of browser requests (serve); the standalone server has no pages of its own. */
  checkOrigin?: boolean;
}

export const DEVICE_CREDENTIAL_ID = "device";

/** A random secret for the in-process device, never written anywhere. */
export function newDeviceSecret(): string {
  return `drtcd_${randomBytes(32).toString("base64url")}`;
}

export class Authenticator {
  readonly store: CredentialStore;
  readonly cookieName: string;
  readonly #secure: boolean;
  readonly #deviceSecret: Buffer | undefined;
  readonly #checkOrigin: boolean;

  constructor(options: AuthenticatorOptions) {
    this.store = options.store;
    this.#secure = options.secure;
    this.cookieName = options.secure ? "__Host-device-rtc" : "device-rtc";
    this.#deviceSecret = options.deviceSecret === undefined ? undefined : Buffer.from(options.deviceSecret);
    this.#checkOrigin = options.checkOrigin ?? true;
  }

  /** The decision for a WebSocket upgrade. */
  upgrade(request: IncomingMessage): UpgradeDecision {
    const origin = this.#originProblem(request);
    if (origin) return { ok: false, status: 403, reason: origin };
    const bearer = bearerOf(request);
    if (bearer !== undefined) {
      if (this.#isDevice(bearer))
        return { ok: true, identity: { credentialId: DEVICE_CREDENTIAL_ID, role: "device" } };
      const token = this.#verify(bearer, ["token"]);
      if (!token) return { ok: false, status: 401, reason: "invalid, expired or revoked token" };
      return { ok: true, identity: identityOf(token) };
    }
    const session = this.session(request);
    if (session) return { ok: true, identity: identityOf(session) };
    return {
      ok: false,
      status: 401,
      reason: "a credential is required: pair this browser, log in, or send Authorization: Bearer <token>",
    };
  }

  /** The browser session of a request (cookie), or a bearer token; undefined when neither is valid. */
  session(request: IncomingMessage): Credential | undefined {
    const bearer = bearerOf(request);
    if (bearer !== undefined) return this.#verify(bearer, ["token"]);
    const value = this.#cookie(request);
    return value === undefined ? undefined : this.#verify(value, ["session"]);
  }

  /** Why a request's Origin is refused, or undefined (absent, or the page's own origin). */
  originProblem(request: IncomingMessage): string | undefined {
    return this.#originProblem(request);
  }

  /** The `Set-Cookie` value that logs a browser into `session`. */
  sessionCookie(session: NewCredential): string {
    const expires = session.credential.expires;
    const maxAge = expires ? Math.max(0, Math.floor((Date.parse(expires) - Date.now()) / 1000)) : undefined;
    return serializeCookie(this.cookieName, session.secret, {
      httpOnly: true,
      secure: this.#secure,
      sameSite: "strict",
      path: "/",
      maxAge,
    });
  }

  /** The `Set-Cookie` value that logs a browser out. */
  clearedCookie(): string {
    return serializeCookie(this.cookieName, "", {
      httpOnly: true,
      secure: this.#secure,
      sameSite: "strict",
      path: "/",
      maxAge: 0,
    });
  }

  /** The raw cookie value (to revoke the session at logout). */
  cookieValue(request: IncomingMessage): string | undefined {
    return this.#cookie(request);
  }

  #verify(secret: string, kinds: Parameters<CredentialStore["verify"]>[1]): Credential | undefined {
    this.store.reload();
    return this.store.verify(secret, kinds);
  }

  #cookie(request: IncomingMessage): string | undefined {
    const header = request.headers.cookie;
    if (!header || header.length > 8192) return undefined;
    return parseCookie(header)[this.cookieName];
  }

  #isDevice(bearer: string): boolean {
    if (!this.#deviceSecret) return false;
    const given = Buffer.from(bearer);
    return given.length === this.#deviceSecret.length && timingSafeEqual(given, this.#deviceSecret);
  }

  #originProblem(request: IncomingMessage): string | undefined {
    if (!this.#checkOrigin) return undefined;
    return originProblemOf(request, this.#secure);
  }
}

/**
 * Why a request's `Origin` is not the page's own (`http(s)://<Host>`), or undefined when it is, or when
 * there is none (a script or GStreamer client).
 */
export function originProblemOf(request: IncomingMessage, secure: boolean): string | undefined {
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  const host = request.headers.host;
  const expected = host === undefined ? undefined : `${secure ? "https" : "http"}://${host.toLowerCase()}`;
  if (origin.toLowerCase() !== expected)
    return `cross-origin request refused (Origin ${origin.slice(0, 100)})`;
  return undefined;
}

function bearerOf(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? "";
}

function identityOf(credential: Credential): Identity {
  return {
    credentialId: credential.id,
    role: credential.role,
    limitGroup: credential.parent ?? credential.id,
  };
}
