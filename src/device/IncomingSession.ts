/**
 * One browser (or GStreamer producer) sending to the device: the remote side offers, the device
 * answers with werift and receives. What happens to the media is the receiver's business: this object
 * reports what was negotiated and hands over every RTP packet.
 */
import { EventEmitter } from "node:events";
import { type RTCPeerConnection, type RTCRtpTransceiver, useH264, useOPUS, useVP8 } from "werift";
import type { Logger } from "../common/logger.ts";
import { codecOfMime, type IncomingVideoCodec } from "../media/incoming.ts";
import { PAYLOAD_TYPES } from "../media/pipelines.ts";
import type { PeerMessage } from "../protocol/index.ts";
import { type SessionEndReason, type SessionMessage, SessionSignalling } from "./SessionSignalling.ts";
import { createPeerConnection, type IceSettings } from "./webrtc.ts";

export interface IncomingMedia {
  /** The negotiated video codec, if the sender sends video we can take. */
  video: IncomingVideoCodec | undefined;
  audio: boolean;
}

export interface IncomingSessionOptions {
  sessionId: string;
  /** The sending peer's id. */
  senderId: string;
  ice: IceSettings;
  /** Video codecs accepted, in order of preference. */
  videoCodecs: IncomingVideoCodec[];
  send: (message: SessionMessage) => void;
  logger: Logger;
}

interface IncomingSessionEvents {
  /** The answer went out: this is what will arrive. */
  negotiated: [media: IncomingMedia];
  video: [packet: Buffer];
  audio: [packet: Buffer];
  closed: [reason: SessionEndReason];
}

export class IncomingSession extends EventEmitter<IncomingSessionEvents> {
  readonly sessionId: string;
  readonly senderId: string;
  readonly #options: IncomingSessionOptions;
  readonly #log: Logger;
  readonly #pc: RTCPeerConnection;
  readonly #signalling: SessionSignalling;
  #videoTransceiver: RTCRtpTransceiver | undefined;
  #videoSsrc: number | undefined;
  #closed = false;

  constructor(options: IncomingSessionOptions) {
    super();
    this.sessionId = options.sessionId;
    this.senderId = options.senderId;
    this.#options = options;
    this.#log = options.logger.child({ sessionId: options.sessionId });
    this.#pc = createPeerConnection(options.ice, undefined, {
      video: options.videoCodecs.map((codec) =>
        codec === "vp8"
          ? useVP8({ payloadType: PAYLOAD_TYPES.vp8 })
          : useH264({ payloadType: PAYLOAD_TYPES.h264 }),
      ),
      audio: [useOPUS({ payloadType: PAYLOAD_TYPES.opus })],
    });
    this.#signalling = new SessionSignalling(options.sessionId, this.#pc, options.send);
    this.#pc.connectionStateChange.subscribe((state) => {
      this.#log.debug({ state }, "connection state");
      if (state === "connected") this.#log.info({ senderId: this.senderId }, "sender connected");
      if (state === "failed" || state === "closed") this.close("failed");
    });
    this.#pc.onTrack.subscribe((track) => {
      let first = true;
      track.onReceiveRtp.subscribe((rtp) => {
        if (this.#closed) return;
        if (track.kind === "video") {
          if (first) {
            first = false;
            this.#videoSsrc = rtp.header.ssrc;
            this.requestKeyframe();
          }
          this.emit("video", rtp.serialize());
        } else if (track.kind === "audio") {
          this.emit("audio", rtp.serialize());
        }
      });
    });
  }

  /** Asks the sender for a keyframe (a recorder or echo starting needs one). */
  requestKeyframe(): void {
    const ssrc = this.#videoSsrc;
    if (this.#videoTransceiver && ssrc !== undefined)
      void this.#videoTransceiver.receiver.sendRtcpPLI(ssrc).catch(() => {});
  }

  /** The sender's offer, or a candidate. */
  async handlePeerMessage(message: PeerMessage): Promise<void> {
    if (this.#closed) return;
    try {
      if (message.sdp) {
        if (message.sdp.type !== "offer") {
          this.#log.warn({ type: message.sdp.type }, "ignored an unexpected SDP");
          return;
        }
        await this.#answer(message.sdp.sdp);
      } else {
        await this.#signalling.addRemoteCandidate(message.ice);
      }
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, "could not apply a message from the sender");
      if (message.sdp) this.close("negotiation-failed");
    }
  }

  close(reason: SessionEndReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#signalling.end(reason);
    void this.#pc.close().catch(() => {});
    this.#log.info({ reason, senderId: this.senderId }, "sender session ended");
    this.emit("closed", reason);
    this.removeAllListeners("video");
    this.removeAllListeners("audio");
  }

  async #answer(offer: string): Promise<void> {
    await this.#pc.setRemoteDescription({ type: "offer", sdp: offer });
    const media: IncomingMedia = { video: undefined, audio: false };
    const preference = (mimeType: string) => {
      const index = this.#options.videoCodecs.indexOf(codecOfMime(mimeType) as IncomingVideoCodec);
      return index < 0 ? Number.MAX_SAFE_INTEGER : index;
    };
    for (const transceiver of this.#pc.getTransceivers()) {
      // We only receive; what the sender offers to receive from us stays unanswered.
      transceiver.setDirection("recvonly");
      // werift keeps the offer's codec order; the answer's first codec is what the sender will use.
      if (transceiver.kind === "video") {
        transceiver.codecs = [...transceiver.codecs].sort(
          (a, b) => preference(a.mimeType) - preference(b.mimeType),
        );
      }
      const codec = codecOfMime(transceiver.codecs[0]?.mimeType ?? "");
      if (transceiver.kind === "video" && (codec === "vp8" || codec === "h264") && !media.video) {
        media.video = codec;
        this.#videoTransceiver = transceiver;
      }
      if (transceiver.kind === "audio" && codec === "opus") media.audio = true;
    }
    await this.#pc.setLocalDescription(await this.#pc.createAnswer());
    const answer = this.#pc.localDescription;
    if (!answer || this.#closed) return;
    // The answer before any candidate: a candidate first makes gstwebrtc-api's producer end the session.
    this.#signalling.sendDescription({ type: "answer", sdp: answer.sdp });
    this.#log.debug({ sdp: answer.sdp }, "sent answer");
    this.#log.info(
      { senderId: this.senderId, video: media.video ?? "none", audio: media.audio },
      "receiving from sender",
    );
    this.emit("negotiated", media);
  }
}
