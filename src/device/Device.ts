/**
 * The device agent: opens its outgoing streams (one encoder each, shared by every viewer) and serves
 * them as a producer peer; receives browsers as a passive consumer peer (speaker, recordings, echoes).
 * The composition root of `device-rtc device` and of the device half of `device-rtc serve`.
 */
import type { Logger } from "../common/logger.ts";
import { encodableVideoCodecs } from "../media/codecs.ts";
import { TTS_PAUSE_MS } from "../media/constants.ts";
import { MediaStartError, OutgoingStream } from "../media/OutgoingStream.ts";
import {
  audioPipeline,
  ladderLayers,
  type RtpTarget,
  type VideoSettings,
  videoPipeline,
} from "../media/pipelines.ts";
import { makeDirectoryPrivate } from "../media/Recorder.ts";
import type { RecordingLimits } from "../media/RecordingLimits.ts";
import { SourceFailover } from "../media/SourceFailover.ts";
import { ECHO_PROBE, SpeakerMixer, type SpeakerSink } from "../media/SpeakerMixer.ts";
import {
  type AudioSource,
  checkAudioSource,
  checkVideoSource,
  describeAudioSource,
  describeVideoSource,
  SourceError,
  type VideoSource,
} from "../media/sources.ts";
import { TestPattern } from "../media/TestPattern.ts";
import { DeviceProducer } from "./DeviceProducer.ts";
import { DeviceReceiver, type IncomingModes } from "./DeviceReceiver.ts";
import { SignallingClient } from "./SignallingClient.ts";
import type { DeviceStatus, SourceState, SourceStatus } from "./status.ts";
import { type IceSettings, parseIceServer } from "./webrtc.ts";

export interface DeviceOptions {
  /** What to do with what browsers send. */
  incoming: IncomingModes;
  /** Where browsers' voices are played (incoming audio "speaker"). */
  speaker: SpeakerSink;
  /** How many browsers can talk at once. */
  maxTalkers: number;
  /** Cancel the speaker's echo in the microphone (when both are in use). */
  echoCancel: boolean;
  recordDirectory: string;
  /** Each recording's size and duration caps, and the free disk space below which none starts or runs. */
  recordingLimits: RecordingLimits;
  /** Actively consume producers of this name. */
  consume?: string | undefined;
  /** ws:// or wss:// URL of the signalling server. */
  server: string;
  /** The producer's meta name, shown to viewers. */
  name: string;
  video: VideoSource;
  audio: AudioSource;
  videoSettings: VideoSettings;
  /** When a source fails: use the test source instead (with a warning) rather than stop. */
  fallbackToTest: boolean;
  ice: IceSettings;
  /** Extra CA (PEM) to trust for wss://. */
  ca?: string | Buffer | undefined;
  /** Headers of every signalling connection, e.g. the device's credential (docs/SECURITY.md). */
  signallingHeaders?: Record<string, string> | undefined;
  logger: Logger;
}

/** How a source started: the stream, and why the configured source was replaced by the test source. */
interface Opened {
  stream: OutgoingStream | undefined;
  fallbackReason?: string | undefined;
  /** Switches the video to a stand-in while its source is away, and back (src/media/SourceFailover.ts). */
  failover?: SourceFailover | undefined;
}

export class Device {
  readonly #options: DeviceOptions;
  readonly #startedAt = new Date().toISOString();
  readonly #sources: { video: SourceStatus; audio: SourceStatus };
  readonly #video: OutgoingStream | undefined;
  readonly #audio: OutgoingStream | undefined;
  readonly #speaker: SpeakerMixer | undefined;
  readonly #producer: DeviceProducer;
  readonly #receiver: DeviceReceiver;
  readonly #log: Logger;
  #closed = false;

