/**
 * The device as a producer peer, behaving on the wire like webrtcsink (reference §1.6 A, C, D, G, H):
 * it registers `setPeerStatus {"roles":["producer"],"meta":{"name":…},"peerId":…}` on every
 * (re)connection and serves every `startSession` with a {@link ProducerSession}.
 */
import type { Logger } from "../common/logger.ts";
import type { OutgoingStream } from "../media/OutgoingStream.ts";
import type { VideoCodec } from "../media/pipelines.ts";
import { JsonValue, type ServerMessage } from "../protocol/index.ts";
import { ProducerSession } from "./ProducerSession.ts";
import type { SignallingClient } from "./SignallingClient.ts";
import type { IceSettings } from "./webrtc.ts";

export interface DeviceProducerOptions {
  client: SignallingClient;
  /** The `meta` sent at registration (`{"name": …}` plus anything else). */
  meta: Record<string, unknown>;
  video: OutgoingStream | undefined;
  videoCodec: VideoCodec;
  audio: OutgoingStream | undefined;
  ice: IceSettings;
  logger: Logger;
}

export class DeviceProducer {
  readonly #options: DeviceProducerOptions;
  readonly #client: SignallingClient;
  readonly #log: Logger;
  readonly #sessions = new Map<string, ProducerSession>();
  #closed = false;

  constructor(options: DeviceProducerOptions) {
    this.#options = options;
    this.#client = options.client;
    this.#log = options.logger;
    this.#client.on("welcome", (peerId) => this.#register(peerId));
    this.#client.on("message", (message) => this.#handle(message));
    this.#client.on("disconnected", () => {
      // The server ended every session with the connection; it told the viewers itself.
      for (const session of [...this.#sessions.values()]) session.close("signalling-lost");
    });
  }

  /** The sessions being served, by session id. */
  get sessions(): ReadonlyMap<string, ProducerSession> {
    return this.#sessions;
  }

  /** Connects to the signalling server (and keeps reconnecting). */
  start(): void {
    this.#client.connect();
  }

  /** Ends every session with `endSession`, then leaves the server. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close("closed-by-device");
    await this.#client.close();
  }

  #register(peerId: string): void {
    this.#client.send({
      type: "setPeerStatus",
      roles: ["producer"],
      meta: JsonValue.from(this.#options.meta),
      peerId,
    });
    this.#log.info({ peerId, name: this.#options.meta.name }, "registered as producer");
  }

  #handle(message: ServerMessage): void {
    switch (message.type) {
      case "startSession":
        this.#startSession(message.sessionId, message.peerId, message.offer);
        break;
      case "peer":
        void this.#sessions.get(message.sessionId)?.handlePeerMessage(message);
        break;
      case "endSession":
      case "endSessionV1_1":
        this.#sessions.get(message.sessionId)?.close("ended-by-peer");
        break;
      case "error":
        this.#log.warn({ details: message.details }, "the signalling server reported an error");
        break;
      default:
        break;
    }
  }

  #startSession(sessionId: string, consumerId: string, offer: string | null): void {
    if (this.#closed || this.#sessions.has(sessionId)) return;
    const session = new ProducerSession({
      sessionId,
      consumerId,
      offer,
      video: this.#options.video,
      videoCodec: this.#options.videoCodec,
      audio: this.#options.audio,
      ice: this.#options.ice,
      send: (message) => this.#client.send(message),
      logger: this.#log,
    });
    this.#sessions.set(sessionId, session);
    session.once("closed", () => this.#sessions.delete(sessionId));
    this.#log.info(
      { sessionId, consumerId, offerFromViewer: offer !== null, viewers: this.#sessions.size },
      "viewer session started",
    );
    void session.start();
  }
}
