/** `device-rtc signalling`: a drop-in replacement for gst-webrtc-signalling-server (same flags). */
import { Command, Option } from "commander";
import { createLogger } from "../common/logger.ts";
import { SignallingServer } from "../signalling/SignallingServer.ts";
import { loadTlsCredentials } from "../signalling/tls.ts";
import { exitOnSignal, integerOption, UsageError } from "./lifecycle.ts";

interface SignallingFlags {
  host: string;
  port: number;
  cert?: string;
  key?: string;
  certPassword?: string;
  maxPeers?: number;
  maxMessageSize: number;
  pingInterval: number;
  pongTimeout: number;
}

export function signallingCommand(): Command {
  return new Command("signalling")
    .description(
      "Run the WebRTC signalling server: a drop-in replacement for gst-webrtc-signalling-server " +
        "(webrtcsink, webrtcsrc and gstwebrtc-api connect to it unchanged).",
    )
    .option("--host <ADDR>", "address to listen on", "0.0.0.0")
    .option("-p, --port <PORT>", "port to listen on", integerOption(0, 65535), 8443)
    .option("-c, --cert <FILE>", "TLS certificate chain (PEM), or a PKCS#12 bundle when no --key is given")
    .option("-k, --key <FILE>", "TLS private key (PEM)")
    .option("--cert-password <PW>", "password of the PKCS#12 bundle given with --cert")
    .addOption(
      new Option("--max-peers <N>", "refuse connections beyond this many peers").argParser(integerOption(1)),
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
    )
    .addHelpText(
      "after",
      `
TLS: with --cert and --key (PEM) the server speaks wss://, as gst-webrtc-signalling-server 0.14.2 and
later; with --cert alone (PKCS#12) and --cert-password, as releases up to 0.14.1. A certificate that
cannot be loaded is an error (exit 1), never a fallback to plain ws://.

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
  const server = await SignallingServer.listen({
    host: flags.host,
    port: flags.port,
    tls,
    maxPeers: flags.maxPeers,
    maxMessageBytes: flags.maxMessageSize,
    pingIntervalMs: flags.pingInterval * 1000,
    pongTimeoutMs: flags.pongTimeout * 1000,
    logger: log,
  });
  exitOnSignal(log, () => server.close());
}
