/**
 * Configuration layers (src/config): for every option of every configurable command — whoever added it,
 * whenever — a flag beats DEVICE_RTC_<KEY>, which beats the --config file, which beats the default, and
 * the file and the variable mean exactly what the flag means (commander's own parsers). Mistakes are
 * named: the file and line, the key, the variable; unknown keys get a suggestion.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { type Command, Option } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { integerOption } from "../../src/cli/lifecycle.ts";
import { createProgram } from "../../src/cli/program.ts";
import { serveCommand } from "../../src/cli/serve.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { exampleConfig } from "../../src/config/example.ts";
import { type ConfigKey, configKeys, envName } from "../../src/config/keys.ts";
import { inspectOnly, isConfigEnabled, originsOf, withConfig } from "../../src/config/layers.ts";
import { effectiveConfig, REDACTED } from "../../src/config/print.ts";
import { startCli } from "../helpers/processes.ts";

const EXAMPLE = new URL("../../config/device-rtc.example.yaml", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "device-rtc-config-"));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function yamlFile(text: string): string {
  const path = join(dir, `config-${++files}.yaml`);
  writeFileSync(path, text);
  return path;
}

interface Run {
  command: Command;
  value: (attribute: string) => unknown;
  origin: (attribute: string) => string | undefined;
  warnings: string[];
}

/** Builds the real program, runs `args` through it with `env`, stopping before any action. */
async function run(args: string[], env: NodeJS.ProcessEnv = {}, build = createProgram): Promise<Run> {
  const warnings: string[] = [];
  const program = build({ env, warn: (message) => warnings.push(message) });
  const silent = { writeErr: () => {}, writeOut: () => {} };
  program.exitOverride().configureOutput(silent);
  for (const command of program.commands) {
    command.exitOverride().configureOutput(silent);
    if (isConfigEnabled(command)) inspectOnly(command);
  }
  await program.parseAsync(args, { from: "user" });
  const command = program.commands.find((candidate) => candidate.name() === args[0]) as Command;
  return {
    command,
    value: (attribute) => command.getOptionValue(attribute),
    origin: (attribute) => originsOf(command).get(attribute),
    warnings,
  };
}

