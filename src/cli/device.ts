/** `device-rtc device`: the device agent, connected to a separate signalling server. */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { Command, Option } from "commander";
import { versions } from "../api/versions.ts";
import { createLogger } from "../common/logger.ts";
import { publicOption } from "../config/keys.ts";
import {
  TURN_CREDENTIAL_TTL_MAX_SECONDS,
  TURN_CREDENTIAL_TTL_MIN_SECONDS,
  TURN_CREDENTIAL_TTL_SECONDS,
} from "../device/constants.ts";
import { Device, type DeviceOptions } from "../device/Device.ts";
import type { TurnRestSettings } from "../device/turn.ts";
import { iceSettingsProblem } from "../device/webrtc.ts";
import { LadderError, parseLadder, type Rung } from "../media/ladder.ts";
import type { VideoSettings } from "../media/pipelines.ts";
import { DEFAULT_RECORDING_LIMITS } from "../media/RecordingLimits.ts";
import { Recordings } from "../media/Recordings.ts";
import { parseSpeakerSink, SPEAKER_HELP } from "../media/SpeakerMixer.ts";
import {
  AUDIO_SOURCE_HELP,
  defaultAudioSource,
  defaultVideoSource,
  parseAudioSource,
  parseVideoSource,
  VIDEO_SOURCE_HELP,
} from "../media/sources.ts";
import { byteSizeOption, exitOnSignal, integerOption, openOrUndo, UsageError } from "./lifecycle.ts";
import { addMetricsOptions, type MetricsFlags, startMetrics } from "./metrics.ts";

export interface DeviceFlags {
  name: string;
  video?: string;
  audio?: string;
  codec: "vp8" | "h264";
  bitrate: number;
  ladder: string;
  width: number;
  height: number;
  framerate: number;
  keyframeInterval: number;
  iceServer: string[];
  turnSecretFile?: string;
  turnCredentialTtl: number;
  fallback?: "test";
  loopbackOnly: boolean;
  ca?: string;
  incomingAudio: "speaker" | "record" | "discard";
  incomingVideo: string;
  speaker?: string;
  maxTalkers: number;
  echoCancel: boolean;
  recordDir: string;
  maxRecordingBytes: number;
  maxRecordingSeconds: number;
  minFreeDisk: number;
  consume?: string;
}

