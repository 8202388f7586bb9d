/** The flags of every signalling limit, shared by `signalling` and `serve` (docs/SECURITY.md "Limits"). */
import { type Command, Option } from "commander";
import { DEFAULT_ROUTER_LIMITS } from "../signalling/SignallingRouter.ts";
import { DEFAULT_SEND_BACKLOG_BYTES, type SignallingServerOptions } from "../signalling/SignallingServer.ts";
import { integerOption } from "./lifecycle.ts";

export interface LimitFlags {
  maxPeers?: number;
  maxConnectionsPerAddress: number;
  maxConnectionsPerCredential: number;
  maxSessionsPerPeer: number;
  maxSessionsPerCredential: number;
  maxSendingPerPeer: number;
  maxSendingPerCredential: number;
  maxMetaBytes: number;
  maxStatusChanges: number;
  maxSendBacklogBytes: number;
}

export function addLimitOptions(command: Command, defaults: { maxPeers?: number } = {}): Command {
  const d = DEFAULT_ROUTER_LIMITS;
  const maxPeers = new Option("--max-peers <N>", "refuse connections beyond this many peers").argParser(
    integerOption(1),
  );
  if (defaults.maxPeers !== undefined) maxPeers.default(defaults.maxPeers);
  return command
    .addOption(maxPeers)
    .option(
      "--max-connections-per-address <N>",
      "refuse connections from one IP address beyond this (HTTP 429)",
      integerOption(1),
      64,
    )
    .option(
      "--max-connections-per-credential <N>",
      "refuse connections of one token or browser session beyond this (HTTP 429)",
      integerOption(1),
      32,
    )
    .option(
      "--max-sessions-per-peer <N>",
      "sessions one connection may have started and still open",
      integerOption(1),
      d.sessionsPerPeer,
    )
    .option(
      "--max-sessions-per-credential <N>",
      "sessions all connections of one credential may have open",
      integerOption(1),
      d.sessionsPerCredential,
    )
    .option(
      "--max-sending-per-peer <N>",
      "sessions in which one connection sends media to a passive consumer (the device)",
      integerOption(1),
      d.sendingPerPeer,
    )
    .option(
      "--max-sending-per-credential <N>",
      "the same for all connections of one credential",
      integerOption(1),
      d.sendingPerCredential,
    )
    .option("--max-meta-bytes <BYTES>", "largest meta a peer may register", integerOption(2), d.metaBytes)
    .option(
      "--max-status-changes <N>",
      `status changes of one peer broadcast per ${d.statusWindowMs / 1000} s (more are dropped)`,
      integerOption(1),
      d.statusChanges,
    )
    .option(
      "--max-send-backlog-bytes <BYTES>",
      "bytes waiting for a peer that does not read before it is disconnected",
      integerOption(64 * 1024),
      DEFAULT_SEND_BACKLOG_BYTES,
    );
}

export function limitsFrom(flags: LimitFlags): SignallingServerOptions {
  return {
    maxPeers: flags.maxPeers,
    maxConnectionsPerAddress: flags.maxConnectionsPerAddress,
    maxConnectionsPerCredential: flags.maxConnectionsPerCredential,
    sendBufferLimit: flags.maxSendBacklogBytes,
    limits: {
      sessionsPerPeer: flags.maxSessionsPerPeer,
      sessionsPerCredential: flags.maxSessionsPerCredential,
      sendingPerPeer: flags.maxSendingPerPeer,
      sendingPerCredential: flags.maxSendingPerCredential,
      metaBytes: flags.maxMetaBytes,
      statusChanges: flags.maxStatusChanges,
    },
  };
}
