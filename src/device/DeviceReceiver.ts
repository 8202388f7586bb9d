/**
 * The device as a receiver, like webrtcsrc in passive-consumer mode (reference §1.6 E): a second peer
 * registered `{"roles":["consumer"],"meta":{"name":…}}` that browsers send to with gstwebrtc-api's
 * `createProducerSessionForConsumer`. With `consume`, it also actively consumes every producer of a
 * given name, the way webrtcsrc's connect-to-first-producer does.
 *
 * Each sender's audio goes to the speaker, a recording, or nowhere; its video to a recording, an echo
 * producer, both, or nowhere — see {@link IncomingModes}.
 */
import type { Logger } from "../common/logger.ts";
import type { IncomingVideoCodec } from "../media/incoming.ts";
import type { VideoSettings } from "../media/pipelines.ts";
import { Recorder } from "../media/Recorder.ts";
import type { SpeakerMixer, SpeakerSlot } from "../media/SpeakerMixer.ts";
import { JsonValue, metaName, type ServerMessage } from "../protocol/index.ts";
import { EchoProducer } from "./EchoProducer.ts";
import { type IncomingMedia, IncomingSession } from "./IncomingSession.ts";
import type { SignallingClient } from "./SignallingClient.ts";
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
  /** For echo producers: their settings and how they reach the signalling server. */
  echo: {
    settings: VideoSettings;
    server: string;
    ca?: string | Buffer | undefined;
    headers?: Record<string, string> | undefined;
  };
  ice: IceSettings;
  videoCodecs: IncomingVideoCodec[];
  /** Actively consume producers of this name; `watcher` is a listener connection to see them come. */
  consume?: { name: string; watcher: SignallingClient } | undefined;
  logger: Logger;
}

/** What one incoming session feeds. */
interface Sinks {
  slot?: SpeakerSlot | undefined;
  recorder?: Recorder | undefined;
  echo?: EchoProducer | undefined;
}

export class DeviceReceiver {
  readonly #options: DeviceReceiverOptions;
  readonly #client: SignallingClient;
  readonly #log: Logger;
  readonly #sessions = new Map<string, IncomingSession>();
  readonly #sinks = new Map<string, Sinks>();
  readonly #closing = new Set<Promise<void>>();
  /** Producers by id, from `list` replies and the watcher. */
  readonly #producerNames = new Map<string, string>();
  readonly #listWaiters: Array<() => void> = [];
  /** Producers being consumed because of `consume`. */
  readonly #consumed = new Set<string>();
  #closed = false;

  constructor(options: DeviceReceiverOptions) {
    this.#options = options;
    this.#client = options.client;
    this.#log = options.logger.child({ peer: "consumer" });
    this.#client.on("welcome", (peerId) => this.#register(peerId));
    this.#client.on("message", (message) => this.#handle(message));
    this.#client.on("disconnected", () => {
      for (const session of [...this.#sessions.values()]) session.close("signalling-lost");
      this.#consumed.clear();
    });
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

  get sessions(): ReadonlyMap<string, IncomingSession> {
    return this.#sessions;
  }

  start(): void {
    this.#client.connect();
    this.#options.consume?.watcher.connect();
  }

  /** Ends every session (endSession to the senders), finalizes recordings, stops echoes. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close("closed-by-device");
    await Promise.all(this.#closing);
    await Promise.all([this.#client.close(), this.#options.consume?.watcher.close()]);
  }

  #register(peerId: string): void {
    this.#client.send({
      type: "setPeerStatus",
      roles: ["consumer"],
      meta: JsonValue.from({ name: this.#options.name }),
      peerId,
    });
    this.#log.info({ peerId, name: this.#options.name }, "registered as consumer");
    // Producers that appeared while we were away.
    if (this.#options.consume) this.#options.consume.watcher.send({ type: "list" });
  }

  #handle(message: ServerMessage): void {
    switch (message.type) {
      case "sessionStarted":
        this.#startSession(message.sessionId, message.peerId);
        break;
      case "peer":
        void this.#sessions.get(message.sessionId)?.handlePeerMessage(message);
        break;
      case "endSession":
      case "endSessionV1_1":
        this.#sessions.get(message.sessionId)?.close("ended-by-peer");
        break;
      case "list":
        for (const producer of message.producers)
          this.#producerNames.set(producer.id, metaName(producer.meta) ?? producer.id);
        for (const wake of this.#listWaiters.splice(0)) wake();
        break;
      case "error":
        this.#log.warn({ details: message.details }, "the signalling server reported an error");
        break;
      default:
        break;
    }
  }

  /** The sender's meta name, asked of the server (it is registered as a producer). */
  async #senderName(senderId: string): Promise<string> {
    const known = this.#producerNames.get(senderId);
    if (known) return known;
    await new Promise<void>((resolve) => {
      this.#listWaiters.push(resolve);
      this.#client.send({ type: "list" });
      setTimeout(resolve, 2000).unref();
    });
    return this.#producerNames.get(senderId) ?? senderId.slice(0, 8);
  }

