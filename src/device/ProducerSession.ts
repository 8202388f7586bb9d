/**
 * One viewer of the device: a werift peer connection that sends the shared video and audio streams,
 * negotiated the way webrtcsink does (reference §3.2) — the device offers, or answers when the viewer's
 * `startSession` carried an offer (gstwebrtc-api `createConsumerSessionWithOfferOptions`).
 */
import { EventEmitter } from "node:events";
import { MediaStream, MediaStreamTrack, type RTCPeerConnection, type RTCRtpTransceiver } from "werift";
import type { Logger } from "../common/logger.ts";
import type { OutgoingStream } from "../media/OutgoingStream.ts";
import type { VideoCodec } from "../media/pipelines.ts";
import type { PeerMessage } from "../protocol/index.ts";
import { type SessionEndReason, type SessionMessage, SessionSignalling } from "./SessionSignalling.ts";
import { createPeerConnection, type IceSettings, isKeyframeRequest } from "./webrtc.ts";

export interface ProducerSessionOptions {
  sessionId: string;
  /** The viewer's peer id. */
  consumerId: string;
  /** The viewer's SDP offer, when it offers. */
  offer: string | null;
  video: OutgoingStream | undefined;
  videoCodec: VideoCodec;
  audio: OutgoingStream | undefined;
  ice: IceSettings;
  /** Sends a message to the viewer through the signalling server. */
  send: (message: SessionMessage) => void;
  logger: Logger;
  /** How long ICE may stay "disconnected" before the session is given up. Default 10 s. */
  disconnectedTimeoutMs?: number;
}

interface ProducerSessionEvents {
  connected: [];
  closed: [reason: SessionEndReason];
}

export class ProducerSession extends EventEmitter<ProducerSessionEvents> {
  readonly sessionId: string;
  readonly consumerId: string;
  readonly #options: ProducerSessionOptions;
  readonly #log: Logger;
  readonly #pc: RTCPeerConnection;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #signalling: SessionSignalling;
  #disconnectedTimer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly createdAt = performance.now();
  connectedAt: number | undefined;

  constructor(options: ProducerSessionOptions) {
    super();
    this.sessionId = options.sessionId;
    this.consumerId = options.consumerId;
    this.#options = options;
    this.#log = options.logger.child({ sessionId: options.sessionId });
    this.#pc = createPeerConnection(options.ice, options.video ? options.videoCodec : undefined);
    this.#signalling = new SessionSignalling(options.sessionId, this.#pc, options.send);
    this.#pc.connectionStateChange.subscribe((state) => this.#onConnectionState(state));
  }

  /** The peer connection, for statistics. */
  get peerConnection(): RTCPeerConnection {
    return this.#pc;
  }

  /** Negotiates: sends our offer, or answers the viewer's. */
  async start(): Promise<void> {
    try {
      const stream = new MediaStream();
      if (this.#options.offer === null) {
        for (const source of [this.#options.video, this.#options.audio]) {
          if (!source) continue;
          const track = new MediaStreamTrack({ kind: source.kind });
          this.#attach(
            this.#pc.addTransceiver(track, { direction: "sendonly", streams: [stream] }),
            source,
            track,
          );
        }
        await this.#pc.setLocalDescription(await this.#pc.createOffer());
      } else {
        await this.#pc.setRemoteDescription({ type: "offer", sdp: this.#options.offer });
        for (const transceiver of this.#pc.getTransceivers()) {
          const source =
            transceiver.kind === "video"
              ? this.#options.video
              : transceiver.kind === "audio"
                ? this.#options.audio
                : undefined;
          if (!source || !transceiver.sender) continue;
          const track = new MediaStreamTrack({ kind: source.kind });
          transceiver.setDirection("sendonly");
          await transceiver.sender.replaceTrack(track);
          this.#attach(transceiver, source, track);
        }
        await this.#pc.setLocalDescription(await this.#pc.createAnswer());
      }
      if (this.#closed) return;
      const description = this.#pc.localDescription;
      if (!description) throw new Error("no local description");
      this.#signalling.sendDescription({
        type: description.type as "offer" | "answer",
        sdp: description.sdp,
      });
      this.#log.debug({ sdp: description.sdp }, `sent ${description.type}`);
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "negotiation failed");
      this.close("negotiation-failed");
    }
  }

  /** An SDP answer or a remote ICE candidate from the viewer. */
  async handlePeerMessage(message: PeerMessage): Promise<void> {
    if (this.#closed) return;
    try {
      if (message.sdp) {
        if (message.sdp.type !== "answer" || this.#options.offer !== null) {
          this.#log.warn({ type: message.sdp.type }, "ignored an unexpected SDP");
          return;
        }
        this.#log.debug({ sdp: message.sdp.sdp }, "received answer");
        await this.#pc.setRemoteDescription({ type: "answer", sdp: message.sdp.sdp });
      } else {
        await this.#signalling.addRemoteCandidate(message.ice);
      }
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "could not apply a message from the viewer");
      if (message.sdp) this.close("negotiation-failed");
    }
  }

  /**
   * Ends the session once. The viewer is sent `endSession` unless it ended the session itself or the
   * signalling connection is gone.
   */
  close(reason: SessionEndReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#disconnectedTimer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    this.#signalling.end(reason);
    void this.#pc.close().catch(() => {});
    this.#log.info({ reason, consumerId: this.consumerId }, "viewer session ended");
    this.emit("closed", reason);
  }

  #attach(transceiver: RTCRtpTransceiver, source: OutgoingStream, track: MediaStreamTrack): void {
    // Fan-out: every packet of the shared encoder goes to this viewer too. werift rewrites SSRC and
    // payload type per session and keeps a copy of each packet to answer NACKs.
    const onRtp = (packet: Buffer) => track.writeRtp(packet);
    source.on("rtp", onRtp);
    this.#unsubscribe.push(() => source.off("rtp", onRtp));
    if (source.kind !== "video") return;
    const onRtcp = (packet: Parameters<typeof isKeyframeRequest>[0]) => {
      if (isKeyframeRequest(packet, transceiver.sender.ssrc)) source.requestKeyframe("viewer asked");
    };
    const fromSender = transceiver.sender.onRtcp.subscribe(onRtcp);
    const fromReceiver = transceiver.receiver.onRtcp.subscribe(onRtcp);
    this.#unsubscribe.push(
      () => fromSender.unSubscribe(),
      () => fromReceiver.unSubscribe(),
    );
  }

  #onConnectionState(state: string): void {
    if (this.#closed) return;
    this.#log.debug({ state }, "connection state");
    clearTimeout(this.#disconnectedTimer);
    if (state === "connected") {
      this.connectedAt = performance.now();
      this.#log.info(
        { consumerId: this.consumerId, ms: Math.round(this.connectedAt - this.createdAt) },
        "viewer connected",
      );
      // The shared encoder is mid-GOP: a keyframe now gives this viewer a picture at once.
      this.#options.video?.requestKeyframe("viewer connected");
      this.emit("connected");
    } else if (state === "failed") {
      this.close("failed");
    } else if (state === "disconnected") {
      this.#disconnectedTimer = setTimeout(
        () => this.close("failed"),
        this.#options.disconnectedTimeoutMs ?? 10_000,
      );
    } else if (state === "closed") {
      this.close("failed");
    }
  }
}