async function failure(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    await run(args, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected ${args.join(" ")} to fail`);
}

const configurable = createProgram().commands.filter(isConfigEnabled);

/**
 * Up to three texts the option accepts, as one would type them after the flag: its choices, else
 * whichever of a few typical values its own parser takes. The opposite of the default for a flag.
 */
function samples(key: ConfigKey): string[] {
  const { option } = key;
  if (key.kind === "flag") return [String(option.negate ? false : !(option.defaultValue ?? false))];
  const candidates = option.argChoices ?? [
    "2",
    "16",
    "30",
    "640",
    "2000",
    "9000",
    "1048576",
    "stun:stun.example.org:3478",
    "some-text",
  ];
  const accepted = candidates.filter((text) => {
    try {
      option.parseArg?.(text, key.kind === "list" ? [] : option.defaultValue);
      return JSON.stringify(text) !== JSON.stringify(option.defaultValue);
    } catch {
      return false;
    }
  });
  return accepted.slice(0, 3);
}

function flagArgs(key: ConfigKey, text: string): string[] {
  if (key.kind !== "flag") return [`--${key.key}`, text];
  return [text === "true" ? `--${key.key}` : `--no-${key.key}`];
}

describe("precedence: flag > environment > file > default, for every option of every configurable command", () => {
  it("covers serve, device and signalling", () => {
    expect(configurable.map((command) => command.name()).sort()).toEqual(["device", "serve", "signalling"]);
  });

  for (const template of configurable) {
    for (const key of configKeys(template)) {
      it(`${template.name()} ${key.key} (${key.env})`, async () => {
        const [a, b = a, c = b] = samples(key) as [string, string?, string?];
        expect(a, "no sample value for this option").toBeDefined();
        const name = template.name();
        const viaFlag = async (text: string) =>
          (await run([name, ...flagArgs(key, text)])).value(key.attribute);
        const file = yamlFile(`${key.key}: ${JSON.stringify(key.kind === "list" ? [a] : a)}\n`);

        const defaults = await run([name]);
        expect(defaults.value(key.attribute)).toEqual(template.getOptionValue(key.attribute));

        const fromFile = await run([name, "--config", file]);
        expect(fromFile.value(key.attribute)).toEqual(await viaFlag(a));
        expect(fromFile.origin(key.attribute)).toBe(`config file ${file}, line 1`);

        const fromEnv = await run([name, "--config", file], { [key.env]: b });
        expect(fromEnv.value(key.attribute)).toEqual(await viaFlag(b));
        expect(fromEnv.origin(key.attribute)).toBe(`environment ${key.env}`);

        const fromFlag = await run([name, "--config", file, ...flagArgs(key, c)], { [key.env]: b });
        expect(fromFlag.value(key.attribute)).toEqual(await viaFlag(c));
        expect(fromFlag.origin(key.attribute)).toMatch(/^flag --/);
      });
    }
  }

  it("gives an option added later its key and variable with no other change", async () => {
    const later = () =>
      withConfig(
        serveCommand().addOption(
          new Option("--brand-new-limit <N>", "a limit someone added later").argParser(integerOption(1, 9)),
        ),
        { env: { DEVICE_RTC_BRAND_NEW_LIMIT: "7" } },
      );
    const fromEnv = later();
    inspectOnly(fromEnv);
    await fromEnv.parseAsync([], { from: "user" });
    expect(fromEnv.getOptionValue("brandNewLimit")).toBe(7);
    expect(exampleConfig(fromEnv)).toContain(
      "#   --brand-new-limit <N>, DEVICE_RTC_BRAND_NEW_LIMIT\n#brand-new-limit:\n",
    );

    const file = yamlFile("brand-new-limit: 12\n");
    const bad = later();
    inspectOnly(bad);
    await expect(bad.parseAsync(["--config", file], { from: "user" })).rejects.toThrow(
      `config file ${file}, line 1: brand-new-limit: "12" is invalid: expected an integer from 1 to 9.`,
    );
  });
});

describe("values in the file and the environment", () => {
  it("reads booleans, lists, negated flags and 'not set' the way the flags mean them", async () => {
    const file = yamlFile(
      [
        "tls: false",
        "loopback-only: yes",
        "ice-server:",
        "  - stun:a.example.org:3478",
        "  - turn:bob:hunter2@b.example.org:3478",
        "video:",
        "audio: ~",
        "name: 1.0",
        "port: 0x10",
        "",
      ].join("\n"),
    );
    const { value } = await run(["serve", "--config", file]);
    expect(value("tls")).toBe(false);
    expect(value("loopbackOnly")).toBe(true);
    expect(value("iceServer")).toEqual(["stun:a.example.org:3478", "turn:bob:hunter2@b.example.org:3478"]);
    expect(value("video")).toBeUndefined();
    expect(value("audio")).toBeUndefined();
    expect(value("name")).toBe("1.0"); // the text as written, not the number 1
    expect(value("port")).toBe(16); // what --port 0x10 means (Number("0x10"))

    const env = await run(["serve"], {
      DEVICE_RTC_ICE_SERVER: "stun:a.example.org:3478, stun:c.example.org:3478",
      DEVICE_RTC_ECHO_CANCEL: "off",
      DEVICE_RTC_VIDEO: "",
    });
    expect(env.value("iceServer")).toEqual(["stun:a.example.org:3478", "stun:c.example.org:3478"]);
    expect(env.value("echoCancel")).toBe(false);
    expect(env.value("video")).toBeUndefined();
  });

  it("a repeatable flag replaces the file's list instead of adding to it", async () => {
    const file = yamlFile("ice-server: [stun:a.example.org:3478]\n");
    const { value } = await run(["serve", "--config", file, "--ice-server", "stun:z.example.org:1"]);
    expect(value("iceServer")).toEqual(["stun:z.example.org:1"]);
  });

  it("takes a required option from the file or the environment, and names all three when it is missing", async () => {
    const file = yamlFile("server: ws://127.0.0.1:8443\n");
    const program = createProgram({ env: {} });
    const device = program.commands.find((command) => command.name() === "device") as Command;
    let ran = "";
    device.action((flags: { server: string }) => {
      ran = flags.server;
    });
    await program.parseAsync(["device", "--config", file], { from: "user" });
    expect(ran).toBe("ws://127.0.0.1:8443");

    const again = createProgram({ env: { DEVICE_RTC_SERVER: "ws://127.0.0.2:1" } });
    const device2 = again.commands.find((command) => command.name() === "device") as Command;
    device2.action((flags: { server: string }) => {
      ran = flags.server;
    });
    await again.parseAsync(["device"], { from: "user" });
    expect(ran).toBe("ws://127.0.0.2:1");

    const none = createProgram({ env: {} });
    (none.commands.find((command) => command.name() === "device") as Command).action(() => {});
    await expect(none.parseAsync(["device"], { from: "user" })).rejects.toThrow(
      "required option '--server <URL>' not specified (nor DEVICE_RTC_SERVER, nor `server:` in a --config file)",
    );
  });

  it("takes the file from DEVICE_RTC_CONFIG", async () => {
    const file = yamlFile("port: 9443\n");
    const { value, origin } = await run(["serve"], { DEVICE_RTC_CONFIG: file });
    expect(value("port")).toBe(9443);
    expect(origin("config")).toBe("environment DEVICE_RTC_CONFIG");
  });
});

describe("mistakes are named", () => {
  it("bad YAML: the file, line and column, and the line itself", async () => {
    const file = yamlFile("port: 8443\nname: a: b\n");
    expect(await failure(["serve", "--config", file])).toBe(
      `config file ${file}, line 2, column 7: Nested mappings are not allowed in compact mappings (not valid YAML)\n\n  name: a: b\n${" ".repeat(2 + 6)}^`,
    );
    const duplicate = yamlFile("port: 1\nport: 2\n");
    expect(await failure(["serve", "--config", duplicate])).toMatch(
      new RegExp(`^config file ${duplicate}, line 2, column 1: Map keys must be unique`),
    );
  });

  it("not a mapping, a nested value, an unreadable file", async () => {
    expect(await failure(["serve", "--config", yamlFile("- port\n")])).toMatch(
      /line 1: expected keys and values \(`port: 8443`\), not a list$/,
    );
    expect(await failure(["serve", "--config", yamlFile("port:\n  value: 1\n")])).toMatch(
      /line 1: port: expected a value or a list, not a mapping$/,
    );
    expect(await failure(["serve", "--config", yamlFile("port: [1, 2]\n")])).toMatch(
      /line 1: port: expected a single value, not a list$/,
    );
    expect(await failure(["serve", "--config", join(dir, "missing.yaml")])).toBe(
      `config file ${join(dir, "missing.yaml")}: cannot read it: no such file`,
    );
  });

  it("unknown keys, with a suggestion or the command they belong to", async () => {
    const typo = yamlFile("port: 1\ndta-dir: /srv\n");
    expect(await failure(["serve", "--config", typo])).toBe(
      `config file ${typo}, line 2: unknown key "dta-dir" for device-rtc serve (did you mean "data-dir"?)`,
    );
    const camel = yamlFile("dataDir: /srv\n");
    expect(await failure(["serve", "--config", camel])).toContain('(did you mean "data-dir"?)');
    const other = yamlFile("server: ws://x\n");
    expect(await failure(["serve", "--config", other])).toBe(
      `config file ${other}, line 1: unknown key "server": it is an option of device-rtc device, not of device-rtc serve`,
    );
    const far = yamlFile("colour: blue\n");
    expect(await failure(["serve", "--config", far])).toBe(
      `config file ${far}, line 1: unknown key "colour" for device-rtc serve`,
    );
    const nested = yamlFile("config: other.yaml\n");
    expect(await failure(["serve", "--config", nested])).toContain(
      "`config` cannot be set inside a config file",
    );
  });

  it("bad values name the key and where it came from, with the option's own reason", async () => {
    const port = yamlFile("host: 0.0.0.0\n\nport: 99999\n");
    expect(await failure(["serve", "--config", port])).toBe(
      `config file ${port}, line 3: port: "99999" is invalid: expected an integer from 0 to 65535.`,
    );
    const codec = yamlFile("codec: av1\n");
    expect(await failure(["serve", "--config", codec])).toBe(
      `config file ${codec}, line 1: codec: "av1" is invalid: Allowed choices are vp8, h264.`,
    );
    const tls = yamlFile("tls: maybe\n");
    expect(await failure(["serve", "--config", tls])).toBe(
      `config file ${tls}, line 1: tls: expected true or false, not "maybe"`,
    );
    expect(await failure(["serve"], { DEVICE_RTC_BITRATE: "lots" })).toBe(
      'environment variable DEVICE_RTC_BITRATE (bitrate): "lots" is invalid: expected an integer from 50 to 50000.',
    );
    // Checked even when a flag overrides it: a broken file does not wait for the flag to be dropped.
    expect(await failure(["serve", "--config", port, "--port", "8443"])).toContain("port:");
  });

  it("warns about a DEVICE_RTC_ variable that looks like a mistyped key, and leaves others alone", async () => {
    const { warnings } = await run(["serve"], {
      DEVICE_RTC_PROT: "1",
      DEVICE_RTC_NETNS: "1",
      DEVICE_RTC_SERVER: "ws://127.0.0.1:1", // device's option
    });
    expect(warnings).toEqual([
      "ignoring DEVICE_RTC_PROT: not an option of device-rtc serve (did you mean DEVICE_RTC_PORT?)",
    ]);
  });

  it("hostile files: a YAML alias bomb, NUL, 200 kB, ../, __proto__", async () => {
    const bomb = yamlFile(
      [
        "a: &a [x, x, x, x, x, x, x, x, x, x]",
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "",
      ].join("\n"),
    );
    expect(await failure(["serve", "--config", bomb])).toMatch(/line 1: unknown key "a"/);
    const nested = yamlFile("ice-server: &a [x, [*a, *a]]\n");
    expect(await failure(["serve", "--config", nested])).toMatch(
      /line 1: ice-server: a list of values cannot hold a list$/,
    );
    expect(await failure(["serve", "--config", yamlFile("name: [*missing]\n")])).toMatch(/line 1/);
    const proto = yamlFile("__proto__: {polluted: 1}\n");
    expect(await failure(["serve", "--config", proto])).toMatch(/unknown key "__proto__"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const long = "x".repeat(200_000);
    const { value } = await run(["serve", "--config", yamlFile(`name: "${long}\\0!'\\"../ünï"\n`)]);
    expect(value("name")).toBe(`${long}\0!'"../ünï`);
  });
});

