/**
 * Time-limited TURN credentials: the "TURN REST API" (draft-uberti-behave-turn-rest-00 §2.2), which
 * coturn implements as `use-auth-secret` with `static-auth-secret` (coturn README.turnserver, "TURN
 * REST API"). The device and the TURN server share a secret; nobody else ever sees it:
 *
 *   username   = "<expiry, Unix seconds>:<label>"
 *   credential = base64(HMAC-SHA1(key = secret, message = username))
 *
 * The TURN server recomputes the credential from the username and refuses a username whose expiry has
 * passed. It checks that when an allocation is made, not later: a call that started in time goes on
 * past the expiry (coturn issues 774, 1204), so the lifetime bounds how long a leaked credential can
 * open new relays, not how long a call may last.
 */
import { createHmac } from "node:crypto";

export interface TurnRestSettings {
  /** The TURN server's `static-auth-secret`. Never logged, never sent to a browser. */
  secret: string;
  /** How long a minted credential opens new relays, s (`--turn-credential-ttl`). */
  ttlSeconds: number;
}

export interface TurnCredentials {
  username: string;
  credential: string;
  /** When the TURN server stops accepting it, Unix seconds (also the username's first part). */
  expires: number;
}

/**
 * The label is who the credential is for (the TURN server logs it, and counts `user-quota` per label);
 * coturn splits the username at the first `:` (its default `rest-api-separator`). Kept to letters,
 * digits, `.`, `_` and `-`: never a separator, nothing SASLprep/OpaqueString (RFC 8265) would change,
 * nothing a TURN server's log or database would need to escape.
 */
const LABEL_MAX_LENGTH = 64;
/** For a label with nothing usable left (the draft allows the timestamp alone; a name is more useful). */
const LABEL_FALLBACK = "peer";

/** A label fit for a TURN username: see {@link LABEL_MAX_LENGTH}. */
export function turnLabel(text: string): string {
  const safe = text
    .normalize("NFKC")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^[-.]+/, "")
    .slice(0, LABEL_MAX_LENGTH)
    .replace(/-+$/, "");
  return safe === "" ? LABEL_FALLBACK : safe;
}

/** Credentials for `label` that the TURN server accepts until `now` + the lifetime. */
export function mintTurnCredentials(
  settings: TurnRestSettings,
  label: string,
  now: number = Date.now(),
): TurnCredentials {
  const expires = Math.floor(now / 1000) + settings.ttlSeconds;
  const username = `${expires}:${turnLabel(label)}`;
  const credential = createHmac("sha1", settings.secret).update(username).digest("base64");
  return { username, credential, expires };
}
