/**
 * Installs and removes the device-rtc systemd service. Everything it does is first made into a plan
 * (files to write, a tree to copy, commands to run), so `--dry-run` prints exactly what an install would
 * do, and installing twice does the same thing twice.
 *
 * System service (root): the application is copied to /opt/device-rtc (the service user cannot read a
 * home directory, and the checkout may change under a running service), a system user `device-rtc` in
 * the device groups that exist is declared in /etc/sysusers.d, the options live in
 * /etc/device-rtc/config.yaml (written once, kept on reinstall), the data in /var/lib/device-rtc.
 * User service (`--user`): runs the checkout in place as its owner, options in
 * ~/.config/device-rtc/config.yaml.
 *
 * `root` puts every path under another directory and runs systemctl and systemd-sysusers with `--root`
 * (offline): for tests, or to prepare an image.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { DEVICE_GROUPS, SERVICE_NAME, SERVICE_USER, systemUnit, sysusersConfig, userUnit } from "./units.ts";

export class ServiceError extends Error {
  override readonly name = "ServiceError";
}

export type ServiceMode = "system" | "user";

export interface ServiceOptions {
  readonly mode: ServiceMode;
  /** The checkout device-rtc runs from (has bin/, src/, dist/web, node_modules). */
  readonly sourceDir: string;
  /** The `node` executable to run it with. */
  readonly nodePath: string;
  /** The reference config (`device-rtc config example serve`), the start of a new config file. */
  readonly exampleConfig: string;
  /** Write under this directory and run systemctl/systemd-sysusers offline with --root. */
  readonly root?: string;
  /** The user's home and XDG_CONFIG_HOME (user mode). */
  readonly home: string;
  readonly configHome?: string;
  /** The effective user id (0: root). */
  readonly uid: number;
  /** Whether systemd manages this machine (sd_booted: /run/systemd/system exists). */
  readonly systemdRunning: boolean;
  /** Runs a command; tests replace it. */
  readonly run?: (argv: readonly string[]) => { status: number; output: string };
}

export type Step =
  | { kind: "write"; path: string; content: string; mode: number; group?: string; keep?: boolean }
  | { kind: "copy-app"; from: string; to: string }
  | { kind: "remove"; path: string }
  | { kind: "link"; path: string; target: string }
  | { kind: "run"; argv: string[]; optional?: boolean };

export const SYSTEM_PATHS = {
  unit: `/etc/systemd/system/${SERVICE_NAME}.service`,
  sysusers: `/etc/sysusers.d/${SERVICE_NAME}.conf`,
  config: "/etc/device-rtc/config.yaml",
  app: "/opt/device-rtc",
  state: "/var/lib/device-rtc",
  cache: "/var/cache/device-rtc",
} as const;

export class ServiceInstaller {
  readonly #options: ServiceOptions;

  constructor(options: ServiceOptions) {
    this.#options = options;
  }

  /** Where the files go, as seen on the target system (not prefixed by `root`). */
  get paths(): { unit: string; config: string; app: string } {
    const { mode, home, configHome, sourceDir } = this.#options;
    if (mode === "system") return SYSTEM_PATHS;
    const config = configHome || join(home, ".config");
    return {
      unit: join(config, "systemd", "user", `${SERVICE_NAME}.service`),
      config: join(config, "device-rtc", "config.yaml"),
      app: sourceDir,
    };
  }