/** The media and network options shared by `device` and `serve`. */
export function addDeviceOptions(command: Command): Command {
  return command
    .option("--name <NAME>", "the name viewers see", hostname())
    .option("--video <SRC>", "video source (see below); default: camera:/dev/video0 if it exists, else test")
    .option("--audio <SRC>", "audio source (see below); default: mic if the machine has one, else test")
    .addOption(
      new Option(
        "--codec <CODEC>",
        "preferred video codec: a viewer gets it if its browser takes it, else the other one (both are offered when the machine can encode them).",
      )
        .choices(["vp8", "h264"])
        .default("vp8"),
    )
    .option("--bitrate <KBPS>", "video bitrate in kbit/s", integerOption(50, 50_000), 1000)
    .option("--width <W>", "video width", integerOption(16, 4096), 640)
    .option("--height <H>", "video height", integerOption(16, 4096), 480)
    .option("--framerate <F>", "video frames per second", integerOption(1, 120), 30)
    .option(
      "--ladder <RUNGS>",
      "the smaller encodings made beside the configured one, for viewers on slow links: auto, off, or WxH@KBPS,… (e.g. 320x240@250,160x120@150)",
      "auto",
    )
    .option(
      "--keyframe-interval <SECONDS>",
      "a keyframe at least this often (viewers also get one when they join or ask)",
      integerOption(1, 600),
      // Viewers get a keyframe when they join, ask or move; the periodic one is a safety net only. At
      // 3 s it was most of the keyframes a lossy viewer saw (21/min, where Chrome sends 0–3), and each
      // keyframe's packets on a link losing 5 % wait a round trip for a re-send (docs/MEDIA.md §4).
      10,
    )
    .option(
      "--ice-server <URL>",
      "a STUN or TURN server for viewers outside the LAN (repeatable), e.g. stun:stun.example.org:3478 or turn:user:pass@turn.example.org:3478, or turn:turn.example.org:3478 with --turn-secret-file",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      "--turn-secret-file <FILE>",
      "a file holding the TURN server's shared secret (coturn use-auth-secret, static-auth-secret): TURN URLs without user:pass get credentials that expire",
    )
    .addOption(
      // A lifetime, not a credential: `config print` shows it.
      publicOption(
        new Option(
          "--turn-credential-ttl <SECONDS>",
          "how long a credential minted from the TURN secret may open new relays, in seconds; calls outlive it",
        )
          .argParser(integerOption(TURN_CREDENTIAL_TTL_MIN_SECONDS, TURN_CREDENTIAL_TTL_MAX_SECONDS))
          .default(TURN_CREDENTIAL_TTL_SECONDS),
      ),
    )
    .addOption(
      new Option("--fallback <SRC>", "when a source fails, use this one instead of stopping").choices([
        "test",
      ]),
    )
    .option("--loopback-only", "use 127.0.0.1 only for media (viewers on this machine; tests)", false)
    .addOption(
      new Option("--incoming-audio <MODE>", "what to do with browsers' microphones")
        .choices(["speaker", "record", "discard"])
        .default("speaker"),
    )
    .option(
      "--incoming-video <MODES>",
      "what to do with browsers' cameras: discard, record, echo, or record,echo",
      "discard",
    )
    .option("--speaker <DEVICE>", "where browsers' voices play (see below); default: the system's output")
    .option("--max-talkers <N>", "browsers whose voices are mixed at once", integerOption(1, 16), 4)
    .option("--no-echo-cancel", "do not cancel the speaker's echo in the microphone")
    .option("--record-dir <DIR>", "where recordings go", "./recordings")
    .addOption(
      new Option(
        "--max-recording-bytes <SIZE>",
        "end a recording (finalized, playable) when its file reaches this size: bytes, or with K, M, G; 0: no cap",
      )
        .argParser(byteSizeOption(0))
        .default(DEFAULT_RECORDING_LIMITS.maxBytes, "2G"),
    )
    .option(
      "--max-recording-seconds <SECONDS>",
      "end a recording (finalized, playable) after this long; 0: no cap",
      integerOption(0),
      DEFAULT_RECORDING_LIMITS.maxSeconds,
    )
    .addOption(
      new Option(
        "--min-free-disk <SIZE>",
        "free space to keep where recordings go: below it no recording starts and a running one ends; bytes, or with K, M, G; 0: none",
      )
        .argParser(byteSizeOption(0))
        .default(DEFAULT_RECORDING_LIMITS.minFreeBytes, "512M"),
    )
    .option("--consume <NAME>", "also receive every producer with this name (e.g. a webrtcsink pipeline)")
    .addHelpText("after", `\n${VIDEO_SOURCE_HELP}\n\n${AUDIO_SOURCE_HELP}\n\n${SPEAKER_HELP}`);
}

export function deviceCommand(): Command {
  const command = new Command("device")
    .description(
      "Run the device: send its camera and microphone (or files, an image, speech, test signals) to every " +
        "browser that asks, through a signalling server.",
    )
    .requiredOption("--server <URL>", "the signalling server, ws://HOST:PORT or wss://HOST:PORT")
    .option("--ca <FILE>", "a CA certificate (PEM) to trust for wss://")
    .option(
      "--token-file <FILE>",
      "a file holding the bearer token for the signalling server (device-rtc signalling --auth-token-file)",
    );
  addDeviceOptions(command);
  addMetricsOptions(command);
  return command
    .addHelpText(
      "after",
      `
Examples:
  device-rtc device --server ws://127.0.0.1:8443
  device-rtc device --server wss://pi.local:8443 --ca ca.crt --video camera:/dev/video0 --audio mic:sysdefault:CARD=Device
  device-rtc device --server ws://127.0.0.1:8443 --video file:/srv/clip.mp4 --audio "tts:Hello from the device" --codec h264`,
    )
    .action(async (flags: DeviceFlags & MetricsFlags & { server: string; tokenFile?: string }) => {
      const log = createLogger("device");
      let signallingHeaders: Record<string, string> | undefined;
      if (flags.tokenFile !== undefined) {
        let token: string;
        try {
          token = readFileSync(flags.tokenFile, "utf8").trim();
        } catch {
          throw new UsageError(`cannot read the token file ${flags.tokenFile}`);
        }
        signallingHeaders = { authorization: `Bearer ${token}` };
      }
      const options = deviceOptionsFrom(flags, log);
      let device: Device | undefined;
      const metrics = await startMetrics(
        flags,
        {
          status: () => device?.status(),
          recordings: new Recordings(options.recordDirectory, () => device?.recordingPaths() ?? []),
          versions,
        },
        log,
      );
      const running = await openOrUndo(
        () => Device.create({ ...options, server: flags.server, signallingHeaders }),
        () => metrics.close(),
      );
      device = running;
      exitOnSignal(log, async () => {
        await running.close();
        await metrics.close();
      });
    });
}

