/**
 * One browser (or GStreamer producer) sending to the device: the remote side offers, the device
 * answers with werift and receives. What happens to the media is the receiver's business: this object
 * says what was negotiated and hands every RTP packet to the {@link RtpSink}s subscribed to its kind.
 */
import type { RTCRtpTransceiver } from "werift";
import { codecOfMimeType, type VideoCodecName } from "../media/codecs.ts";
import { RtpFanOut } from "../media/RtpFanOut.ts";
import type { RtpSink } from "../media/RtpSink.ts";
import type { SdpPayload } from "../protocol/index.ts";
import { KEYFRAME_RETRY_LIMIT, KEYFRAME_RETRY_MS } from "./constants.ts";
import { PeerSession, type PeerSessionOptions } from "./PeerSession.ts";

export interface IncomingMedia {
  /** The negotiated video codec, if the sender sends video we can take. */
  video: VideoCodecName | undefined;
  audio: boolean;
}

export interface IncomingSessionOptions extends PeerSessionOptions {
  /** Video codecs accepted, in order of preference. */
  videoCodecs: VideoCodecName[];
}

export class IncomingSession extends PeerSession {
  readonly #videoCodecs: VideoCodecName[];
  readonly #fanOut: { video: RtpFanOut; audio: RtpFanOut };
  #media: IncomingMedia | undefined;
  #videoTransceiver: RTCRtpTransceiver | undefined;
  #videoSsrc: number | undefined;
  /** Consumers waiting for a keyframe: each says when it has one. */
  readonly #keyframeWaiters = new Set<() => boolean>();
  #keyframeRetry: NodeJS.Timeout | undefined;
  #keyframeTries = 0;

  constructor(options: IncomingSessionOptions) {
    super(options, "sender", { video: options.videoCodecs, audio: true });
    this.#videoCodecs = options.videoCodecs;
    this.#fanOut = { video: new RtpFanOut(this.log), audio: new RtpFanOut(this.log) };
    this.onClose(() => {
      clearInterval(this.#keyframeRetry);
      this.#keyframeWaiters.clear();
      this.#fanOut.video.clear();
      this.#fanOut.audio.clear();
    });
    this.pc.onTrack.subscribe((track) => {
      const kind = track.kind === "video" ? "video" : track.kind === "audio" ? "audio" : undefined;
      if (!kind) return;
      track.onReceiveRtp.subscribe((rtp) => {
        if (this.closed) return;
        if (kind === "video" && this.#videoSsrc === undefined) {
          this.#videoSsrc = rtp.header.ssrc;
          this.requestKeyframe();
        }
        const packet = rtp.serialize();
        this.counters[kind].count(packet);
        this.#fanOut[kind].write(packet);
      });
    });
  }

  /** What was negotiated: set before the `negotiated` event. */
  get media(): IncomingMedia | undefined {
    return this.#media;
  }

  /** Hands every packet of `kind` to `sink` (which borrows it); returns the unsubscribe function. */
  subscribe(kind: "video" | "audio", sink: RtpSink): () => void {
    return this.#fanOut[kind].add(sink);
  }

  /**
   * Asks the sender for a keyframe (a recorder or echo starting needs one). With `received`, the
   * request is repeated every {@link KEYFRAME_RETRY_MS} until `received()` says the consumer that asked
   * has its keyframe: one request at the first packet was not enough when the consumer's pipeline
   * started late and the keyframe went by before it listened (docs/MEDIA.md §4).
   */
  requestKeyframe(received?: () => boolean): void {
    this.#sendPli();
    if (!received || this.closed) return;
    this.#keyframeWaiters.add(received);
    this.#keyframeTries = 0;
    this.#keyframeRetry ??= setInterval(() => this.#retryKeyframe(), KEYFRAME_RETRY_MS);
  }

  protected override negotiatedKinds(): Array<"video" | "audio"> {
    const media = this.#media;
    if (!media) return [];
    return [...(media.video ? (["video"] as const) : []), ...(media.audio ? (["audio"] as const) : [])];
  }

  #retryKeyframe(): void {
    for (const received of this.#keyframeWaiters) if (received()) this.#keyframeWaiters.delete(received);
    if (this.#keyframeWaiters.size > 0 && ++this.#keyframeTries <= KEYFRAME_RETRY_LIMIT) {
      this.#sendPli();
      return;
    }
    if (this.#keyframeWaiters.size > 0) {
      this.log.warn(
        { senderId: this.peerId, requests: KEYFRAME_RETRY_LIMIT },
        "the sender sent no usable keyframe; its video is not recorded or echoed",
      );
      this.#keyframeWaiters.clear();
    }
    clearInterval(this.#keyframeRetry);
    this.#keyframeRetry = undefined;
  }

  #sendPli(): void {
    const ssrc = this.#videoSsrc;
    if (this.#videoTransceiver && ssrc !== undefined) {
      this.log.debug({ ssrc }, "keyframe requested from the sender");
      void this.#videoTransceiver.receiver.sendRtcpPLI(ssrc).catch(() => {});
    }
  }

  protected override async handleDescription(sdp: SdpPayload): Promise<void> {
    if (sdp.type !== "offer") {
      this.log.warn({ type: sdp.type }, "ignored an unexpected SDP");
      return;
    }
    await this.pc.setRemoteDescription({ type: "offer", sdp: sdp.sdp });
    const media: IncomingMedia = { video: undefined, audio: false };
    const preference = (mimeType: string) => {
      const codec = codecOfMimeType(mimeType);
      const index = codec?.kind === "video" ? this.#videoCodecs.indexOf(codec.name as VideoCodecName) : -1;
      return index < 0 ? Number.MAX_SAFE_INTEGER : index;
    };
    for (const transceiver of this.pc.getTransceivers()) {
      // We only receive; what the sender offers to receive from us stays unanswered.
      transceiver.setDirection("recvonly");
      // werift keeps the offer's codec order; the answer's first codec is what the sender will use.
      if (transceiver.kind === "video") {
        transceiver.codecs = [...transceiver.codecs].sort(
          (a, b) => preference(a.mimeType) - preference(b.mimeType),
        );
      }
      const codec = codecOfMimeType(transceiver.codecs[0]?.mimeType ?? "");
      if (transceiver.kind === "video" && codec?.kind === "video" && !media.video) {
        media.video = codec.name as VideoCodecName;
        this.#videoTransceiver = transceiver;
      }
      if (transceiver.kind === "audio" && codec?.name === "opus") media.audio = true;
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    if (this.closed) return;
    this.#media = media;
    this.log.info(
      { senderId: this.peerId, video: media.video ?? "none", audio: media.audio },
      "receiving from sender",
    );
    // The answer before any candidate: a candidate first makes gstwebrtc-api's producer end the session.
    this.sendLocalDescription();
  }
}
