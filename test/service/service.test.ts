/**
 * `device-rtc service`: the unit files byte for byte (golden files), systemd's own checks on them
 * (`systemd-analyze verify` and `security`), and install/uninstall into a temporary root — exactly the
 * files expected, a user in exactly the device groups, a copied application that runs, idempotence,
 * and clear refusals. A real start and stop under systemd is test/service/systemd-boot.test.ts.
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { createProgram } from "../../src/cli/program.ts";
import { exampleConfig } from "../../src/config/example.ts";
import { ServiceError, ServiceInstaller, type ServiceOptions } from "../../src/service/ServiceInstaller.ts";
import { systemUnit, sysusersConfig, userUnit } from "../../src/service/units.ts";
import { onCleanup } from "../helpers/cleanup.ts";
import { startCli } from "../helpers/processes.ts";

const SOURCE = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const GOLDEN = new URL("./golden/", import.meta.url).pathname;
const NODE_DIR = dirname(process.execPath);
const haveSystemdTools = spawnSync("systemd-analyze", ["--version"]).status === 0;
const isRoot = process.getuid?.() === 0;

function golden(name: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(join(GOLDEN, name), actual);
  expect(actual, `test/service/golden/${name} (UPDATE_GOLDEN=1 rewrites it after an intended change)`).toBe(
    readFileSync(join(GOLDEN, name), "utf8"),
  );
}

/** A root with this machine's users and groups (plus `render`, which a Raspberry Pi has) and systemd's units. */
function makeRoot(groups = ["render"]): string {
  const root = mkdtempSync(join(tmpdir(), "device-rtc-root-"));
  onCleanup(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "etc"));
  for (const file of ["passwd", "group", "shadow", "gshadow"])
    cpSync(`/etc/${file}`, join(root, "etc", file));
  let group = readFileSync(join(root, "etc/group"), "utf8");
  for (const name of groups)
    if (!new RegExp(`^${name}:`, "m").test(group)) group += `${name}:x:${900 + groups.indexOf(name)}:\n`;
  writeFileSync(join(root, "etc/group"), group);
  cpSync("/lib/systemd/system", join(root, "lib/systemd/system"), { recursive: true });
  return root;
}

function tree(root: string, under = ""): string[] {
  const dir = join(root, under);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(under, entry.name);
    return entry.isDirectory() && !entry.isSymbolicLink() ? [`${path}/`, ...tree(root, path)] : [path];
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = startCli(args, env);
  return child.exited().then((code) => ({ code, output: child.output() }));
}

const serveExample = () => {
  const serve = createProgram().commands.find((command) => command.name() === "serve");
  if (!serve) throw new Error("no serve");
  return exampleConfig(serve);
};

describe("unit files", () => {
  it("the system unit, the user unit and the sysusers entry are exactly the golden files", () => {
    golden(
      "device-rtc.service",
      systemUnit({
        appDir: "/opt/device-rtc",
        nodeDir: "/usr/bin",
        configPath: "/etc/device-rtc/config.yaml",
      }),
    );
    golden(
      "device-rtc.user.service",
      userUnit({
        appDir: "/home/pi/device rtc",
        nodeDir: "/usr/local/bin",
        configPath: "/home/pi/.config/device-rtc/config.yaml",
      }),
    );
    golden("device-rtc.sysusers.conf", sysusersConfig(["video", "audio", "render"]));
  });

  it("has what the issue asks for, and nothing that would hide the camera, the sound card or the port", () => {
    const unit = readFileSync(join(GOLDEN, "device-rtc.service"), "utf8");
    for (const line of [
      "After=network-online.target sound.target",
      "Wants=network-online.target",
      "Restart=on-failure",
      "User=device-rtc",
      "ProtectSystem=strict",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "NoNewPrivileges=yes",
      "StateDirectory=device-rtc",
      "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
      "CapabilityBoundingSet=",
      "DeviceAllow=char-video4linux rw",
      "DeviceAllow=char-media rw",
      "DeviceAllow=char-dma_heap rw",
      "DeviceAllow=char-alsa rw",
      "KillMode=mixed",
      "RestartPreventExitStatus=2",
    ]) {
      expect(unit.split("\n")).toContain(line);
    }
    for (const forbidden of [
      /^PrivateDevices=yes/m,
      /^MemoryDenyWriteExecute=yes/m,
      /^ProcSubset=pid/m,
      /^PrivateUsers=yes/m,
    ]) {
      expect(unit).not.toMatch(forbidden);
    }
  });
});

