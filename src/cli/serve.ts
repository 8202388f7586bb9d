/**
 * `device-rtc serve`: everything on one port — the web app over HTTPS, the signalling server over WSS
 * (a WebSocket upgrade on any path), and the device agent in the same process, connected to it.
 * The first run creates the certificate authority and the credential store in the data directory, and
 * prints a pairing link (with its QR code) and the owner password. Every connection needs a credential
 * unless `--open` is given (docs/SECURITY.md).
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { apiListener, createApiApp } from "../api/ApiApp.ts";
import { versions } from "../api/versions.ts";
import { Authenticator, newDeviceSecret } from "../auth/Authenticator.ts";
import { CredentialStore, PAIRING_LIFETIME_MS } from "../auth/CredentialStore.ts";
import { newPassword, pairingUrl, terminalQr } from "../auth/pairing.ts";
import { watchRevocations } from "../auth/revocation.ts";
import { createLogger, type Logger } from "../common/logger.ts";
import { Device } from "../device/Device.ts";
import { iceServersFor } from "../device/webrtc.ts";
import { Recordings } from "../media/Recordings.ts";
import { defaultServerNames, ensurePki, lanAddresses } from "../pki/PkiStore.ts";
import { DevicePolicy } from "../signalling/AccessPolicy.ts";
import { SignallingServer } from "../signalling/SignallingServer.ts";
import { loadTlsCredentials } from "../signalling/tls.ts";
import { AppServer, DEFAULT_FAILED_LOGINS_PER_MINUTE } from "../web/AppServer.ts";
import { addDeviceOptions, type DeviceFlags, deviceOptionsFrom } from "./device.ts";
import { exitOnSignal, integerOption, openOrUndo } from "./lifecycle.ts";
import { addLimitOptions, type LimitFlags, limitsFrom } from "./limits.ts";
import { addListenOptions, type ListenFlags } from "./listen.ts";
import { addMetricsOptions, type MetricsFlags, startMetrics } from "./metrics.ts";
import { credentialStorePath, defaultDataDir } from "./paths.ts";

interface ServeFlags extends DeviceFlags, LimitFlags, ListenFlags, MetricsFlags {
  dataDir: string;
  tls: boolean;
  open: boolean;
  maxFailedLogins: number;
}

const OPEN_WARNING = [
  "",
  "!!! WARNING: --open: NO AUTHENTICATION. Anyone who can reach this port can watch the camera, hear the",
  "!!! microphone and talk through the speaker. Use it only on a closed lab network.",
  "",
].join("\n");

const NO_TLS_WARNING = [
  "",
  "!!! WARNING: --no-tls: plain HTTP. Everyone on the network can read the pictures' signalling and the",
  "!!! login cookie, and browsers refuse the microphone and camera except on http://localhost.",
  "",
].join("\n");

const WEB_ROOT = fileURLToPath(new URL("../../dist/web", import.meta.url));

export function serveCommand(): Command {
  const command = new Command("serve").description(
    "Run everything: the web app (HTTPS), the signalling server (WSS, same port) and the device. " +
      "Open the printed address on a phone or computer to see, hear and talk to this device.",
  );
  addListenOptions(command, "port for the web app and signalling")
    .option("--data-dir <DIR>", "where the certificate authority and recordings live", defaultDataDir())
    .option(
      "--no-tls",
      "plain HTTP and WS (insecure; browsers then refuse the microphone and camera except on localhost)",
    )
    .option(
      "--open",
      "no authentication at all: anyone on the network may use the device (closed labs only)",
      false,
    );
  addLimitOptions(command, { maxPeers: 64 });
  command.option(
    "--max-failed-logins <N>",
    "wrong passwords and pairing codes from one address per minute; more are refused (HTTP 429)",
    integerOption(1),
    DEFAULT_FAILED_LOGINS_PER_MINUTE,
  );
  addDeviceOptions(command);
  addMetricsOptions(command);
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
  device-rtc serve --port 9443 --codec h264 --incoming-video record,echo

The first run prints a pairing link and its QR code: open it on a phone or computer to log that
browser in. More: device-rtc pair (another browser), device-rtc token create (GStreamer clients,
shared links), device-rtc password (the owner password). See docs/SECURITY.md.`,
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
    const { paths, created, reissued, warnings } = ensurePki(
      join(flags.dataDir, "pki"),
      defaultServerNames(),
    );
    if (created) log.info({ dir: paths.dir }, "created the certificate authority");
    if (reissued)
      log.info(
        { certificate: paths.server.certificate },
        "issued a new server certificate for this machine's names",
      );
    for (const warning of warnings) log.warn(warning);
    tls = loadTlsCredentials({ cert: paths.server.chain, key: paths.server.key });
    caCertificate = readFileSync(paths.caCertificate, "utf8");
    caFile = paths.caCertificate;
  } else {
    process.stderr.write(NO_TLS_WARNING);
    log.warn("serving plain HTTP (--no-tls): signalling and login cookies travel in the clear");
  }
  await ensureWebApp(log);

  // Authentication (docs/SECURITY.md): a store of hashed credentials, and a secret for our own device.
  let auth: Authenticator | undefined;
  let firstRun = false;
  let password: string | undefined;
  let pairing: string | undefined;
  const deviceSecret = newDeviceSecret();
  if (flags.open) {
    process.stderr.write(OPEN_WARNING);
    log.warn("--open: no authentication; anyone who can reach this port may use the device");
  } else {
    const file = credentialStorePath(flags.dataDir);
    firstRun = !CredentialStore.exists(file);
    const store = CredentialStore.open(file);
    store.prune();
    if (!store.hasPassword) {
      // The first run (or a store made by `device-rtc token` before it): the owner's secrets.
      firstRun = true;
      password = newPassword();
      store.setPassword(password);
    }
    // A pairing link on the first run, and whenever a person is at the terminal (not under systemd).
    if (firstRun || process.stdout.isTTY) {
      pairing = store.create({
        kind: "pairing",
        role: "admin",
        label: "printed by serve",
        expiresInMs: PAIRING_LIFETIME_MS,
      }).secret;
    }
    auth = new Authenticator({ store, secure: tls !== undefined, deviceSecret });
  }

  const signalling = new SignallingServer({
    logger: log.child({ component: "signalling" }),
    ...limitsFrom(flags),
    ...(auth
      ? {
          authenticate: (request) => (auth as Authenticator).upgrade(request),
          policy: new DevicePolicy(deviceOptions.name),
        }
      : {}),
  });
  // The REST API and the metrics (docs/ARCHITECTURE.md "REST API"), on the device once it runs.
  let device: Device | undefined;
  const recordings = new Recordings(deviceOptions.recordDirectory, () => device?.recordingPaths() ?? []);
  const metrics = await startMetrics(flags, { status: () => device?.status(), recordings, versions }, log);
  const api = createApiApp({
    auth,
    secure: tls !== undefined,
    device: () => device,
    recordings,
    metrics: metrics.metrics,
    onRevoked: (ids) =>
      signalling.disconnectWhere(
        (identity) => identity.credentialId !== undefined && ids.includes(identity.credentialId),
        "revoked",
      ),
    logger: log,
  });
  const app = await openOrUndo(
    () =>
      AppServer.create({
        host: flags.host,
        port: flags.port,
        tls,
        webRoot: WEB_ROOT,
        config: { deviceName: deviceOptions.name },
        iceServers: (label) => ({
          iceServers: iceServersFor(deviceOptions.ice.iceServers, deviceOptions.ice.turn, label),
          ...(deviceOptions.ice.turn ? { iceServersValidSeconds: deviceOptions.ice.turn.ttlSeconds } : {}),
        }),
        caCertificate,
        signalling,
        auth,
        loginAttemptsPerMinute: flags.maxFailedLogins,
        api: apiListener(api),
        logger: log,
      }),
    () => metrics.close(),
  );
  const scheme = app.secure ? "https" : "http";
  const local = `${app.secure ? "wss" : "ws"}://127.0.0.1:${app.port}`;
  const running = await openOrUndo(
    () =>
      Device.create({
        ...deviceOptions,
        server: local,
        ca: caCertificate,
        signallingHeaders: auth ? { authorization: `Bearer ${deviceSecret}` } : undefined,
      }),
    () => Promise.all([app.close(), signalling.close(), metrics.close()]),
  );
  device = running;

  // A token revoked (`device-rtc token revoke`), a browser logged out elsewhere or a credential expired:
  // its connections end at once.
  const stopWatching = auth ? watchRevocations(auth.store, signalling, log) : () => {};

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
  ];
  if (pairing) {
    const links = hosts.map((host) => pairingUrl(`${scheme}://${host}:${app.port}`, pairing as string));
    lines.push(
      "Pair a browser: open this link on it (one browser, within an hour) — or scan the QR code with a phone:",
      ...links.map((link) => `  ${link}`),
      "",
      await terminalQr(links[1] ?? (links[0] as string)),
    );
  }
  if (password) {
    lines.push(
      `Owner password (the login page's fallback; write it down, it is not shown again): ${password}`,
      "  change it with: device-rtc password",
      "",
    );
  }
  if (auth && !pairing) {
    lines.push("Pair another browser: device-rtc pair    (or log in with the owner password)", "");
  }
  lines.push(
    `GStreamer clients: signalling at ${app.secure ? "wss" : "ws"}://<address>:${app.port}` +
      (auth ? " with an Authorization: Bearer header (device-rtc token create)" : ""),
    "",
  );
  process.stdout.write(lines.join("\n"));
  log.info(
    { port: app.port, tls: app.secure, authentication: auth !== undefined, firstRun },
    `serving on ${scheme}://0.0.0.0:${app.port}`,
  );

  return async () => {
    stopWatching();
    await running.close();
    await Promise.all([signalling.close(), app.close(), metrics.close()]);
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
