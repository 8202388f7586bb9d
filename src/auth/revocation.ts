/**
 * Ends the connections of credentials that stopped standing: revoked (`device-rtc token revoke`, a
 * logout), or expired. The store file is checked every `intervalMs` (a change is seen at once) and every
 * live connection re-checked every 30 intervals (expiry).
 */
import type { Logger } from "../common/logger.ts";
import type { SignallingServer } from "../signalling/SignallingServer.ts";
import { DEVICE_CREDENTIAL_ID } from "./Authenticator.ts";
import type { CredentialStore } from "./CredentialStore.ts";

export function watchRevocations(
  store: CredentialStore,
  signalling: SignallingServer,
  log: Logger,
  intervalMs = 2000,
): () => void {
  let ticks = 0;
  let seen = store.generation;
  const check = () => {
    try {
      store.reload();
      const changed = store.generation !== seen;
      seen = store.generation;
      if (!changed && ++ticks % 30 !== 0) return;
      signalling.disconnectWhere(
        (identity) =>
          identity.credentialId !== undefined &&
          identity.credentialId !== DEVICE_CREDENTIAL_ID &&
          !store.isValid(identity.credentialId),
      );
    } catch (error) {
      log.error({ err: (error as Error).message }, "cannot read the credential store");
    }
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