describe("config print and the reference file", () => {
  it("prints the effective configuration with each value's origin, secrets redacted", async () => {
    const file = yamlFile("cert-password: hunter2\nmax-peers: 5\n");
    const signalling = await run(["signalling", "--config", file, "-p", "9000"], {
      DEVICE_RTC_PING_INTERVAL: "7",
    });
    const text = effectiveConfig(signalling.command);
    expect(text).not.toContain("hunter2");
    expect(text).toMatch(new RegExp(`^cert-password: ${REDACTED} +# config file ${file}, line 1$`, "m"));
    expect(text).toMatch(new RegExp(`^max-peers: 5 +# config file ${file}, line 2$`, "m"));
    expect(text).toMatch(/^port: 9000 +# flag --port$/m);
    expect(text).toMatch(/^ping-interval: 7 +# environment DEVICE_RTC_PING_INTERVAL$/m);
    expect(text).toMatch(/^host: 0\.0\.0\.0 +# default$/m);
    expect(text).toMatch(/^# cert: +# not set$/m);

    const serve = await run(["serve", "--ice-server", "turn:bob:hunter2@turn.example.org:3478"]);
    const served = effectiveConfig(serve.command);
    expect(served).not.toContain("hunter2");
    expect(served).toContain(`ice-server: [ turn:bob:${REDACTED}@turn.example.org:3478 ]`);

    // The TURN secret's file is a secret's key; the credentials' lifetime only looks like one.
    const turn = await run([
      "serve",
      "--turn-secret-file",
      "/srv/turn-secret",
      "--turn-credential-ttl",
      "600",
    ]);
    const turned = effectiveConfig(turn.command);
    expect(turned).toMatch(new RegExp(`^turn-secret-file: ${REDACTED} +# flag --turn-secret-file$`, "m"));
    expect(turned).toMatch(/^turn-credential-ttl: 600 +# flag --turn-credential-ttl$/m);
  });

  it("`device-rtc config print` runs as a command, and a broken file makes it exit 2 with the message", async () => {
    const file = yamlFile("port: 9443\ncodec: h264\n");
    const ok = startCli(["config", "print", "--config", file, "--codec", "vp8"], { DEVICE_RTC_PORT: "9500" });
    expect(await ok.exited()).toBe(0);
    expect(ok.output()).toMatch(/^port: 9500 +# environment DEVICE_RTC_PORT$/m);
    expect(ok.output()).toMatch(/^codec: vp8 +# flag --codec$/m);

    const device = startCli(["config", "print", "device", "--server", "ws://127.0.0.1:1"]);
    expect(await device.exited()).toBe(0);
    expect(device.output()).toMatch(/^server: ws:\/\/127\.0\.0\.1:1 +# flag --server$/m);

    const broken = startCli(["serve", "--config", yamlFile("port: [\n")]);
    expect(await broken.exited()).toBe(2);
    expect(broken.output()).toMatch(/^device-rtc: config file .*, line 2, column 1: .*\(not valid YAML\)/);
  });

  it("config/device-rtc.example.yaml is what the options generate (run `npx device-rtc config example > config/device-rtc.example.yaml`)", () => {
    const serve = configurable.find((command) => command.name() === "serve") as Command;
    expect(readFileSync(EXAMPLE, "utf8")).toBe(exampleConfig(serve));
  });

  it("the reference files read the same on every machine: no hostname, no home directory", () => {
    for (const command of configurable) {
      const text = exampleConfig(command);
      expect(text).not.toContain(homedir());
      expect(text).not.toMatch(new RegExp(`(?<![\\w.-])${hostname()}(?![\\w-])`));
    }
  });

  it("the reference file, every line uncommented, is a valid config that changes nothing", async () => {
    for (const command of configurable) {
      const uncommented = exampleConfig(command)
        .split("\n")
        .map((line) => (/^#[a-z][a-z0-9-]*:/.test(line) ? line.slice(1) : line))
        .join("\n");
      const file = yamlFile(uncommented);
      const extra = command.name() === "device" ? ["--server", "ws://127.0.0.1:1"] : [];
      const plain = await run([command.name(), ...extra]);
      const configured = await run([command.name(), "--config", file, ...extra]);
      for (const key of configKeys(command)) {
        expect(configured.value(key.attribute), key.key).toEqual(plain.value(key.attribute));
      }
    }
  });

  it("every key's environment variable is DEVICE_RTC_ and the key", () => {
    for (const command of configurable) {
      for (const key of configKeys(command)) expect(key.env).toBe(envName(key.key));
    }
  });
});

describe("options that relate to others", () => {
  const related = (env: NodeJS.ProcessEnv) => {
    const command = withConfig(
      serveCommand()
        .addOption(new Option("--owner-secret <S>", "a secret"))
        .addOption(new Option("--wide-open", "no authentication").conflicts("ownerSecret"))
        .addOption(new Option("--demo", "show the test pattern").implies({ video: "test" })),
      { env },
    );
    inspectOnly(command);
    return command;
  };

  it("commander's .conflicts() holds across layers, naming where each value came from", async () => {
    const file = yamlFile("wide-open: true\n");
    await expect(
      related({ DEVICE_RTC_OWNER_SECRET: "s3cret" }).parseAsync(["--config", file], { from: "user" }),
    ).rejects.toThrow(
      `wide-open (config file ${file}, line 1) cannot be used with owner-secret (environment DEVICE_RTC_OWNER_SECRET)`,
    );
    const fine = related({});
    await fine.parseAsync(["--config", file], { from: "user" });
    expect(fine.getOptionValue("wideOpen")).toBe(true);
  });

  it("commander's .implies() applies to a value from the file, unless the implied option is set", async () => {
    const implied = related({});
    await implied.parseAsync(["--config", yamlFile("demo: true\n")], { from: "user" });
    expect(implied.getOptionValue("video")).toBe("test");
    expect(originsOf(implied).get("video")).toMatch(/^implied by demo \(config file .*, line 1\)$/);

    const explicit = related({ DEVICE_RTC_VIDEO: "camera:/dev/video2" });
    await explicit.parseAsync(["--config", yamlFile("demo: true\n")], { from: "user" });
    expect(explicit.getOptionValue("video")).toBe("camera:/dev/video2");
  });
});
