/**
 * `--host` and `--port`, shared by `serve` and `signalling`: where the server listens. `-p` is
 * gst-webrtc-signalling-server's short flag, so the drop-in `signalling` keeps it, and `serve` has it too.
 */
import type { Command } from "commander";
import { integerOption } from "./lifecycle.ts";

export interface ListenFlags {
  host: string;
  port: number;
}

/** Adds `--host` (default all addresses) and `-p, --port` (default 8443) with `portHelp` as its help. */
export function addListenOptions(command: Command, portHelp: string): Command {
  return command
    .option("--host <ADDR>", "address to listen on", "0.0.0.0")
    .option("-p, --port <PORT>", portHelp, integerOption(0, 65535), 8443);
}
