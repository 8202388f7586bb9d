/**
 * A private PulseAudio server for tests: one null sink called "speaker", whose monitor is a
 * microphone that hears exactly what the speaker plays — an acoustic echo path with no room.
 */
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startChild } from "./processes.ts";

export async function startPulseAudio(): Promise<{ server: string }> {
  const dir = mkdtempSync(join(tmpdir(), "device-rtc-pulse-"));
  const socket = join(dir, "native");
  const config = join(dir, "default.pa");
  writeFileSync(
    config,
    [
      `load-module module-native-protocol-unix socket=${socket} auth-anonymous=1`,
      "load-module module-null-sink sink_name=speaker rate=48000",
    ].join("\n"),
  );
  startChild(
    "pulseaudio",
    ["-n", "-F", config, "--exit-idle-time=-1", "--daemonize=no", "--use-pid-file=no", "--disallow-exit"],
    {
      HOME: dir,
      XDG_RUNTIME_DIR: dir,
    },
  );
  // Ready once its socket exists.
  for (let i = 0; !existsSync(socket); i++) {
    if (i > 100) throw new Error("PulseAudio did not start");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { server: `unix:${socket}` };
}
