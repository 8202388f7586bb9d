/**
 * The device's speaker: every talking browser's Opus, mixed and played.
 *
 * A gst-launch pipeline cannot grow inputs while it runs, so the mixer has a fixed number of slots
 * (`udpsrc` → small jitter buffer → Opus decoder → `audiomixer`), plus a silent live input so it plays
 * continuously whoever talks. Node gives each talker a free slot and forwards its RTP there, rewritten
 * to the slot's fixed SSRC with continuous sequence numbers, so one slot serves talker after talker.
 *
 * The speaker branch can run in its own process or inside the microphone's process: echo cancellation
 * needs `webrtcechoprobe` (here, on what the speaker plays) and `webrtcdsp` (on the microphone) in the
 * same process.
 */
import { existsSync, readFileSync } from "node:fs";
import type { Logger } from "../common/logger.ts";
import { CODECS } from "./codecs.ts";
import {
  METER_INTERVAL_NS,
  METER_ONSET_DB,
  METER_ONSET_SILENCE_MS,
  SPEAKER_BUFFER_US,
  SPEAKER_JITTER_MS,
  SPEAKER_MIXER_LATENCY_NS,
  SPEAKER_PERIOD_US,
  SPEAKER_SILENCE_SAMPLES,
} from "./constants.ts";
import { GstProcess } from "./GstProcess.ts";
import { LoopbackRtpPort } from "./LoopbackRtpPort.ts";
import { gstString } from "./launchSyntax.ts";
import { rtpInputTokens } from "./pipelines.ts";
import type { RtpSink } from "./RtpSink.ts";

export type SpeakerSink =
  | { kind: "auto" }
  | { kind: "alsa"; device: string }
  | { kind: "pulse"; device?: string | undefined }
  | { kind: "file"; path: string }
  /** No speaker: log the onsets of sound (benchmarks). */
  | { kind: "meter" }
  /** No speaker at all. */
  | { kind: "none" };

export const SPEAKER_HELP = `Speaker (--speaker): where browsers' voices are played
  (default)            the system's default output (autoaudiosink); nothing if the machine has none
  DEVICE               an ALSA device, e.g. sysdefault:CARD=Device or hw:0,0
  pulse[:SINK]         PulseAudio/PipeWire, optionally a given sink
  file:PATH            a WAV file (for tests)
  meter                no sound: log "speaker onset" when sound starts (for latency benchmarks)`;

export function parseSpeakerSink(spec: string | undefined): SpeakerSink {
  if (spec === undefined || spec === "" || spec === "auto") return { kind: "auto" };
  if (spec === "meter") return { kind: "meter" };
  if (spec === "pulse" || spec.startsWith("pulse:"))
    return { kind: "pulse", device: spec.slice("pulse:".length) || undefined };
  if (spec.startsWith("file:")) return { kind: "file", path: spec.slice("file:".length) };
  return { kind: "alsa", device: spec };
}

/** Whether the machine has something to play sound on (ALSA playback, or a PulseAudio/PipeWire server). */
function hasAudioOutput(): boolean {
  try {
    if (/playback \d+/.test(readFileSync("/proc/asound/pcm", "utf8"))) return true;
  } catch {}
  const runtime = process.env.XDG_RUNTIME_DIR;
  return runtime !== undefined && existsSync(`${runtime}/pulse/native`);
}

/** The name of the `webrtcechoprobe` in the speaker branch, for the microphone's `webrtcdsp probe=`. */
export const ECHO_PROBE = "echoprobe";

/** The SSRC of slot `i` as the mixer sees it: "SPK" and the slot number. */
const SLOT_SSRC_BASE = 0x53504b00;

export interface SpeakerInputs {
  sink: SpeakerSink;
  /** The `udpsrc` port of each slot. */
  ports: readonly number[];
  /** Add a `webrtcechoprobe` named {@link ECHO_PROBE} for the microphone's echo canceller. */
  echoProbe: boolean;
}

function sinkTokens(sink: SpeakerSink): string[] {
  // A short device buffer: talk-back latency, and a short, steady echo path for the canceller.
  const buffer = [`buffer-time=${SPEAKER_BUFFER_US}`, `latency-time=${SPEAKER_PERIOD_US}`];
  switch (sink.kind) {
    case "auto":
      return ["autoaudiosink"];
    case "alsa":
      return ["alsasink", `device=${gstString(sink.device)}`, ...buffer];
    case "pulse":
      return ["pulsesink", ...(sink.device ? [`device=${gstString(sink.device)}`] : []), ...buffer];
    case "file":
      return ["wavenc", "!", "filesink", `location=${gstString(sink.path)}`];
    case "meter":
      return ["level", `interval=${METER_INTERVAL_NS}`, "post-messages=true", "!", "fakesink", "sync=true"];
    case "none":
      return ["fakesink", "sync=true"];
  }
}

