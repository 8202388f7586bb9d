/**
 * The device as a receiver, like webrtcsrc in passive-consumer mode (docs/PROTOCOL.md §6 E): a second
 * peer registered `{"roles":["consumer"],"meta":{"name":…}}` that browsers send to with gstwebrtc-api's
 * `createProducerSessionForConsumer`. With `consume`, it also actively consumes every producer of a
 * given name, the way webrtcsrc's connect-to-first-producer does.
 *
 * Each sender's audio goes to the speaker, a recording, or nowhere; its video to a recording, an echo
 * producer, both, or nowhere — see {@link IncomingModes}. Each of those is an {@link RtpSink}
 * subscribed to the session. Senders' names enter here, and are normalised here, once.
 */
import { basename } from "node:path";
import type { Logger } from "../common/logger.ts";
import { normalizeName } from "../common/names.ts";
import type { VideoCodecName } from "../media/codecs.ts";
import type { VideoSettings } from "../media/pipelines.ts";
import { Recorder } from "../media/Recorder.ts";
import { LowDiskSpaceError, type RecordingLimits } from "../media/RecordingLimits.ts";
import { isKeyframeStart } from "../media/rtpPayload.ts";
import type { SpeakerMixer, SpeakerSlot } from "../media/SpeakerMixer.ts";
import { JsonValue, type Meta, metaName, type ServerMessage } from "../protocol/index.ts";
import { CONSUME_AGAIN_MS, SENDER_NAME_WAIT_MS } from "./constants.ts";
import { EchoProducer } from "./EchoProducer.ts";
import { RecordingUnavailableError, UnknownSessionError } from "./errors.ts";
import { IncomingSession } from "./IncomingSession.ts";
import type { SignallingClient } from "./SignallingClient.ts";
import { SignallingRole } from "./SignallingRole.ts";
import type { SenderStatus } from "./status.ts";
import type { IceSettings } from "./webrtc.ts";

export type IncomingAudioMode = "speaker" | "record" | "discard";
export type IncomingVideoMode = "record" | "echo";

export interface IncomingModes {
  audio: IncomingAudioMode;
  /** Empty: the video is discarded (not even decoded). */
  video: ReadonlySet<IncomingVideoMode>;
}

export interface DeviceReceiverOptions {
  client: SignallingClient;
  name: string;
  modes: IncomingModes;
  speaker: SpeakerMixer | undefined;
  recordDirectory: string;
  /** Each recording's size and duration caps, and the free disk space below which none starts or runs. */
  recordingLimits: RecordingLimits;
  /** For echo producers: their settings and how they reach the signalling server. */
  echo: {
    settings: VideoSettings;
    server: string;
    ca?: string | Buffer | undefined;
    headers?: Record<string, string> | undefined;
  };
  ice: IceSettings;
  videoCodecs: VideoCodecName[];
  /** Actively consume producers of this name; `watcher` is a listener connection to see them come. */
  consume?: { name: string; watcher: SignallingClient } | undefined;
  logger: Logger;
}

/** What one incoming session feeds. */
interface Sinks {
  slot?: SpeakerSlot | undefined;
  recorder?: Recorder | undefined;
  /** Unsubscribes the recorder from the session (a recording stopped through the API). */
  unsubscribeRecorder?: (() => void) | undefined;
  /** A keyframe has reached the recorder's file (see {@link subscribeRecorder}). */
  recorderHasKeyframe?: boolean;
  echo?: EchoProducer | undefined;
  /** Set up (what the modes ask for has started): the API may add or stop a recording. */
  ready?: boolean;
}

/** Frees the speaker slot, finalizes the recording, stops the echo. Each close is idempotent. */
async function closeSinks(sinks: Sinks): Promise<void> {
  sinks.slot?.close();
  await Promise.all([sinks.recorder?.close(), sinks.echo?.close()]);
}

/** A peer's name as the device shows it: its meta name, normalised, else the start of its id. */
function displayName(meta: Meta, peerId: string): string {
  return normalizeName(metaName(meta) ?? "", peerId.slice(0, 8));
}

export class DeviceReceiver extends SignallingRole<IncomingSession> {
  readonly #options: DeviceReceiverOptions;
  readonly #sinks = new Map<string, Sinks>();
  readonly #releasing = new Set<Promise<void>>();
  /** Producers' display names by id, from `list` replies and the watcher. */
  readonly #producerNames = new Map<string, string>();
  readonly #listWaiters: Array<() => void> = [];
  /** Producers being consumed because of `consume`. */
  readonly #consumed = new Set<string>();
  /** Sessions whose recording the API is starting. */
  readonly #starting = new Set<string>();
  /** Senders' names by session id, once known. */
  readonly #senderNames = new Map<string, string>();

