/**
 * The device as a producer peer, behaving on the wire like webrtcsink (docs/PROTOCOL.md §6 A, C, D, G, H): it
 * registers `setPeerStatus {"roles":["producer"],"meta":{"name":…},"peerId":…}` on every
 * (re)connection and serves every `startSession` with a {@link ProducerSession}.
 */
import type { OutgoingStream } from "../media/OutgoingStream.ts";
import type { ServerMessage } from "../protocol/index.ts";
import { ProducerSession } from "./ProducerSession.ts";
import { SignallingRole, type SignallingRoleOptions } from "./SignallingRole.ts";
import type { ViewerStatus } from "./status.ts";
import type { IceSettings } from "./webrtc.ts";

export interface DeviceProducerOptions extends SignallingRoleOptions {
  /** The video, offered in every codec it can encode. */
  video: OutgoingStream | undefined;
  audio: OutgoingStream | undefined;
  ice: IceSettings;
}

export class DeviceProducer extends SignallingRole<ProducerSession> {
  readonly #options: DeviceProducerOptions;

  constructor(options: DeviceProducerOptions) {
    super(options, "producer");
    this.#options = options;
  }

  /** Every viewer and its stats. */
  status(): ViewerStatus[] {
    return this.sessions.map((session) => ({ ...session.status(), ...session.adaptation() }));
  }

  protected override handleMessage(message: ServerMessage): void {
    if (message.type === "startSession") this.#startSession(message.sessionId, message.peerId, message.offer);
  }

  #startSession(sessionId: string, viewerId: string, offer: string | null): void {
    if (this.closed || this.hasSession(sessionId)) return;
    const session = new ProducerSession({
      sessionId,
      peerId: viewerId,
      offer,
      video: this.#options.video,
      audio: this.#options.audio,
      ice: this.#options.ice,
      send: (message) => this.client.send(message),
      logger: this.log,
    });
    this.addSession(session);
    this.log.info(
      { sessionId, consumerId: viewerId, offerFromViewer: offer !== null, viewers: this.sessionCount },
      "viewer session started",
    );
    void session.start();
  }
}