/** The speaker branch of a pipeline: slots → mixer → sink (standalone, or inside the microphone's process). */
export function speakerPipeline(inputs: SpeakerInputs): string[] {
  const mix = "speakermix";
  const raw = ["audioconvert", "!", "audioresample", "!", "audio/x-raw,rate=48000,channels=2"];
  const probe = inputs.echoProbe
    ? [
        "audioconvert",
        "!",
        "audio/x-raw,format=S16LE,layout=interleaved,rate=48000",
        "!",
        "webrtcechoprobe",
        `name=${ECHO_PROBE}`,
        "!",
      ]
    : [];
  const tokens = [
    "audiomixer",
    `name=${mix}`,
    `latency=${SPEAKER_MIXER_LATENCY_NS}`,
    "!",
    ...probe,
    ...raw,
    "!",
    ...sinkTokens(inputs.sink),
    // A silent live input keeps the mixer (and the speaker) running when nobody talks.
    "audiotestsrc",
    "is-live=true",
    "wave=silence",
    `samplesperbuffer=${SPEAKER_SILENCE_SAMPLES}`,
    "!",
    "audio/x-raw,rate=48000,channels=2",
    "!",
    `${mix}.`,
  ];
  for (const port of inputs.ports) {
    tokens.push(
      ...rtpInputTokens(port, CODECS.opus, SPEAKER_JITTER_MS),
      "!",
      ...CODECS.opus.decoder,
      "!",
      ...raw,
      "!",
      "queue",
      "!",
      `${mix}.`,
    );
  }
  return tokens;
}

/** One talker's place in the mix, an {@link RtpSink} for its Opus RTP. Closing it frees the slot. */
export class SpeakerSlot implements RtpSink {
  readonly #port: LoopbackRtpPort;
  readonly #release: () => void;
  #closed = false;

  /** @internal {@link SpeakerMixer.acquire} makes slots. */
  constructor(port: LoopbackRtpPort, release: () => void) {
    this.#port = port;
    this.#release = release;
  }

  write(packet: Buffer): void {
    if (!this.#closed) this.#port.write(packet);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }
}

export interface SpeakerMixerOptions {
  sink: SpeakerSink;
  /** How many browsers can talk at once. */
  slots: number;
  /** Add a `webrtcechoprobe` (named {@link ECHO_PROBE}) for the microphone's echo canceller. */
  echoProbe: boolean;
  logger: Logger;
}

export class SpeakerMixer {
  readonly #ports: LoopbackRtpPort[];
  readonly #free: number[];
  readonly #log: Logger;
  readonly #sink: SpeakerSink;
  readonly #echoProbe: boolean;
  #process: GstProcess | undefined;
  #lastSound = Number.NEGATIVE_INFINITY;
  #closed = false;

  private constructor(options: SpeakerMixerOptions, ports: LoopbackRtpPort[]) {
    this.#ports = ports;
    this.#free = ports.map((_, i) => i);
    this.#echoProbe = options.echoProbe;
    this.#log = options.logger.child({ component: "speaker" });
    this.#sink = options.sink.kind === "auto" && !hasAudioOutput() ? { kind: "none" } : options.sink;
    if (this.#sink !== options.sink)
      this.#log.warn("no audio output on this machine: browsers' voices are not played");
  }

  static async create(options: SpeakerMixerOptions): Promise<SpeakerMixer> {
    const ports: LoopbackRtpPort[] = [];
    for (let i = 0; i < options.slots; i++) {
      ports.push(await LoopbackRtpPort.create({ codec: CODECS.opus, ssrc: SLOT_SSRC_BASE + i }));
    }
    return new SpeakerMixer(options, ports);
  }

  /** The speaker branch of a pipeline (standalone, or inside the microphone's process). */
  tokens(): string[] {
    return speakerPipeline({
      sink: this.#sink,
      ports: this.#ports.map((port) => port.port),
      echoProbe: this.#echoProbe,
    });
  }

  /** Runs the speaker in its own process (when it is not part of the microphone's). */
  start(): void {
    if (this.#process || this.#closed) return;
    const meter = this.#sink.kind === "meter";
    this.#process = new GstProcess({
      name: "speaker",
      logger: this.#log,
      pipeline: () => this.tokens(),
      flags: meter ? ["-m"] : [],
      onLine: meter ? (line) => this.#parseLevel(line) : undefined,
    });
    this.#process.start();
  }

  /** How many browsers can talk at once (`--max-talkers`). */
  get slots(): number {
    return this.#ports.length;
  }

  /** A slot for a new talker, or undefined when all are taken. */
  acquire(): SpeakerSlot | undefined {
    const index = this.#free.shift();
    const port = index === undefined ? undefined : this.#ports[index];
    if (index === undefined || !port) return undefined;
    this.#log.debug({ slot: index }, "talker added");
    return new SpeakerSlot(port, () => {
      if (!this.#free.includes(index)) this.#free.push(index);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#process?.close();
    await Promise.all(this.#ports.map((port) => port.close()));
  }

  /** `gst-launch-1.0 -m` prints each level message with its rms per channel. */
  #parseLevel(line: string): void {
    const match = line.match(/rms=\(GValueArray\)< ([-\d.e+]+|-inf)/);
    if (!match?.[1]) return;
    const rms = match[1] === "-inf" ? Number.NEGATIVE_INFINITY : Number(match[1]);
    const now = performance.now();
    if (rms > METER_ONSET_DB) {
      if (now - this.#lastSound > METER_ONSET_SILENCE_MS) {
        this.#log.info({ rmsDb: Math.round(rms) }, "speaker onset");
      }
      this.#lastSound = now;
    }
  }
}
