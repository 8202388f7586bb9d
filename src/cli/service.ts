/** `device-rtc service`: install, remove and inspect the systemd service that runs `device-rtc serve`. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { exampleConfig } from "../config/example.ts";
import { isConfigEnabled } from "../config/layers.ts";
import { ServiceInstaller, type ServiceMode, type Step } from "../service/ServiceInstaller.ts";
import { SERVICE_NAME } from "../service/units.ts";
import { UsageError } from "./lifecycle.ts";

const SOURCE_DIR = resolve(fileURLToPath(new URL("../..", import.meta.url)));

interface ServiceFlags {
  user: boolean;
  dryRun: boolean;
  print?: boolean;
  root?: string;
  purge?: boolean;
}

export function serviceCommand(): Command {
  const service = new Command("service").description(
    "Run device-rtc as a systemd service: started at boot, restarted if it fails (see docs/RASPBERRY-PI.md).",
  );
  const common = (command: Command) =>
    command
      .option("--user", "a service of your own (systemctl --user) instead of a system service", false)
      .option("--dry-run", "print what would be written and run, and change nothing", false)
      .option("--root <DIR>", "write under this directory and run systemctl offline (tests, images)");

  common(service.command("install"))
    .option("--print", "print only the unit file, and change nothing", false)
    .description(
      "Install and start the service. As root: a system service running as the user device-rtc (in the " +
        "video, audio and render groups), options in /etc/device-rtc/config.yaml, data in /var/lib/device-rtc. " +
        "Installing again updates it and keeps the config file.",
    )
    .addHelpText(
      "after",
      `
Examples:
  sudo npx device-rtc service install
  npx device-rtc service install --user
  npx device-rtc service install --dry-run
  npx device-rtc service install --print > device-rtc.service`,
    )
    .action((flags: ServiceFlags, cmd: Command) => {
      const installer = installerFor(flags, cmd);
      const steps = installer.installPlan({ dryRun: flags.dryRun || flags.print });
      if (flags.print) {
        const unit = steps.find((step) => step.kind === "write" && step.path === installer.paths.unit);
        if (unit?.kind === "write") process.stdout.write(unit.content);
        return;
      }
      if (flags.dryRun) return printPlan(steps);
      installer.execute(steps, say);
      const { config } = installer.paths;
      const systemctl = flags.user ? "systemctl --user" : "systemctl";
      const journal = flags.user ? "journalctl --user" : "journalctl";
      say(
        [
          "",
          `device-rtc is installed as a ${flags.user ? "user" : "system"} service.`,
          `  open:     https://${hostname()}.local:8443/ (or the port in the config; the log lists every address)`,
          `  options:  ${config}  (then: ${flags.user ? "" : "sudo "}${systemctl} restart ${SERVICE_NAME})`,
          `  status:   device-rtc service status${flags.user ? " --user" : ""}`,
          `  log:      ${journal} -u ${SERVICE_NAME} -f`,
          ...(flags.user
            ? ["  To start it at boot without logging in: sudo loginctl enable-linger $USER"]
            : []),
          ...(!isSystemdRunning(flags.user) && flags.root === undefined
            ? ["  systemd is not running here: the service starts at the next boot."]
            : []),
          "",
        ].join("\n"),
      );
    });

  common(service.command("uninstall"))
    .description(
      "Stop and remove the service. The config file, the data (certificate authority, recordings) and the " +
        "user stay unless --purge (which keeps the user).",
    )
    .option("--purge", "also remove the config file and the data directory", false)
    .action((flags: ServiceFlags, cmd: Command) => {
      const installer = installerFor(flags, cmd);
      const steps = installer.uninstallPlan({ purge: flags.purge, dryRun: flags.dryRun });
      if (flags.dryRun) return printPlan(steps);
      installer.execute(steps, say);
    });

  service
    .command("status")
    .description("Show whether the service runs, and its latest log lines (systemctl status).")
    .option("--user", "the user service", false)
    .action((flags: { user: boolean }) => {
      if (!isSystemdRunning(flags.user)) throw new UsageError("systemd is not running on this machine");
      const result = spawnSync(
        "systemctl",
        [...(flags.user ? ["--user"] : []), "status", "--no-pager", `${SERVICE_NAME}.service`],
        { stdio: "inherit" },
      );
      process.exitCode = result.status ?? 1;
    });
  return service;
}

function installerFor(flags: ServiceFlags, cmd: Command): ServiceInstaller {
  const program = cmd.parent?.parent;
  const serve = program?.commands.find((command) => command.name() === "serve" && isConfigEnabled(command));
  if (!serve) throw new Error("service: no configurable serve command");
  const mode: ServiceMode = flags.user ? "user" : "system";
  return new ServiceInstaller({
    mode,
    sourceDir: SOURCE_DIR,
    nodePath: process.execPath,
    exampleConfig: exampleConfig(serve),
    root: flags.root === undefined ? undefined : resolve(flags.root),
    home: homedir(),
    configHome: process.env.XDG_CONFIG_HOME,
    uid: process.getuid?.() ?? 0,
    systemdRunning: isSystemdRunning(flags.user),
  });
}

/** sd_booted(3) for the system manager; the user manager's private socket for --user. */
function isSystemdRunning(user: boolean): boolean {
  if (!user) return existsSync("/run/systemd/system");
  const runtime = process.env.XDG_RUNTIME_DIR;
  return runtime !== undefined && existsSync(`${runtime}/systemd/private`);
}

function printPlan(steps: readonly Step[]): void {
  for (const step of steps) {
    switch (step.kind) {
      case "write":
        say(
          `# ${step.keep ? "write if absent" : "write"} ${step.path} (mode ${step.mode.toString(8)}${step.group ? `, group ${step.group}` : ""}):`,
        );
        say(step.content.replace(/^/gm, "    "));
        break;
      case "copy-app":
        say(`# copy the application from ${step.from} to ${step.to}`);
        break;
      case "remove":
        say(`# remove ${step.path}`);
        break;
      case "link":
        say(`# link ${step.path} → ${step.target}`);
        break;
      case "run":
        say(`# run ${step.argv.join(" ")}`);
        break;
    }
  }
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}