describe.skipIf(!isRoot || !haveSystemdTools)("install and uninstall in a temporary root", () => {
  it("writes exactly the expected files, a user in exactly the device groups, and a copy of the app that runs", async () => {
    const root = makeRoot();
    const before = new Set(tree(root));
    const install = await cli(["service", "install", "--root", root]);
    expect(install.code, install.output).toBe(0);

    const added = tree(root).filter((path) => !before.has(path));
    const outsideApp = added.filter((path) => !path.startsWith("opt/device-rtc/"));
    expect(outsideApp.sort()).toEqual(
      [
        "etc/device-rtc/",
        "etc/device-rtc/config.yaml",
        "etc/passwd-",
        "etc/group-",
        "etc/shadow-",
        "etc/gshadow-",
        "etc/.pwd.lock",
        "etc/sysusers.d/",
        "etc/sysusers.d/device-rtc.conf",
        "etc/systemd/",
        "etc/systemd/system/",
        "etc/systemd/system/device-rtc.service",
        "etc/systemd/system/multi-user.target.wants/",
        "etc/systemd/system/multi-user.target.wants/device-rtc.service",
        "opt/",
      ].sort(),
    );
    const at = (path: string) => join(root, path);
    expect(readFileSync(at("etc/systemd/system/device-rtc.service"), "utf8")).toBe(
      systemUnit({ appDir: "/opt/device-rtc", nodeDir: NODE_DIR, configPath: "/etc/device-rtc/config.yaml" }),
    );
    expect(readlinkSync(at("etc/systemd/system/multi-user.target.wants/device-rtc.service"))).toBe(
      "/etc/systemd/system/device-rtc.service",
    );
    expect(readFileSync(at("etc/sysusers.d/device-rtc.conf"), "utf8")).toBe(
      sysusersConfig(["video", "audio", "render"]),
    );

    // The user: a system account with no login, in video, audio and render and nothing else.
    const passwd = readFileSync(at("etc/passwd"), "utf8");
    const user = passwd.match(
      /^device-rtc:x:(\d+):(\d+):device-rtc service:\/var\/lib\/device-rtc:\/usr\/sbin\/nologin$/m,
    );
    expect(user, passwd).not.toBeNull();
    expect(Number(user?.[1])).toBeLessThan(1000);
    const memberOf = readFileSync(at("etc/group"), "utf8")
      .split("\n")
      .filter((line) => (line.split(":")[3] ?? "").split(",").includes("device-rtc"))
      .map((line) => line.split(":")[0]);
    expect(memberOf.sort()).toEqual(["audio", "render", "video"]);

    // The config: the example with the service's data directory, readable by the service's group only.
    const config = statSync(at("etc/device-rtc/config.yaml"));
    expect(config.mode & 0o777).toBe(0o640);
    expect(config.gid).toBe(Number(user?.[2]));
    const configText = readFileSync(at("etc/device-rtc/config.yaml"), "utf8");
    expect(configText).toContain("\ndata-dir: /var/lib/device-rtc\n");
    expect(configText.endsWith(serveExample())).toBe(true);

    // The app: code, built web app and production modules, readable by everyone; no dev tools, tests or git.
    const app = at("opt/device-rtc");
    expect(statSync(join(app, "bin/device-rtc.js")).mode & 0o777).toBe(0o755);
    expect(statSync(join(app, "src/cli/main.ts")).mode & 0o777).toBe(0o644);
    for (const present of [
      "dist/web/index.html",
      "node_modules/werift",
      "node_modules/yaml",
      "docs/RASPBERRY-PI.md",
    ]) {
      expect(existsSync(join(app, present)), present).toBe(true);
    }
    for (const absent of ["node_modules/vitest", "node_modules/typescript", "test", ".git", "bench"]) {
      expect(existsSync(join(app, absent)), absent).toBe(false);
    }
    const run = spawnSync(
      join(app, "bin/device-rtc.js"),
      ["config", "print", "--config", at("etc/device-rtc/config.yaml")],
      {
        encoding: "utf8",
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^data-dir: \/var\/lib\/device-rtc +# config file .*, line 7$/m);

    // systemd's own checks of the installed unit.
    const verify = spawnSync(
      "systemd-analyze",
      ["verify", `--root=${root}`, "/etc/systemd/system/device-rtc.service"],
      {
        encoding: "utf8",
      },
    );
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr + verify.stdout).toBe("");
    const security = spawnSync(
      "systemd-analyze",
      ["security", "--offline=yes", `--root=${root}`, "--threshold=25", "device-rtc.service"],
      { encoding: "utf8" },
    );
    expect(security.status, security.stdout).toBe(0);
    expect(security.stdout).toMatch(/Overall exposure level for device-rtc\.service: [0-2]\.\d OK/);
  });

  it("installing again changes nothing and keeps an edited config; uninstall removes what it installed", async () => {
    const root = makeRoot();
    const before = tree(root);
    expect((await cli(["service", "install", "--root", root])).code).toBe(0);
    const config = join(root, "etc/device-rtc/config.yaml");
    writeFileSync(config, "port: 9443\n");
    const first = tree(root);

    const again = await cli(["service", "install", "--root", root]);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain("unchanged /etc/systemd/system/device-rtc.service");
    expect(again.output).toContain("kept /etc/device-rtc/config.yaml");
    expect(readFileSync(config, "utf8")).toBe("port: 9443\n");
    expect(tree(root)).toEqual(first);
    expect(readFileSync(join(root, "etc/passwd"), "utf8").match(/^device-rtc:/gm)).toHaveLength(1);

    const uninstall = await cli(["service", "uninstall", "--root", root]);
    expect(uninstall.code, uninstall.output).toBe(0);
    const left = tree(root).filter((path) => !before.includes(path));
    // Kept: the owner's config, the user (and the backups of passwd/group that adding it made), empty folders.
    expect(left.sort()).toEqual(
      [
        "etc/.pwd.lock",
        "etc/device-rtc/",
        "etc/device-rtc/config.yaml",
        "etc/group-",
        "etc/gshadow-",
        "etc/passwd-",
        "etc/shadow-",
        "etc/sysusers.d/",
        "etc/systemd/",
        "etc/systemd/system/",
        "opt/",
      ].sort(),
    );
    const purge = await cli(["service", "uninstall", "--purge", "--root", root]);
    expect(purge.code, purge.output).toBe(0);
    expect(existsSync(config)).toBe(false);
    const twice = await cli(["service", "uninstall", "--root", root]);
    expect(twice.code, twice.output).toBe(0);
  });

  it("--dry-run prints the unit and writes nothing", async () => {
    const root = makeRoot();
    const before = tree(root);
    const dry = await cli(["service", "install", "--dry-run", "--root", root]);
    expect(dry.code, dry.output).toBe(0);
    expect(dry.output).toContain("# write /etc/systemd/system/device-rtc.service (mode 644):");
    expect(dry.output).toContain("    ProtectSystem=strict");
    expect(dry.output).toContain(`# run systemctl --root=${root} enable device-rtc.service`);
    expect(tree(root)).toEqual(before);

    const print = await cli(["service", "install", "--print", "--root", root]);
    expect(print.code, print.output).toBe(0);
    expect(print.output).toBe(
      systemUnit({ appDir: "/opt/device-rtc", nodeDir: NODE_DIR, configPath: "/etc/device-rtc/config.yaml" }),
    );
    expect(tree(root)).toEqual(before);
  });

  it("puts the user only in the device groups this system has", () => {
    const root = makeRoot([]);
    const hasRender = /^render:/m.test(readFileSync(join(root, "etc/group"), "utf8"));
    const installer = new ServiceInstaller(options({ root }));
    const sysusers = installer
      .installPlan()
      .find((step) => step.kind === "write" && step.path.includes("sysusers"));
    expect(sysusers && "content" in sysusers ? sysusers.content : "").toBe(
      sysusersConfig(hasRender ? ["video", "audio", "render"] : ["video", "audio"]),
    );
  });

  it("--user: a unit in ~/.config/systemd/user running the checkout in place, enabled for default.target", async () => {
    const root = makeRoot();
    const home = "/home/someone";
    const installer = new ServiceInstaller(options({ root, mode: "user", uid: 1000, home }));
    const lines: string[] = [];
    installer.execute(installer.installPlan(), (line) => lines.push(line));
    const unit = join(root, home, ".config/systemd/user/device-rtc.service");
    expect(readFileSync(unit, "utf8")).toBe(
      userUnit({ appDir: SOURCE, nodeDir: NODE_DIR, configPath: `${home}/.config/device-rtc/config.yaml` }),
    );
    expect(
      readlinkSync(join(root, home, ".config/systemd/user/default.target.wants/device-rtc.service")),
    ).toBe("../device-rtc.service");
    expect(statSync(join(root, home, ".config/device-rtc/config.yaml")).mode & 0o777).toBe(0o600);

    // systemd's own check of the installed user unit. `--user` has no `--root` (systemd 252: "Failed to
    // initialize unit search paths"), so the file is verified by its path; its ExecStart is the checkout,
    // which exists outside the temporary root too. A user manager needs a runtime directory.
    const runtime = mkdtempSync(join(tmpdir(), "device-rtc-xdg-"));
    onCleanup(() => rmSync(runtime, { recursive: true, force: true }));
    const verify = spawnSync("systemd-analyze", ["--user", "verify", unit], {
      encoding: "utf8",
      env: { ...process.env, XDG_RUNTIME_DIR: runtime },
    });
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr + verify.stdout).toBe("");

    installer.execute(installer.uninstallPlan(), (line) => lines.push(line));
    expect(existsSync(unit)).toBe(false);
    expect(existsSync(join(root, home, ".config/systemd/user/default.target.wants/device-rtc.service"))).toBe(
      false,
    );
  });
});

