/** Where device-rtc keeps its data by default. */
import { homedir } from "node:os";
import { join } from "node:path";

/** `$XDG_DATA_HOME/device-rtc`, or `~/.local/share/device-rtc` (the XDG Base Directory default). */
export function defaultDataDir(): string {
  const base = process.env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "device-rtc");
}

/** The credential store of a data directory (tokens, pairing codes, browser sessions, password). */
export function credentialStorePath(dataDir: string): string {
  return join(dataDir, "auth", "credentials.json");
}