/** Turns parsed flags into {@link DeviceOptions} (without the server URL). */
export function deviceOptionsFrom(
  flags: DeviceFlags,
  logger: DeviceOptions["logger"],
): Omit<DeviceOptions, "server"> {
  if (flags.width % 2 || flags.height % 2) throw new UsageError("--width and --height must be even");
  let ladder: Rung[];
  try {
    ladder = parseLadder(flags.ladder, {
      width: flags.width,
      height: flags.height,
      bitrateKbps: flags.bitrate,
    });
  } catch (error) {
    throw error instanceof LadderError ? new UsageError(error.message) : error;
  }
  const videoSettings: VideoSettings = {
    codec: flags.codec,
    width: flags.width,
    height: flags.height,
    framerate: flags.framerate,
    bitrateKbps: flags.bitrate,
    keyframeIntervalSeconds: flags.keyframeInterval,
    ladder,
  };
  let ca: Buffer | undefined;
  if (flags.ca) {
    try {
      ca = readFileSync(flags.ca);
    } catch {
      throw new UsageError(`cannot read the CA certificate ${flags.ca}`);
    }
  }
  const turn = turnSettingsFrom(flags);
  const iceProblem = iceSettingsProblem(flags.iceServer, turn);
  if (iceProblem) throw new UsageError(`--ice-server: ${iceProblem}`);
  const videoModes = new Set(flags.incomingVideo.split(",").map((mode) => mode.trim()));
  videoModes.delete("discard");
  for (const mode of videoModes) {
    if (mode !== "record" && mode !== "echo") {
      throw new UsageError(
        `--incoming-video: unknown mode "${mode}" (discard, record, echo, or record,echo)`,
      );
    }
  }
  return {
    incoming: { audio: flags.incomingAudio, video: videoModes as Set<"record" | "echo"> },
    speaker: parseSpeakerSink(flags.speaker),
    maxTalkers: flags.maxTalkers,
    echoCancel: flags.echoCancel,
    recordDirectory: resolve(flags.recordDir),
    recordingLimits: {
      maxBytes: flags.maxRecordingBytes,
      maxSeconds: flags.maxRecordingSeconds,
      minFreeBytes: flags.minFreeDisk,
    },
    consume: flags.consume,
    name: flags.name,
    video: flags.video ? parseVideoSource(flags.video) : defaultVideoSource(),
    audio: flags.audio ? parseAudioSource(flags.audio) : defaultAudioSource(),
    videoSettings,
    fallbackToTest: flags.fallback === "test",
    ice: { iceServers: flags.iceServer, turn, turnLabel: flags.name, loopbackOnly: flags.loopbackOnly },
    ca,
    logger,
  };
}

/** The TURN secret from `--turn-secret-file` (surrounding whitespace ignored, like a token file), if given. */
export function turnSettingsFrom(
  flags: Pick<DeviceFlags, "turnSecretFile" | "turnCredentialTtl">,
): TurnRestSettings | undefined {
  if (flags.turnSecretFile === undefined) return undefined;
  let secret: string;
  try {
    secret = readFileSync(flags.turnSecretFile, "utf8").trim();
  } catch {
    throw new UsageError(`cannot read the TURN secret file ${flags.turnSecretFile}`);
  }
  if (secret === "") throw new UsageError(`the TURN secret file ${flags.turnSecretFile} is empty`);
  return { secret, ttlSeconds: flags.turnCredentialTtl };
}