function options(overrides: Partial<ServiceOptions> = {}): ServiceOptions {
  return {
    mode: "system",
    sourceDir: SOURCE,
    nodePath: process.execPath,
    exampleConfig: "# example\n",
    home: "/home/someone",
    uid: 0,
    systemdRunning: false,
    run: () => ({ status: 0, output: "" }),
    ...overrides,
  };
}

describe("refusals say what to do", () => {
  it("a system install by a normal user says to use sudo or --user", () => {
    expect(() => new ServiceInstaller(options({ uid: 1000 })).installPlan()).toThrow(
      new ServiceError(
        "a system service is installed by root: run it with sudo (`sudo npx device-rtc service install`), or use --user for a service of your own",
      ),
    );
    // Looking is allowed: --dry-run works for anyone.
    expect(new ServiceInstaller(options({ uid: 1000 })).installPlan({ dryRun: true }).length).toBeGreaterThan(
      0,
    );
  });

  it("--user as root says to run it without sudo", () => {
    expect(() => new ServiceInstaller(options({ mode: "user", uid: 0 })).installPlan()).toThrow(
      /without sudo/,
    );
  });

  it("node in a home directory (nvm) is refused for a system service, which could not read it", () => {
    expect(() =>
      new ServiceInstaller(
        options({ nodePath: "/home/pi/.nvm/versions/node/v20.0.0/bin/node" }),
      ).installPlan(),
    ).toThrow(
      /in a home directory, which the service's sandbox hides \(ProtectHome\): install Node\.js 20 or newer system-wide/,
    );
  });

  it("a checkout without the built web app says to run npm run setup", () => {
    const empty = mkdtempSync(join(tmpdir(), "device-rtc-empty-"));
    onCleanup(() => rmSync(empty, { recursive: true, force: true }));
    expect(() => new ServiceInstaller(options({ sourceDir: empty })).installPlan()).toThrow(
      `${join(empty, "bin/device-rtc.js")} is missing: run \`npm run setup\` in ${empty} first`,
    );
  });

  it("a failing command stops the install with its output", () => {
    const root = makeRoot();
    const installer = new ServiceInstaller(
      options({
        root,
        run: (argv) => ({ status: argv[0] === "systemd-sysusers" ? 1 : 0, output: "no such group\n" }),
      }),
    );
    expect(() => installer.execute(installer.installPlan(), () => {})).toThrow(
      /`systemd-sysusers --root=.* failed \(exit 1\): no such group$/,
    );
  });
});
