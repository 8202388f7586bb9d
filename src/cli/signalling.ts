/** `device-rtc signalling`: a drop-in replacement for gst-webrtc-signalling-server (same flags). */

import type { IncomingMessage } from "node:http";
import { Command } from "commander";
import { Authenticator } from "../auth/Authenticator.ts";
import { CredentialStore } from "../auth/CredentialStore.ts";
import { watchRevocations } from "../auth/revocation.ts";
import { createLogger } from "../common/logger.ts";
import { SignallingServer, type UpgradeDecision } from "../signalling/SignallingServer.ts";
import { loadTlsCredentials } from "../signalling/tls.ts";
import { exitOnSignal, integerOption, UsageError } from "./lifecycle.ts";
import { addLimitOptions, type LimitFlags, limitsFrom } from "./limits.ts";
import { addListenOptions, type ListenFlags } from "./listen.ts";

interface SignallingFlags extends LimitFlags, ListenFlags {
  authTokenFile?: string;
  cert?: string;
  key?: string;
  certPassword?: string;
  maxMessageSize: number;
  pingInterval: number;
  pongTimeout: number;
}

export function signallingCommand(): Command {
  const command = new Command("signalling").description(
    "Run the WebRTC signalling server: a drop-in replacement for gst-webrtc-signalling-server " +
      "(webrtcsink, webrtcsrc and gstwebrtc-api connect to it unchanged).",
  );
  addListenOptions(command, "port to listen on")
    .option("-c, --cert <FILE>", "TLS certificate chain (PEM), or a PKCS#12 bundle when no --key is given")
    .option("-k, --key <FILE>", "TLS private key (PEM)")
    .option("--cert-password <PW>", "password of the PKCS#12 bundle given with --cert")
    .option(
      "--auth-token-file <FILE>",
      "require Authorization: Bearer <token> on every connection, tokens from this credential store (device-rtc token create --file FILE)",
    )
    .option(
      "--max-message-size <BYTES>",
      "largest accepted message; a larger one closes that connection (1009)",
      integerOption(1024),
      1024 * 1024,
    )
    .option("--ping-interval <SECONDS>", "ping every peer this often", integerOption(1), 30)
    .option(
      "--pong-timeout <SECONDS>",
      "drop a peer that has not answered a ping within this time",
      integerOption(1),
      15,
    );
  addLimitOptions(command);
  return command
    .addHelpText(
      "after",
      `
TLS: with --cert and --key (PEM) the server speaks wss://, as gst-webrtc-signalling-server 0.14.2 and
later; with --cert alone (PKCS#12) and --cert-password, as releases up to 0.14.1. A certificate that
cannot be loaded is an error (exit 1), never a fallback to plain ws://.

Authentication: none by default (a drop-in replacement). With --auth-token-file FILE every connection
must send Authorization: Bearer <token> with a live token of that file (webrtcsink/webrtcsrc: the
signaller's headers); create tokens with device-rtc token create --file FILE. See docs/SECURITY.md.

Logging: JSON lines on stderr; LOG_LEVEL (trace, debug, info, warn, error) or the Rust server's
WEBRTCSINK_SIGNALLING_SERVER_LOG sets the level. Messages and SDPs are logged at debug only.

Examples:
  device-rtc signalling
  device-rtc signalling -p 8443 --cert server.crt --key server.key
  device-rtc signalling --cert server.p12 --cert-password secret`,
    )
    .action(async (flags: SignallingFlags) => runSignalling(flags));
}

async function runSignalling(flags: SignallingFlags): Promise<void> {
  const log = createLogger("signalling");
  if (flags.key !== undefined && flags.cert === undefined) throw new UsageError("--key needs --cert");
  if (flags.certPassword !== undefined && flags.key !== undefined) {
    throw new UsageError(
      "--cert-password is for a PKCS#12 --cert; a PEM --cert with --key takes no password",
    );
  }
  const tls =
    flags.cert === undefined
      ? undefined
      : loadTlsCredentials({ cert: flags.cert, key: flags.key, certPassword: flags.certPassword });
  let authenticate: ((request: IncomingMessage) => UpgradeDecision) | undefined;
  let store: CredentialStore | undefined;
  if (flags.authTokenFile !== undefined) {
    if (!CredentialStore.exists(flags.authTokenFile)) {
      throw new UsageError(
        `no credential store at ${flags.authTokenFile} (create a token: device-rtc token create --file ${flags.authTokenFile})`,
      );
    }
    store = CredentialStore.open(flags.authTokenFile);
    const auth = new Authenticator({
      store,
      secure: tls !== undefined,
      checkOrigin: false,
    });
    // Bearer tokens only: this server has no pages to log a browser in.
    authenticate = (request) =>
      request.headers.authorization === undefined
        ? { ok: false, status: 401, reason: "Authorization: Bearer <token> required" }
        : auth.upgrade(request);
  }
  const server = await SignallingServer.create({
    host: flags.host,
    port: flags.port,
    tls,
    ...limitsFrom(flags),
    authenticate,
    maxMessageBytes: flags.maxMessageSize,
    pingIntervalMs: flags.pingInterval * 1000,
    pongTimeoutMs: flags.pongTimeout * 1000,
    logger: log,
  });
  // A revoked or expired token's connections end at once.
  const stopWatching = store ? watchRevocations(store, server, log) : () => {};
  exitOnSignal(log, () => {
    stopWatching();
    return server.close();
  });
}