  #startSession(sessionId: string, senderId: string): void {
    if (this.#closed || this.#sessions.has(sessionId)) return;
    const session = new IncomingSession({
      sessionId,
      senderId,
      ice: this.#options.ice,
      videoCodecs: this.#options.videoCodecs,
      send: (message) => this.#client.send(message),
      logger: this.#log,
    });
    this.#sessions.set(sessionId, session);
    const name = this.#senderName(senderId);
    session.once("negotiated", (media) => {
      void name.then((senderName) => this.#connectSinks(session, media, senderName));
    });
    session.once("closed", () => {
      this.#sessions.delete(sessionId);
      const done = this.#releaseSinks(sessionId);
      this.#closing.add(done);
      void done.finally(() => this.#closing.delete(done));
      if (this.#consumed.delete(senderId) && !this.#closed) this.#consumeLater();
    });
    this.#log.info({ sessionId, senderId, senders: this.#sessions.size }, "sender session started");
  }

  async #connectSinks(session: IncomingSession, media: IncomingMedia, senderName: string): Promise<void> {
    if (!this.#sessions.has(session.sessionId)) return;
    const { modes, speaker } = this.#options;
    const sinks: Sinks = {};
    this.#sinks.set(session.sessionId, sinks);
    if (media.audio && modes.audio === "speaker" && speaker) {
      sinks.slot = speaker.acquire();
      if (!sinks.slot)
        this.#log.warn({ senderName }, "every speaker slot is taken: this sender is not played");
    }
    const recordVideo = modes.video.has("record") && media.video !== undefined;
    const recordAudio = media.audio && (modes.audio === "record" || recordVideo);
    try {
      if (recordVideo || recordAudio) {
        sinks.recorder = await Recorder.start({
          directory: this.#options.recordDirectory,
          senderName,
          video: recordVideo ? media.video : undefined,
          audio: recordAudio,
          logger: this.#log,
        });
      }
      if (modes.video.has("echo") && media.video) {
        sinks.echo = await EchoProducer.create({
          deviceName: this.#options.name,
          senderName,
          senderId: session.senderId,
          input: media.video,
          settings: this.#options.echo.settings,
          server: this.#options.echo.server,
          ca: this.#options.echo.ca,
          headers: this.#options.echo.headers,
          ice: this.#options.ice,
          logger: this.#log,
        });
        sinks.echo
          .start()
          .catch((error: Error) => this.#log.warn({ err: error.message }, "the echo could not start"));
      }
    } catch (error) {
      this.#log.error({ err: (error as Error).message }, "could not set up what receives this sender");
    }
    if (!this.#sessions.has(session.sessionId)) {
      // The session ended while the sinks were starting.
      await this.#releaseSinks(session.sessionId);
      return;
    }
    session.on("audio", (packet) => {
      sinks.slot?.write(Buffer.from(packet));
      sinks.recorder?.writeAudio(packet);
    });
    session.on("video", (packet) => {
      sinks.echo?.write(Buffer.from(packet));
      sinks.recorder?.writeVideo(packet);
    });
    // Whatever decodes or records the video starts on a keyframe.
    if (sinks.recorder || sinks.echo) session.requestKeyframe();
  }

  async #releaseSinks(sessionId: string): Promise<void> {
    const sinks = this.#sinks.get(sessionId);
    if (!sinks) return;
    this.#sinks.delete(sessionId);
    sinks.slot?.release();
    await Promise.all([sinks.recorder?.close(), sinks.echo?.close()]);
  }

  // ---- consume NAME ----

  #watch(message: ServerMessage): void {
    const target = this.#options.consume?.name;
    if (!target) return;
    if (message.type === "list") {
      for (const producer of message.producers) {
        this.#producerNames.set(producer.id, metaName(producer.meta) ?? producer.id);
        if (metaName(producer.meta) === target) this.#consume(producer.id);
      }
    } else if (message.type === "peerStatusChanged") {
      const name = metaName(message.meta);
      if (name) this.#producerNames.set(message.peerId, name);
      if (message.roles.includes("producer") && name === target) this.#consume(message.peerId);
    }
  }

  #consume(producerId: string): void {
    if (this.#closed || this.#consumed.has(producerId) || !this.#client.connected) return;
    this.#consumed.add(producerId);
    this.#log.info({ producerId, name: this.#options.consume?.name }, "consuming producer");
    this.#client.send({ type: "startSession", peerId: producerId, offer: null });
  }

  /** A consumed producer's session ended: look again shortly, and consume it again if it is still there. */
  #consumeLater(): void {
    setTimeout(() => {
      if (!this.#closed) this.#options.consume?.watcher.send({ type: "list" });
    }, 2000).unref();
  }
}