  /**
   * What an install does, in order. Throws a {@link ServiceError} when it cannot be done here (`dryRun`:
   * except for being the wrong user, so anyone can look).
   */
  installPlan({ dryRun = false } = {}): Step[] {
    const { mode, nodePath, sourceDir, root } = this.#options;
    if (!dryRun) this.#checkWhoRuns();
    for (const needed of ["bin/device-rtc.js", "node_modules", "dist/web/index.html"]) {
      if (!existsSync(join(sourceDir, needed))) {
        throw new ServiceError(
          `${join(sourceDir, needed)} is missing: run \`npm run setup\` in ${sourceDir} first`,
        );
      }
    }
    const nodeDir = dirname(nodePath);
    const { unit, config, app } = this.paths;
    if (mode === "user") {
      return [
        this.#configStep(config, undefined),
        {
          kind: "write",
          path: unit,
          content: userUnit({ appDir: app, nodeDir, configPath: config }),
          mode: 0o644,
        },
        ...this.#systemctl(["daemon-reload"], { online: true }),
        // What `systemctl --user enable` does; made by hand when no user manager runs (over ssh, in tests).
        ...(this.#userManagerRunning()
          ? this.#systemctl(["enable", `${SERVICE_NAME}.service`])
          : [{ kind: "link" as const, path: this.#userWants(), target: `../${SERVICE_NAME}.service` }]),
        ...this.#systemctl(["restart", `${SERVICE_NAME}.service`], { online: true }),
      ];
    }
    if (/^\/(home|root|run\/user)(\/|$)/.test(nodeDir)) {
      throw new ServiceError(
        `node is ${nodePath}, in a home directory, which the service's sandbox hides (ProtectHome): ` +
          "install Node.js 20 or newer system-wide (in /usr or /usr/local), or use --user",
      );
    }
    const groups = DEVICE_GROUPS.filter((group) => this.#groupExists(group));
    return [
      { kind: "write", path: SYSTEM_PATHS.sysusers, content: sysusersConfig(groups), mode: 0o644 },
      {
        kind: "run",
        argv: ["systemd-sysusers", ...(root ? [`--root=${root}`] : []), this.#onDisk(SYSTEM_PATHS.sysusers)],
      },
      { kind: "copy-app", from: sourceDir, to: app },
      this.#configStep(config, SERVICE_USER),
      {
        kind: "write",
        path: unit,
        content: systemUnit({ appDir: app, nodeDir, configPath: config }),
        mode: 0o644,
      },
      ...this.#systemctl(["daemon-reload"], { online: true }),
      ...this.#systemctl(["enable", `${SERVICE_NAME}.service`]),
      ...this.#systemctl(["restart", `${SERVICE_NAME}.service`], { online: true }),
    ];
  }

  /** What an uninstall does: stop and disable, remove the unit (and the copied app); `purge` also the config and data. */
  uninstallPlan({ purge = false, dryRun = false } = {}): Step[] {
    if (!dryRun) this.#checkWhoRuns();
    const { mode } = this.#options;
    const { unit, config } = this.paths;
    const disable =
      mode === "user" && !this.#userManagerRunning()
        ? [{ kind: "remove" as const, path: this.#userWants() }]
        : this.#systemctl(["disable", `${SERVICE_NAME}.service`]);
    const steps: Step[] = [
      ...this.#systemctl(["stop", `${SERVICE_NAME}.service`], { online: true, optional: true }),
      ...(existsSync(this.#onDisk(unit)) ? disable : []),
      { kind: "remove", path: unit },
    ];
    if (mode === "system") {
      steps.push({ kind: "remove", path: SYSTEM_PATHS.app }, { kind: "remove", path: SYSTEM_PATHS.sysusers });
      if (purge) {
        steps.push(
          { kind: "remove", path: dirname(config) },
          { kind: "remove", path: SYSTEM_PATHS.state },
          { kind: "remove", path: SYSTEM_PATHS.cache },
        );
      }
    } else if (purge) {
      steps.push({ kind: "remove", path: dirname(config) });
    }
    steps.push(...this.#systemctl(["daemon-reload"], { online: true }));
    return steps;
  }

  /** Carries out a plan; `say` reports each step. */
  execute(steps: readonly Step[], say: (line: string) => void): void {
    for (const step of steps) {
      const target = "path" in step ? this.#onDisk(step.path) : "";
      switch (step.kind) {
        case "write": {
          if (step.keep && existsSync(target)) {
            say(`kept ${step.path} (yours; not overwritten)`);
            break;
          }
          const same = existsSync(target) && readFileSync(target, "utf8") === step.content;
          writeAtomically(
            target,
            step.content,
            step.mode,
            step.group ? this.#groupId(step.group) : undefined,
          );
          say(`${same ? "unchanged" : "wrote"} ${step.path}`);
          break;
        }
        case "copy-app":
          copyApp(step.from, this.#onDisk(step.to));
          say(`copied the application to ${step.to}`);
          break;
        case "link":
          mkdirSync(dirname(target), { recursive: true });
          rmSync(target, { force: true });
          symlinkSync(step.target, target);
          say(`linked ${step.path} → ${step.target}`);
          break;
        case "remove":
          if (existsSync(target) || isLink(target)) {
            rmSync(target, { recursive: true, force: true });
            say(`removed ${step.path}`);
          }
          break;
        case "run": {
          const result = (this.#options.run ?? runCommand)(step.argv);
          if (result.status !== 0 && !step.optional) {
            throw new ServiceError(
              `\`${step.argv.join(" ")}\` failed (exit ${result.status}): ${result.output.trim()}`,
            );
          }
          say(`ran ${step.argv.join(" ")}`);
          break;
        }
      }
    }
  }

  #userManagerRunning(): boolean {
    return this.#options.root === undefined && this.#options.systemdRunning;
  }

  #userWants(): string {
    return join(dirname(this.paths.unit), "default.target.wants", `${SERVICE_NAME}.service`);
  }

  #checkWhoRuns(): void {
    const { mode, uid, root } = this.#options;
    if (root !== undefined) return;
    if (mode === "system" && uid !== 0) {
      throw new ServiceError(
        "a system service is installed by root: run it with sudo (`sudo npx device-rtc service install`), " +
          "or use --user for a service of your own",
      );
    }
    if (mode === "user" && uid === 0) {
      throw new ServiceError("--user installs a service for the user who runs it: run it without sudo");
    }
  }

  #configStep(path: string, group: string | undefined): Step {
    const { mode, exampleConfig } = this.#options;
    const restart =
      mode === "system" ? "sudo systemctl restart device-rtc" : "systemctl --user restart device-rtc";
    const header = [
      `# The options of the device-rtc service, written by \`device-rtc service install\` and kept when it runs`,
      "# again or uninstalls. After a change:",
      `#   ${restart}`,
      "# To see the result and where each value comes from:",
      `#   device-rtc config print --config ${path}`,
      "",
      ...(mode === "system" ? [`data-dir: ${SYSTEM_PATHS.state}`, ""] : []),
      "",
    ].join("\n");
    // Readable by the service's group only: it may hold secrets.
    return {
      kind: "write",
      path,
      content: header + exampleConfig,
      mode: group ? 0o640 : 0o600,
      group,
      keep: true,
    };
  }

  #systemctl(args: string[], { online = false, optional = false } = {}): Step[] {
    const { mode, root, systemdRunning } = this.#options;
    const scope = mode === "user" ? ["--user"] : [];
    if (root !== undefined)
      return online ? [] : [{ kind: "run", argv: ["systemctl", `--root=${root}`, ...scope, ...args] }];
    if (online && !systemdRunning) return [];
    return [{ kind: "run", argv: ["systemctl", ...scope, ...args], optional }];
  }

  #onDisk(path: string): string {
    const { root } = this.#options;
    return root === undefined ? path : join(root, path);
  }

  #groupLine(group: string): string[] | undefined {
    const file = this.#onDisk("/etc/group");
    if (!existsSync(file)) return undefined;
    return readFileSync(file, "utf8")
      .split("\n")
      .map((line) => line.split(":"))
      .find((fields) => fields[0] === group);
  }

  #groupExists(group: string): boolean {
    return this.#groupLine(group) !== undefined;
  }

  #groupId(group: string): number | undefined {
    const gid = Number(this.#groupLine(group)?.[2]);
    return Number.isInteger(gid) ? gid : undefined;
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function runCommand(argv: readonly string[]): { status: number; output: string } {
  const [command, ...args] = argv as [string, ...string[]];
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.error) return { status: 127, output: result.error.message };
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

/** Writes through a temporary file and a rename, so no reader ever sees half a file. */
function writeAtomically(path: string, content: string, mode: number, gid: number | undefined): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode); // whatever the umask
  if (gid !== undefined) chownSync(temporary, 0, gid);
  renameSync(temporary, path);
}

/** The files a running device-rtc needs: its code, the built web app, the production node_modules, docs. */
export function appFiles(sourceDir: string): string[] {
  const lock = JSON.parse(readFileSync(join(sourceDir, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const modules = Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith("node_modules/") && !entry.dev)
    .map(([path]) => path)
    .filter((path) => existsSync(join(sourceDir, path)));
  const top = [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "bin",
    "src",
    "dist/web",
    "config",
    "docs",
  ];
  return [...top.filter((path) => existsSync(join(sourceDir, path))), ...modules];
}

/**
 * Copies the application into `to` (through `to.new`, then a swap, so a failed copy leaves the old one),
 * readable by everyone (the service user) whatever the umask and the checkout's modes.
 */
function copyApp(from: string, to: string): void {
  const staging = `${to}.new`;
  rmSync(staging, { recursive: true, force: true });
  for (const path of appFiles(from)) copyTree(join(from, path), join(staging, path));
  const old = `${to}.old`;
  rmSync(old, { recursive: true, force: true });
  if (existsSync(to)) renameSync(to, old);
  renameSync(staging, to);
  rmSync(old, { recursive: true, force: true });
}

function copyTree(from: string, to: string): void {
  const stat = lstatSync(from);
  mkdirSync(dirname(to), { recursive: true, mode: 0o755 });
  chmodSync(dirname(to), 0o755);
  if (stat.isSymbolicLink()) {
    if (!existsSync(to)) symlinkSync(readlinkSync(from), to);
  } else if (stat.isDirectory()) {
    mkdirSync(to, { recursive: true, mode: 0o755 });
    chmodSync(to, 0o755);
    for (const entry of readdirSync(from)) {
      if (entry === ".git") continue;
      copyTree(join(from, entry), join(to, entry));
    }
  } else if (stat.isFile()) {
    if (existsSync(to)) return; // a package listed inside another one's folder
    copyFileSync(from, to);
    chmodSync(to, statSync(from).mode & 0o111 ? 0o755 : 0o644);
  }
}