  private constructor(
    options: DeviceOptions,
    video: Opened,
    audio: Opened,
    speaker: SpeakerMixer | undefined,
  ) {
    this.#options = options;
    const now = new Date().toISOString();
    const sourceStatus = (kind: string, description: string, opened: Opened): SourceStatus => ({
      kind,
      description,
      state:
        opened.failover?.state ?? (opened.fallbackReason ? "unavailable" : opened.stream ? "live" : "none"),
      reason: opened.failover ? opened.failover.reason : opened.fallbackReason,
      since: now,
    });
    this.#sources = {
      video: sourceStatus(options.video.kind, describeVideoSource(options.video), video),
      audio: sourceStatus(options.audio.kind, describeAudioSource(options.audio), audio),
    };
    video.failover?.on("state", (state, reason) => this.setSourceState("video", state, reason));
    this.#video = video.stream;
    this.#audio = audio.stream;
    this.#speaker = speaker;
    this.#log = options.logger;
    const client = (peer: string) =>
      new SignallingClient({
        url: options.server,
        logger: options.logger.child({ peer }),
        ca: options.ca,
        headers: options.signallingHeaders,
      });
    this.#producer = new DeviceProducer({
      client: client("producer"),
      meta: { name: options.name },
      video: video.stream,
      audio: audio.stream,
      ice: options.ice,
      logger: options.logger,
    });
    this.#receiver = new DeviceReceiver({
      client: client("consumer"),
      name: options.name,
      modes: options.incoming,
      speaker,
      recordDirectory: options.recordDirectory,
      recordingLimits: options.recordingLimits,
      echo: {
        settings: options.videoSettings,
        server: options.server,
        ca: options.ca,
        headers: options.signallingHeaders,
      },
      ice: options.ice,
      videoCodecs: options.videoSettings.codec === "h264" ? ["h264", "vp8"] : ["vp8", "h264"],
      consume: options.consume ? { name: options.consume, watcher: client("watcher") } : undefined,
      logger: options.logger,
    });
  }

  /**
   * Opens the sources and connects. A source that cannot be used is a {@link SourceError} (or, with
   * `fallbackToTest`, a warning and the test source); nothing is left running on failure.
   */
  static async create(options: DeviceOptions): Promise<Device> {
    const log = options.logger;
    tightenRecordDirectory(options.recordDirectory, log);
    let video: Opened = { stream: undefined };
    let audio: Opened = { stream: undefined };
    let speaker: SpeakerMixer | undefined;
    // Echo cancellation when the microphone streams while browsers talk: the speaker branch then runs
    // inside the microphone's process (webrtcdsp needs its probe in the same pipeline).
    const echoCancel =
      options.echoCancel && options.incoming.audio === "speaker" && options.audio.kind === "mic";
    let speakerEmbedded = false;
    try {
      if (options.incoming.audio === "speaker") {
        speaker = await SpeakerMixer.create({
          sink: options.speaker,
          slots: options.maxTalkers,
          echoProbe: echoCancel,
          logger: log,
        });
      }
      // A video source that failed at start is watched like one that goes away later: the stand-in is
      // sent until it is usable (a camera plugged in after the device started).
      video = await openWithFallback(
        options.video,
        describeVideoSource,
        (source) => openVideo(source, options),
        options.fallbackToTest ? (reason) => openVideo(options.video, options, reason) : undefined,
        "video",
        log,
      );
      audio = await openWithFallback(
        options.audio,
        describeAudioSource,
        (source) => {
          const aec = echoCancel && speaker && source.kind === "mic" ? speaker : undefined;
          speakerEmbedded = aec !== undefined;
          return openAudio(source, options, aec);
        },
        options.fallbackToTest
          ? () => {
              speakerEmbedded = false;
              return openAudio({ kind: "test" }, options);
            }
          : undefined,
        "audio",
        log,
      );
      if (speaker && !speakerEmbedded) speaker.start();
    } catch (error) {
      await Promise.all([video.stream?.close(), audio.stream?.close(), speaker?.close()]);
      throw error;
    }
    const device = new Device(options, video, audio, speaker);
    device.#producer.start();
    device.#receiver.start();
    log.info(
      {
        name: options.name,
        video: video.stream ? `${describeVideoSource(options.video)} ${options.videoSettings.codec}` : "none",
        audio: audio.stream ? describeAudioSource(options.audio) : "none",
        incomingAudio: options.incoming.audio,
        incomingVideo: [...options.incoming.video].join(",") || "discard",
        echoCancellation: speakerEmbedded,
        // The servers without their credentials; minted ones are said as such (never the secret).
        iceServers: options.ice.iceServers.map((url) => parseIceServer(url).urls),
        ...(options.ice.turn ? { turnCredentialTtlSeconds: options.ice.turn.ttlSeconds } : {}),
      },
      "device started",
    );
    return device;
  }

  /** A snapshot for the REST API and the metrics (src/device/status.ts). */
  status(): DeviceStatus {
    return {
      name: this.#options.name,
      startedAt: this.#startedAt,
      sources: { video: { ...this.#sources.video }, audio: { ...this.#sources.audio } },
      streams: [this.#video, this.#audio].flatMap((stream) => stream?.status() ?? []),
      viewers: this.#producer.status(),
      senders: this.#receiver.status(),
      incoming: { audio: this.#options.incoming.audio, video: [...this.#options.incoming.video] },
    };
  }

  /**
   * Says whether a source delivers (the contract with the page, src/device/status.ts `SourceState`):
   * the video's {@link SourceFailover} calls this when its source goes away and when it is back.
   */
  setSourceState(kind: "video" | "audio", state: SourceState, reason?: string): void {
    const source = this.#sources[kind];
    if (source.state === state && source.reason === reason) return;
    this.#sources[kind] = { ...source, state, reason, since: new Date().toISOString() };
    this.#log[state === "unavailable" ? "warn" : "info"]({ kind, state, reason }, `${kind} source ${state}`);
  }

  /** Where recordings are written. */
  get recordDirectory(): string {
    return this.#options.recordDirectory;
  }

  /** The files being recorded now. */
  recordingPaths(): string[] {
    return this.#receiver.recordingPaths();
  }

  /** Starts recording a sender (see {@link DeviceReceiver.startRecording}). */
  startRecording(sessionId: string): Promise<{ path: string; started: boolean }> {
    return this.#receiver.startRecording(sessionId);
  }

  /** Stops recording a sender (see {@link DeviceReceiver.stopRecording}). */
  stopRecording(sessionId: string): Promise<string | undefined> {
    return this.#receiver.stopRecording(sessionId);
  }

  /** Ends every session (with endSession), stops every GStreamer process. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#producer.close(), this.#receiver.close()]);
    await Promise.all([this.#video?.close(), this.#audio?.close(), this.#speaker?.close()]);
    this.#log.info("device stopped");
  }
}

/** Opens `source`; when it fails, `fallback` (with why) opens the test source instead, if given. */
async function openWithFallback<S extends { kind: string }>(
  source: S,
  describe: (source: S) => string,
  open: (source: S) => Promise<Opened>,
  fallback: ((reason: string) => Promise<Opened>) | undefined,
  what: "video" | "audio",
  log: Logger,
): Promise<Opened> {
  try {
    return await open(source);
  } catch (error) {
    const reason =
      error instanceof SourceError
        ? error.message
        : `${what} source ${describe(source)}: ${(error as Error).message}`;
    if (!fallback || !(error instanceof SourceError || error instanceof MediaStartError)) {
      throw error instanceof MediaStartError ? new SourceError(reason) : error;
    }
    log.warn({ reason, fallback: "test" }, `${what} source failed; using the test source`);
    return { ...(await fallback(reason)), fallbackReason: reason };
  }
}

/**
 * Opens the video. Every source but the test pattern gets a {@link SourceFailover}; `unavailable` (why
 * the source failed at start) makes it begin with the stand-in.
 */
async function openVideo(source: VideoSource, options: DeviceOptions, unavailable?: string): Promise<Opened> {
  if (source.kind === "none") return { stream: undefined };
  if (unavailable === undefined) checkVideoSource(source);
  const settings = options.videoSettings;
  if (source.kind === "test") {
    const stream = await OutgoingStream.create({
      kind: "video",
      codec: settings.codec,
      otherCodecs: encodableVideoCodecs(settings.codec),
      logger: options.logger,
      feeder: new TestPattern({
        width: settings.width,
        height: settings.height,
        framerate: settings.framerate,
        logger: options.logger,
      }),
      layers: ladderLayers(settings),
      pipeline: (targets) => videoPipeline(source, settings, targets),
    });
    return { stream };
  }
  const failover = new SourceFailover({ source, settings, logger: options.logger, unavailable });
  const stream = await OutgoingStream.create({
    kind: "video",
    codec: settings.codec,
    otherCodecs: encodableVideoCodecs(settings.codec),
    logger: options.logger,
    // Files loop; a camera whose stream ends is started again too — or given up for the stand-in.
    restartOnEos: true,
    feeder: failover,
    layers: ladderLayers(settings),
    pipeline: (targets) => failover.pipeline(targets),
  });
  return { stream, failover };
}

async function openAudio(
  source: AudioSource,
  options: DeviceOptions,
  echoCancelWith?: SpeakerMixer,
): Promise<Opened> {
  if (source.kind === "none") return { stream: undefined };
  checkAudioSource(source);
  const aec = echoCancelWith ? { speakerTokens: echoCancelWith.tokens(), probe: ECHO_PROBE } : undefined;
  const stream = await OutgoingStream.create({
    kind: "audio",
    codec: "opus",
    logger: options.logger,
    restartOnEos: source.kind === "file" || source.kind === "tts",
    restartOnEosDelayMs: source.kind === "tts" ? TTS_PAUSE_MS : 0,
    pipeline: ([target]) => audioPipeline(source, target as RtpTarget, aec),
  });
  return { stream };
}

/**
 * Makes an existing record directory private (0700) at start; a missing one is created so when the
 * first recording starts. A problem with it costs recordings only, never the device: it is a warning.
 */
function tightenRecordDirectory(directory: string, log: Logger): void {
  let privacy: ReturnType<typeof makeDirectoryPrivate>;
  try {
    privacy = makeDirectoryPrivate(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    log.warn({ directory, err: (error as Error).message }, "the record directory cannot be used");
    return;
  }
  if (privacy === "tightened") log.info({ directory }, "record directory made private (0700)");
  if (privacy === "shared")
    log.warn(
      { directory },
      "the record directory is shared (sticky, or another user's) and left as it is; each recording in it is private (0600)",
    );
}
