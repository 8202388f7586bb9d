/**
 * The systemd files of the device-rtc service: the system unit (a dedicated user, sandboxed), the
 * sysusers.d entry that creates that user, and the unit for `--user` installs.
 *
 * Every sandboxing option below was checked against what the device needs: cameras (V4L2 /dev/video*,
 * libcamera's /dev/media*, /dev/v4l-subdev* and /dev/dma_heap/*), ALSA (/dev/snd/*), hardware encoders
 * (V4L2 memory-to-memory /dev/video1x on a Raspberry Pi ≤ 4), the GPU's render nodes, port 8443 (no
 * capability needed above 1023), Node's JIT, gst-launch-1.0 children under setpriv. docs/RASPBERRY-PI.md
 * explains them for owners.
 */

export const SERVICE_NAME = "device-rtc";
export const SERVICE_USER = "device-rtc";
/** The groups that own cameras, sound cards and render nodes on Debian and Raspberry Pi OS. */
export const DEVICE_GROUPS = ["video", "audio", "render"] as const;

export interface SystemUnitParams {
  /** Where the application was copied (ExecStart runs its bin/device-rtc.js). */
  readonly appDir: string;
  /** The directory of the `node` that runs it (first on PATH: bin/device-rtc.js is `#!/usr/bin/env node`). */
  readonly nodeDir: string;
  readonly configPath: string;
}

const HEADER = (
  how: string,
) => `# device-rtc — written by \`device-rtc service install${how}\`; installing again rewrites it.
# Options belong in the config file named on ExecStart, not here. To change the unit itself, use a drop-in
# (\`systemctl${how} edit device-rtc\`), which survives reinstalling.`;

function path(nodeDir: string): string {
  const standard = ["/usr/local/bin", "/usr/bin", "/bin"];
  return [nodeDir, ...standard.filter((dir) => dir !== nodeDir)].join(":");
}

/** Where the Raspberry Pi guide is, when the path can be written as a plain file: URI. */
function documentation(appDir: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(appDir) ? `Documentation=file:${appDir}/docs/RASPBERRY-PI.md\n` : "";
}

/** The system unit: runs `serve` as the dedicated user with only the devices and privileges it needs. */
export function systemUnit({ appDir, nodeDir, configPath }: SystemUnitParams): string {
  return `${HEADER("")}
[Unit]
Description=device-rtc: this device's camera, microphone and speaker for web browsers (WebRTC)
${documentation(appDir)}After=network-online.target sound.target
Wants=network-online.target

[Service]
Type=exec
User=${SERVICE_USER}
Group=${SERVICE_USER}
ExecStart=${systemdQuote(`${appDir}/bin/device-rtc.js`)} serve --config ${systemdQuote(configPath)}
# bin/device-rtc.js finds node on PATH. The data directory (CA, recordings) defaults to
# $XDG_DATA_HOME/device-rtc = /var/lib/device-rtc, GStreamer's registry cache to /var/cache/device-rtc.
Environment=${systemdQuote(`PATH=${path(nodeDir)}`)}
Environment=XDG_DATA_HOME=%S XDG_CACHE_HOME=%C/device-rtc
StateDirectory=device-rtc
StateDirectoryMode=0750
CacheDirectory=device-rtc
WorkingDirectory=%S/device-rtc
UMask=0027
Restart=on-failure
RestartSec=5
# Exit status 2 is a configuration error: restarting cannot fix it.
RestartPreventExitStatus=2
# SIGTERM to device-rtc alone: it stops its gst-launch-1.0 children itself, so recordings are finalized.
KillMode=mixed
TimeoutStopSec=15

# Devices: nothing but the standard pseudo-devices (/dev/null, /dev/urandom, …) and these classes, by
# major number, so a camera plugged in later is allowed too. Not PrivateDevices=, which would hide them.
DevicePolicy=closed
DeviceAllow=char-video4linux rw
DeviceAllow=char-media rw
DeviceAllow=char-dma_heap rw
DeviceAllow=char-alsa rw
DeviceAllow=char-drm rw

# Sandboxing. Not MemoryDenyWriteExecute= (Node's JIT writes code), not ProcSubset=pid (GStreamer's ORC
# and Node read /proc/cpuinfo), not PrivateUsers= (device access goes through the groups above).
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target
`;
}

export interface UserUnitParams {
  /** The checkout to run (a user unit runs it in place). */
  readonly appDir: string;
  readonly nodeDir: string;
  readonly configPath: string;
}

/**
 * The unit for `service install --user`: runs as the user who installed it, from the checkout, with the
 * user's sound server. A user manager cannot sandbox much without user namespaces, so it only forbids
 * new privileges.
 */
export function userUnit({ appDir, nodeDir, configPath }: UserUnitParams): string {
  return `${HEADER(" --user")}
[Unit]
Description=device-rtc: this device's camera, microphone and speaker for web browsers (WebRTC)
${documentation(appDir)}
[Service]
Type=exec
ExecStart=${systemdQuote(`${appDir}/bin/device-rtc.js`)} serve --config ${systemdQuote(configPath)}
Environment=${systemdQuote(`PATH=${path(nodeDir)}`)}
WorkingDirectory=%h
Restart=on-failure
RestartSec=5
RestartPreventExitStatus=2
KillMode=mixed
TimeoutStopSec=15
NoNewPrivileges=yes

[Install]
WantedBy=default.target
`;
}

/** sysusers.d(5): the system user and its device groups (only groups that exist: `m` would create one). */
export function sysusersConfig(groups: readonly string[]): string {
  return [
    "# device-rtc's service user — written by `device-rtc service install`.",
    `u ${SERVICE_USER} - "device-rtc service" /var/lib/device-rtc /usr/sbin/nologin`,
    ...groups.map((group) => `m ${SERVICE_USER} ${group}`),
    "",
  ].join("\n");
}

/** One word for a unit file's command line or assignment (systemd.syntax(7), systemd.service(5) "Command lines"). */
export function systemdQuote(word: string): string {
  const escaped = word.replace(/%/g, "%%").replace(/\$/g, "$$$$");
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
