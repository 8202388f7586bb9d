/**
 * `device-rtc serve`: everything on one port — the web app over HTTPS, the signalling server over WSS
 * (a WebSocket upgrade on any path), and the device agent in the same process, connected to it.
 * The first run creates the certificate authority in the data directory.
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { createLogger, type Logger } from "../common/logger.ts";
import { Device } from "../device/Device.ts";
import { defaultServerNames, ensurePki, lanAddresses } from "../pki/PkiStore.ts";
import { SignallingServer } from "../signalling/SignallingServer.ts";
import { loadTlsCredentials } from "../signalling/tls.ts";
import { AppServer } from "../web/AppServer.ts";
import { addDeviceOptions, type DeviceFlags, deviceOptionsFrom } from "./device.ts";
import { exitOnSignal, integerOption } from "./lifecycle.ts";
import { defaultDataDir } from "./paths.ts";

interface ServeFlags extends DeviceFlags {
  host: string;
  port: number;
  dataDir: string;
  tls: boolean;
}

const WEB_ROOT = fileURLToPath(new URL("../../dist/web", import.meta.url));

export function serveCommand(): Command {
  const command = new Command("serve")
    .description(
      "Run everything: the web app (HTTPS), the signalling server (WSS, same port) and the device. " +
        "Open the printed address on a phone or computer to see, hear and talk to this device.",
    )
    .option("--host <ADDR>", "address to listen on", "0.0.0.0")
    .option("--port <PORT>", "port for the web app and signalling", integerOption(0, 65535), 8443)
    .option("--data-dir <DIR>", "where the certificate authority and recordings live", defaultDataDir())
    .option(
      "--no-tls",
      "plain HTTP and WS (browsers then refuse the microphone and camera except on localhost)",
    );
  addDeviceOptions(command);
  // Recordings go to <data-dir>/recordings unless --record-dir (or its config key) says otherwise.
  command.options
    .find((option) => option.long === "--record-dir")
    ?.default(undefined, "<data-dir>/recordings");
  command.setOptionValueWithSource("recordDir", undefined, "default");
  return command
    .addHelpText(
      "after",
      `
Examples:
  device-rtc serve
  device-rtc serve --video camera:/dev/video0 --audio mic:sysdefault:CARD=Device --incoming-video echo
  device-rtc serve --port 9443 --codec h264 --incoming-video record,echo`,
    )
    .action(async (flags: ServeFlags) => {
      const log = createLogger("serve");
      flags.recordDir ??= join(flags.dataDir, "recordings");
      const stop = await runServe(flags, log);
      exitOnSignal(log, stop);
    });
}

async function runServe(flags: ServeFlags, log: Logger): Promise<() => Promise<void>> {
  const deviceOptions = deviceOptionsFrom(flags, log);
  let tls: ReturnType<typeof loadTlsCredentials> | undefined;
  let caCertificate: string | undefined;
  let caFile: string | undefined;
  if (flags.tls) {
    const { paths, created, reissued } = ensurePki(join(flags.dataDir, "pki"), defaultServerNames());
    if (created) log.info({ dir: paths.dir }, "created the certificate authority");
    if (reissued)
      log.info(
        { certificate: paths.server.certificate },
        "issued a new server certificate for this machine's names",
      );
    tls = loadTlsCredentials({ cert: paths.server.chain, key: paths.server.key });
    caCertificate = readFileSync(paths.caCertificate, "utf8");
    caFile = paths.caCertificate;
  }
  await ensureWebApp(log);

  const signalling = new SignallingServer({ logger: log.child({ component: "signalling" }) });
  const app = await AppServer.start({
    host: flags.host,
    port: flags.port,
    tls,
    webRoot: WEB_ROOT,
    config: { deviceName: deviceOptions.name },
    caCertificate,
    signalling,
    logger: log,
  });
  const scheme = app.secure ? "https" : "http";
  const local = `${app.secure ? "wss" : "ws"}://127.0.0.1:${app.port}`;
  let device: Device;
  try {
    device = await Device.create({ ...deviceOptions, server: local, ca: caCertificate });
  } catch (error) {
    await Promise.all([app.close(), signalling.close()]);
    throw error;
  }

  const hosts = [
    `${hostname()}.local`,
    ...lanAddresses().map((a) => (a.includes(":") ? `[${a}]` : a)),
    "127.0.0.1",
  ];
  const lines = [
    "",
    `device-rtc is serving "${deviceOptions.name}". Open one of these on a phone or computer on this network:`,
    ...hosts.map((host) => `  ${scheme}://${host}:${app.port}/`),
    "",
    ...(caFile
      ? [
          "The first time, make the browser trust device-rtc's certificate authority (see docs/TRUSTING-THE-CA.md):",
          `  ${caFile}  (also at ${scheme}://${hosts[0]}:${app.port}/ca.crt)`,
          "",
        ]
      : ["Plain HTTP: browsers allow the microphone and camera only on http://localhost.", ""]),
    `GStreamer clients: signalling at ${app.secure ? "wss" : "ws"}://<address>:${app.port}`,
    "",
  ];
  process.stdout.write(lines.join("\n"));
  log.info({ port: app.port, tls: app.secure }, `serving on ${scheme}://0.0.0.0:${app.port}`);

  return async () => {
    await device.close();
    await Promise.all([signalling.close(), app.close()]);
  };
}

/** The built web app; built now (with Vite) if this checkout has not built it yet. */
async function ensureWebApp(log: Logger): Promise<void> {
  if (existsSync(join(WEB_ROOT, "index.html"))) return;
  log.info("building the web app (once)");
  const { build } = await import("vite");
  await build({
    configFile: resolve(fileURLToPath(new URL("../../vite.config.ts", import.meta.url))),
    logLevel: "warn",
  });
}
