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
import { createSocket, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import type { Logger } from "../common/logger.ts";
import { GstProcess } from "./GstProcess.ts";
import { decoderTokens, depayTokens, setPayloadType } from "./incoming.ts";
import { freeUdpPort } from "./OutgoingStream.ts";
import { PAYLOAD_TYPES } from "./pipelines.ts";
import { RtpContinuity } from "./RtpContinuity.ts";

export type SpeakerSink =
  | { kind: "auto" }
  | { kind: "alsa"; device: string }
  | { kind: "pulse"; device?: string | undefined }
  | { kind: "file"; path: string }
  /** No speaker: measure the output level (benchmarks). */
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
    return { kind: "pulse", device: spec.slice(6) || undefined };
  if (spec.startsWith("file:")) return { kind: "file", path: spec.slice(5) };
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

export interface SpeakerMixerOptions {
  sink: SpeakerSink;
  /** How many browsers can talk at once. */
  slots: number;
  /** Add a `webrtcechoprobe` (named {@link ECHO_PROBE}) for the microphone's echo canceller. */
  echoProbe: boolean;
  /** Jitter buffer per talker: small, talk-back latency matters more than the odd late packet. */
  jitterBufferMs?: number;
  logger: Logger;
}

export const ECHO_PROBE = "echoprobe";

interface SpeakerEvents {
  /** The output level in dBFS (meter sink only), about every 10 ms. */
  level: [rmsDb: number];
  /** Sound started after at least 150 ms of silence (meter sink only). */
  onset: [rmsDb: number];
}

/** Above this output level (dBFS) the meter counts sound; below it, silence. */
const ONSET_DB = -45;

export class SpeakerSlot {
  readonly index: number;
  readonly #mixer: SpeakerMixer;
  readonly #continuity = new RtpContinuity(48_000);
  readonly #ssrc: number;
  #released = false;

  constructor(mixer: SpeakerMixer, index: number) {
    this.#mixer = mixer;
    this.index = index;
    this.#ssrc = 0x53504b00 + index; // "SPK" + slot
  }

  /** Forwards one Opus RTP packet of this talker. */
  write(packet: Buffer): void {
    if (this.#released) return;
    // Original SSRC decides continuity (a new talker is a new SSRC); the slot's own SSRC goes out.
    if (!this.#continuity.rewrite(packet)) return;
    packet.writeUInt32BE(this.#ssrc, 8);
    this.#mixer.send(this.index, setPayloadType(packet, PAYLOAD_TYPES.opus));
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#mixer.release(this);
  }
}

export class SpeakerMixer extends EventEmitter<SpeakerEvents> {
  readonly #options: SpeakerMixerOptions;
  readonly #ports: number[];
  readonly #socket: Socket;
  readonly #free: number[];
  readonly #log: Logger;
  readonly #sink: SpeakerSink;
  #process: GstProcess | undefined;
  #lastSound = Number.NEGATIVE_INFINITY;
  #closed = false;

  private constructor(options: SpeakerMixerOptions, ports: number[], socket: Socket) {
    super();
    this.#options = options;
    this.#ports = ports;
    this.#socket = socket;
    this.#free = ports.map((_, i) => i);
    this.#log = options.logger.child({ component: "speaker" });
    this.#sink = options.sink.kind === "auto" && !hasAudioOutput() ? { kind: "none" } : options.sink;
    if (this.#sink !== options.sink)
      this.#log.warn("no audio output on this machine: browsers' voices are not played");
  }

  static async create(options: SpeakerMixerOptions): Promise<SpeakerMixer> {
    const ports: number[] = [];
    for (let i = 0; i < options.slots; i++) ports.push(await freeUdpPort());
    const socket = createSocket("udp4");
    await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
    return new SpeakerMixer(options, ports, socket);
  }

  /** Talkers that can still be added. */
  get freeSlots(): number {
    return this.#free.length;
  }

  /** The speaker branch of a pipeline (standalone, or inside the microphone's process). */
  tokens(): string[] {
    const latency = this.#options.jitterBufferMs ?? 40;
    const mix = "speakermix";
    const raw = ["audioconvert", "!", "audioresample", "!", "audio/x-raw,rate=48000,channels=2"];
    const probe = this.#options.echoProbe
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
      "latency=20000000",
      "!",
      ...probe,
      ...raw,
      "!",
      ...this.#sinkTokens(),
      // A silent live input keeps the mixer (and the speaker) running when nobody talks.
      "audiotestsrc",
      "is-live=true",
      "wave=silence",
      "samplesperbuffer=480",
      "!",
      "audio/x-raw,rate=48000,channels=2",
      "!",
      `${mix}.`,
    ];
    for (const port of this.#ports) {
      tokens.push(
        ...depayTokens(port, "opus", latency),
        "!",
        ...decoderTokens("opus"),
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

  /** Runs the speaker in its own process (when it is not part of the microphone's). */
  start(): void {
    if (this.#process || this.#closed) return;
    const meter = this.#sink.kind === "meter";
    this.#process = new GstProcess({
      name: "speaker",
      logger: this.#options.logger,
      pipeline: () => this.tokens(),
      flags: meter ? ["-m"] : [],
      onLine: meter ? (line) => this.#parseLevel(line) : undefined,
    });
    this.#process.start();
  }

  /** A slot for a new talker, or undefined when all are taken. */
  acquire(): SpeakerSlot | undefined {
    const index = this.#free.shift();
    if (index === undefined) return undefined;
    this.#log.debug({ slot: index }, "talker added");
    return new SpeakerSlot(this, index);
  }

  /** @internal */
  send(index: number, packet: Buffer): void {
    const port = this.#ports[index];
    if (!this.#closed && port !== undefined) this.#socket.send(packet, port, "127.0.0.1");
  }

  /** @internal */
  release(slot: SpeakerSlot): void {
    if (!this.#free.includes(slot.index)) this.#free.push(slot.index);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#process?.close();
    this.#socket.close();
  }

  #sinkTokens(): string[] {
    const sink = this.#sink;
    switch (sink.kind) {
      case "auto":
        return ["autoaudiosink"];
      // A short device buffer: talk-back latency, and a short, steady echo path for the canceller.
      case "alsa":
        return ["alsasink", `device=${sink.device}`, "buffer-time=60000", "latency-time=10000"];
      case "pulse":
        return [
          "pulsesink",
          ...(sink.device ? [`device=${sink.device}`] : []),
          "buffer-time=60000",
          "latency-time=10000",
        ];
      case "file":
        return ["wavenc", "!", "filesink", `location=${sink.path}`];
      case "meter":
        return ["level", "interval=10000000", "post-messages=true", "!", "fakesink", "sync=true"];
      case "none":
        return ["fakesink", "sync=true"];
    }
  }

  /** `gst-launch-1.0 -m` prints each level message with its rms per channel. */
  #parseLevel(line: string): void {
    const match = line.match(/rms=\(GValueArray\)< ([-\d.e+]+|-inf)/);
    if (!match?.[1]) return;
    const rms = match[1] === "-inf" ? Number.NEGATIVE_INFINITY : Number(match[1]);
    this.emit("level", rms);
    const now = performance.now();
    if (rms > ONSET_DB) {
      if (now - this.#lastSound > 150) {
        this.emit("onset", rms);
        this.#log.info({ rmsDb: Math.round(rms) }, "speaker onset");
      }
      this.#lastSound = now;
    }
  }
}