  constructor(options: DeviceReceiverOptions) {
    super(
      {
        client: options.client,
        meta: { name: options.name },
        logger: options.logger.child({ peer: "consumer" }),
      },
      "consumer",
    );
    this.#options = options;
    const watcher = options.consume?.watcher;
    if (watcher) {
      watcher.on("welcome", () => {
        watcher.send({
          type: "setPeerStatus",
          roles: ["listener"],
          meta: JsonValue.from({ name: `${options.name} watcher` }),
        });
        watcher.send({ type: "list" });
      });
      watcher.on("message", (message) => this.#watch(message));
    }
  }

  override start(): void {
    super.start();
    this.#options.consume?.watcher.connect();
  }

  /** Finalizes recordings and stops echoes once every session has ended. */
  protected override async onClose(): Promise<void> {
    await Promise.all(this.#releasing);
    await this.#options.consume?.watcher.close();
  }

  protected override onRegistered(): void {
    // Producers that appeared while we were away.
    if (this.#options.consume) this.#options.consume.watcher.send({ type: "list" });
  }

  protected override onDisconnected(): void {
    this.#consumed.clear();
  }

  protected override handleMessage(message: ServerMessage): void {
    if (message.type === "sessionStarted") {
      this.#startSession(message.sessionId, message.peerId);
    } else if (message.type === "list") {
      for (const producer of message.producers)
        this.#producerNames.set(producer.id, displayName(producer.meta, producer.id));
      for (const wake of this.#listWaiters.splice(0)) wake();
    }
  }

  /** The sender's name, asked of the server (it is registered as a producer). */
  async #senderName(senderId: string): Promise<string> {
    const known = this.#producerNames.get(senderId);
    if (known) return known;
    await new Promise<void>((resolve) => {
      this.#listWaiters.push(resolve);
      this.client.send({ type: "list" });
      setTimeout(resolve, SENDER_NAME_WAIT_MS).unref();
    });
    return this.#producerNames.get(senderId) ?? senderId.slice(0, 8);
  }

  #startSession(sessionId: string, senderId: string): void {
    if (this.closed || this.hasSession(sessionId)) return;
    // gstwebrtc-api asks for a session each time the server echoes its producer registration: a page
    // that closes one producer session and starts the next before the first echo arrives (Talk, then
    // Camera at once) asks twice for the same stream. One sender is one session: one recording, one
    // speaker slot. Its own ended session was forgotten before this (endSession comes first).
    const current = this.sessions.find((session) => session.peerId === senderId);
    if (current) {
      this.log.warn(
        { sessionId, senderId, current: current.sessionId },
        "a second session from a sender already sending: ended, the first one goes on",
      );
      this.client.send({ type: "endSession", sessionId });
      return;
    }
    const session = new IncomingSession({
      sessionId,
      peerId: senderId,
      ice: this.#options.ice,
      videoCodecs: this.#options.videoCodecs,
      send: (message) => this.client.send(message),
      logger: this.log,
    });
    this.addSession(session);
    const name = this.#senderName(senderId);
    void name.then((senderName) => {
      if (!session.closed) this.#senderNames.set(sessionId, senderName);
    });
    session.once("negotiated", () => {
      void name.then((senderName) => this.#connectSinks(session, senderName));
    });
    session.once("closed", () => {
      this.#senderNames.delete(sessionId);
      const released = this.#releaseSinks(sessionId);
      this.#releasing.add(released);
      void released.finally(() => this.#releasing.delete(released));
      if (this.#consumed.delete(senderId) && !this.closed) this.#consumeLater();
    });
    this.log.info({ sessionId, senderId, senders: this.sessionCount }, "sender session started");
  }

  async #connectSinks(session: IncomingSession, senderName: string): Promise<void> {
    const media = session.media;
    if (session.closed || !media) return;
    const { modes, speaker } = this.#options;
    const sinks: Sinks = {};
    this.#sinks.set(session.sessionId, sinks);
    if (media.audio && modes.audio === "speaker" && speaker) {
      sinks.slot = speaker.acquire();
      if (!sinks.slot)
        this.log.warn(
          { senderName, slots: speaker.slots },
          `every speaker slot is taken (--max-talkers ${speaker.slots}): this sender is not played`,
        );
    }
    const recordVideo = modes.video.has("record") && media.video !== undefined;
    const recordAudio = media.audio && (modes.audio === "record" || recordVideo);
    if (recordVideo || recordAudio) {
      try {
        sinks.recorder = await this.#newRecorder(session.sessionId, senderName, {
          video: recordVideo ? media.video : undefined,
          audio: recordAudio,
        });
      } catch (error) {
        // Without a recording the session goes on: the speaker and the echo are still set up.
        if (!(error instanceof LowDiskSpaceError))
          this.log.error(
            { err: (error as Error).message, senderName },
            "could not start recording this sender",
          );
      }
    }
    try {
      if (modes.video.has("echo") && media.video) {
        sinks.echo = await EchoProducer.create({
          deviceName: this.#options.name,
          senderName,
          senderId: session.peerId,
          input: media.video,
          settings: this.#options.echo.settings,
          server: this.#options.echo.server,
          ca: this.#options.echo.ca,
          headers: this.#options.echo.headers,
          ice: this.#options.ice,
          logger: this.log,
        });
      }
    } catch (error) {
      this.log.error(
        { err: (error as Error).message, senderName },
        "could not start the echo of this sender",
      );
    }
    if (session.closed) {
      // The session ended while the sinks were starting: what started since is closed here.
      await closeSinks(sinks);
      return;
    }
    if (sinks.slot) session.subscribe("audio", sinks.slot);
    if (sinks.echo) session.subscribe("video", sinks.echo);
    if (sinks.recorder) sinks.unsubscribeRecorder = subscribeRecorder(session, sinks, media.video);
    sinks.ready = true;
    // Whatever decodes or records the video starts on a keyframe: asked for until each has one.
    if (sinks.recorder?.video || sinks.echo) session.requestKeyframe(() => videoConsumersHaveKeyframe(sinks));
  }

  /**
   * Starts a recorder for the session; one that reaches a limit is ended as a normal end is.
   * @throws LowDiskSpaceError (logged here), or the recorder's failure to start
   */
  async #newRecorder(
    sessionId: string,
    senderName: string,
    what: { video: VideoCodecName | undefined; audio: boolean },
  ): Promise<Recorder> {
    let recorder: Recorder;
    try {
      recorder = await Recorder.create({
        directory: this.#options.recordDirectory,
        senderName,
        video: what.video,
        audio: what.audio,
        limits: this.#options.recordingLimits,
        logger: this.log,
      });
    } catch (error) {
      if (error instanceof LowDiskSpaceError) {
        this.log.warn(
          {
            sessionId,
            senderName,
            limit: "--min-free-disk",
            freeBytes: error.freeBytes,
            minFreeBytes: error.minFreeBytes,
            directory: this.#options.recordDirectory,
          },
          "not recording this sender: free disk space is below --min-free-disk",
        );
      }
      throw error;
    }
    recorder.once("limit", () => {
      const ended = this.#endRecording(sessionId, recorder);
      this.#releasing.add(ended);
      void ended.finally(() => this.#releasing.delete(ended));
    });
    return recorder;
  }

  /** Ends the session's recording, if it is `recorder`: unsubscribes it, then finalizes the file. */
  async #endRecording(sessionId: string, recorder: Recorder): Promise<void> {
    const sinks = this.#sinks.get(sessionId);
    if (sinks?.recorder === recorder) {
      sinks.unsubscribeRecorder?.();
      sinks.recorder = undefined;
      sinks.unsubscribeRecorder = undefined;
    }
    await recorder.close();
  }

  /** Every sender, its stats and its recording. */
  status(): SenderStatus[] {
    return this.sessions.map((session) => ({
      ...session.status(),
      name: this.#senderNames.get(session.sessionId) ?? session.peerId.slice(0, 8),
      recording: recordingName(this.#sinks.get(session.sessionId)?.recorder?.path),
    }));
  }

  /** The files being recorded now. */
  recordingPaths(): string[] {
    const paths: string[] = [];
    for (const sinks of this.#sinks.values()) if (sinks.recorder) paths.push(sinks.recorder.path);
    return paths;
  }

  /**
   * Starts recording a sender (REST API), unless it is being recorded already; returns the file.
   * @throws UnknownSessionError, RecordingUnavailableError, LowDiskSpaceError
   */
  async startRecording(sessionId: string): Promise<{ path: string; started: boolean }> {
    const session = this.sessions.find((candidate) => candidate.sessionId === sessionId);
    if (!session) throw new UnknownSessionError(`no sender session ${sessionId}`);
    const sinks = this.#sinks.get(sessionId);
    const media = session.media;
    if (!sinks?.ready || !media)
      throw new RecordingUnavailableError("the session is not set up yet; try again");
    if (sinks.recorder) return { path: sinks.recorder.path, started: false };
    if (!media.video && !media.audio)
      throw new RecordingUnavailableError("the sender sends nothing recordable");
    if (this.#starting.has(sessionId))
      throw new RecordingUnavailableError("a recording is starting; try again");
    this.#starting.add(sessionId);
    let recorder: Recorder;
    try {
      const name = this.#senderNames.get(sessionId) ?? session.peerId.slice(0, 8);
      recorder = await this.#newRecorder(sessionId, name, { video: media.video, audio: media.audio });
    } catch (error) {
      if (error instanceof LowDiskSpaceError) throw error;
      throw new RecordingUnavailableError(`cannot record: ${(error as Error).message}`);
    } finally {
      this.#starting.delete(sessionId);
    }
    if (session.closed) {
      await recorder.close();
      throw new UnknownSessionError(`the sender session ${sessionId} ended`);
    }
    sinks.recorder = recorder;
    sinks.recorderHasKeyframe = false;
    sinks.unsubscribeRecorder = subscribeRecorder(session, sinks, media.video);
    if (recorder.video) session.requestKeyframe(() => videoConsumersHaveKeyframe(sinks));
    return { path: recorder.path, started: true };
  }

  /**
   * Stops recording a sender (REST API) and finalizes the file; returns it, or undefined when the
   * sender was not being recorded.
   * @throws UnknownSessionError
   */
  async stopRecording(sessionId: string): Promise<string | undefined> {
    if (!this.hasSession(sessionId)) throw new UnknownSessionError(`no sender session ${sessionId}`);
    const recorder = this.#sinks.get(sessionId)?.recorder;
    if (!recorder) return undefined;
    await this.#endRecording(sessionId, recorder);
    return recorder.path;
  }

  async #releaseSinks(sessionId: string): Promise<void> {
    const sinks = this.#sinks.get(sessionId);
    if (!sinks) return;
    this.#sinks.delete(sessionId);
    await closeSinks(sinks);
  }

  // ---- consume NAME ----

  #watch(message: ServerMessage): void {
    const target = this.#options.consume?.name;
    if (!target) return;
    if (message.type === "list") {
      for (const producer of message.producers) {
        this.#producerNames.set(producer.id, displayName(producer.meta, producer.id));
        if (metaName(producer.meta) === target) this.#consume(producer.id);
      }
    } else if (message.type === "peerStatusChanged") {
      if (metaName(message.meta) !== undefined)
        this.#producerNames.set(message.peerId, displayName(message.meta, message.peerId));
      if (message.roles.includes("producer") && metaName(message.meta) === target)
        this.#consume(message.peerId);
    }
  }

  #consume(producerId: string): void {
    if (this.closed || this.#consumed.has(producerId) || !this.client.connected) return;
    this.#consumed.add(producerId);
    this.log.info({ producerId, name: this.#options.consume?.name }, "consuming producer");
    this.client.send({ type: "startSession", peerId: producerId, offer: null });
  }

  /** A consumed producer's session ended: look again shortly, and consume it again if it is still there. */
  #consumeLater(): void {
    setTimeout(() => {
      if (!this.closed) this.#options.consume?.watcher.send({ type: "list" });
    }, CONSUME_AGAIN_MS).unref();
  }
}

/** A recording's name (its file name in the record directory), as the API lists it. */
function recordingName(path: string | undefined): string | undefined {
  return path === undefined ? undefined : basename(path);
}

/** Subscribes a recorder's streams to the session; returns the function that unsubscribes them. */
/**
 * Feeds a recorder; its video input is watched for the first keyframe that reaches the file (written
 * while the recorder's pipeline listens), which ends the session's keyframe requests for it.
 */
function subscribeRecorder(
  session: IncomingSession,
  sinks: Sinks,
  codec: VideoCodecName | undefined,
): () => void {
  const recorder = sinks.recorder;
  if (!recorder) return () => {};
  const video = recorder.video;
  const off = [
    recorder.audio && session.subscribe("audio", recorder.audio),
    video &&
      codec &&
      session.subscribe("video", {
        write: (packet) => {
          if (!sinks.recorderHasKeyframe && recorder.playing && isKeyframeStart(codec, packet)) {
            sinks.recorderHasKeyframe = true;
          }
          video.write(packet);
        },
      }),
  ];
  return () => {
    for (const unsubscribe of off) unsubscribe?.();
  };
}

/** Whether the recorder's file and the echo's decoder (where there are) have had their keyframe. */
function videoConsumersHaveKeyframe(sinks: Sinks): boolean {
  const recorded = !sinks.recorder?.video || sinks.recorderHasKeyframe === true;
  const echoed = !sinks.echo || sinks.echo.started;
  return recorded && echoed;
}
