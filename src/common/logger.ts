/**
 * Structured logging (pino, JSON lines on stderr). The rubric, as in docs/ARCHITECTURE.md:
 * - info: one line per lifecycle event (listening, peer joined/left, session started/ended, child
 *   process started/exited) — never more than a handful per second in steady state;
 * - warn: input dropped or a recoverable failure (a child restarted, a peer disconnected for misbehaving);
 * - error: something the user must act on;
 * - debug: every signalling message, SDPs included; secrets (passwords, keys) are logged at no level.
 */
import { type Logger, pino } from "pino";

export type { Logger };

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
type Level = (typeof LEVELS)[number];

/**
 * The level comes from `LOG_LEVEL`, else from `WEBRTCSINK_SIGNALLING_SERVER_LOG` (the Rust server's
 * variable, a tracing `EnvFilter` such as `debug` or `info,gst_plugin_webrtc_signalling=trace`: its
 * most verbose directive wins), else `info`.
 */
export function levelFromEnvironment(env: NodeJS.ProcessEnv = process.env): Level {
  const explicit = env.LOG_LEVEL?.trim().toLowerCase();
  if (explicit && (LEVELS as readonly string[]).includes(explicit)) return explicit as Level;
  const filter = env.WEBRTCSINK_SIGNALLING_SERVER_LOG;
  if (filter) {
    const found = filter
      .split(",")
      .map((directive) => (directive.split("=").at(-1) ?? "").trim().toLowerCase())
      .map((level) => (level === "off" ? "silent" : level === "warning" ? "warn" : level))
      .filter((level): level is Level => (LEVELS as readonly string[]).includes(level))
      .sort((a, b) => LEVELS.indexOf(a) - LEVELS.indexOf(b));
    if (found[0]) return found[0];
  }
  return "info";
}

export interface LoggerOptions {
  level?: Level;
  /** Where lines go; defaults to stderr, written synchronously so nothing is lost at exit. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      name,
      level: options.level ?? levelFromEnvironment(),
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          "password",
          "*.password",
          "certPassword",
          "*.certPassword",
          "key",
          "*.key",
          // The TURN secret (src/device/turn.ts), wherever settings that hold it are logged.
          "secret",
          "*.secret",
          "*.*.secret",
        ],
        remove: true,
      },
    },
    destination,
  );
}

/** A logger that drops everything (library default when the caller passes none). */
export const silentLogger: Logger = pino({ level: "silent" });
