/**
 * One viewer of the device: a werift peer connection that sends the shared video and audio streams,
 * negotiated the way webrtcsink does (docs/PROTOCOL.md §6 C–D, §10) — the device offers, or answers when the
 * viewer's `startSession` carried an offer (gstwebrtc-api `createConsumerSessionWithOfferOptions`).
 */
import { MediaStream, MediaStreamTrack, type RTCRtpTransceiver } from "werift";
import type { VideoCodecName } from "../media/codecs.ts";
import type { OutgoingStream } from "../media/OutgoingStream.ts";
import type { SdpPayload } from "../protocol/index.ts";
import { PeerSession, type PeerSessionOptions } from "./PeerSession.ts";
import { isKeyframeRequest, RECEIVER_MAX_NACK_AGE_PACKETS, WERIFT_RTP_HISTORY_PACKETS } from "./webrtc.ts";

export interface ProducerSessionOptions extends PeerSessionOptions {
  /** The viewer's SDP offer, when it offers. */
  offer: string | null;
  video: OutgoingStream | undefined;
  videoCodec: VideoCodecName;
  audio: OutgoingStream | undefined;
}

export class ProducerSession extends PeerSession {
  readonly #offer: string | null;
  readonly #video: OutgoingStream | undefined;
  readonly #audio: OutgoingStream | undefined;
  /** The kinds a source was attached to (negotiated). */
  readonly #attached = new Set<"video" | "audio">();

  constructor(options: ProducerSessionOptions) {
    super(options, "viewer", { video: options.video ? [options.videoCodec] : [], audio: true });
    this.#offer = options.offer;
    this.#video = options.video;
    this.#audio = options.audio;
  }

  /** Negotiates: sends our offer, or answers the viewer's. */
  async start(): Promise<void> {
    try {
      const stream = new MediaStream();
      if (this.#offer === null) {
        for (const source of [this.#video, this.#audio]) {
          if (!source) continue;
          const track = new MediaStreamTrack({ kind: source.kind });
          this.#attach(
            this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] }),
            source,
            track,
          );
        }
        await this.pc.setLocalDescription(await this.pc.createOffer());
      } else {
        await this.pc.setRemoteDescription({ type: "offer", sdp: this.#offer });
        for (const transceiver of this.pc.getTransceivers()) {
          const source =
            transceiver.kind === "video"
              ? this.#video
              : transceiver.kind === "audio"
                ? this.#audio
                : undefined;
          if (!source || !transceiver.sender) continue;
          const track = new MediaStreamTrack({ kind: source.kind });
          transceiver.setDirection("sendonly");
          await transceiver.sender.replaceTrack(track);
          this.#attach(transceiver, source, track);
        }
        await this.pc.setLocalDescription(await this.pc.createAnswer());
      }
      this.sendLocalDescription();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, "negotiation failed");
      this.close("negotiation-failed");
    }
  }

  protected override async handleDescription(sdp: SdpPayload): Promise<void> {
    if (sdp.type !== "answer" || this.#offer !== null) {
      this.log.warn({ type: sdp.type }, "ignored an unexpected SDP");
      return;
    }
    await this.pc.setRemoteDescription({ type: "answer", sdp: sdp.sdp });
  }

  protected override onConnected(): void {
    // The shared encoder is mid-GOP: a keyframe now gives this viewer a picture at once.
    this.#video?.requestKeyframe("viewer connected");
  }

  protected override negotiatedKinds(): Array<"video" | "audio"> {
    return [...this.#attached];
  }

  #attach(transceiver: RTCRtpTransceiver, source: OutgoingStream, track: MediaStreamTrack): void {
    this.#attached.add(source.kind);
    // Fan-out: every packet of the shared encoder goes to this viewer too. werift parses it into its
    // own packet (the buffer is only borrowed), rewrites SSRC and payload type for this session and
    // keeps a copy to answer NACKs. The sequence numbers it sends are ours (it adds no offset).
    const counter = this.counters[source.kind];
    let newestSeq: number | undefined;
    this.onClose(
      source.subscribe({
        write: (packet) => {
          counter.count(packet);
          newestSeq = packet.readUInt16BE(2);
          track.writeRtp(packet);
        },
      }),
    );
    if (source.kind !== "video") return;
    const onRtcp = (packet: Parameters<typeof isKeyframeRequest>[0]) => {
      if (isKeyframeRequest(packet, transceiver.sender.ssrc)) source.requestKeyframe("viewer asked");
    };
    // A NACK for a packet werift no longer keeps (after an outage, say) can never be answered: the
    // viewer would wait for it until its own keyframe request, seconds later. Ask for the keyframe now.
    const onNack = (feedback: { lost: number[] }) => {
      if (newestSeq === undefined) return;
      const newest = newestSeq;
      const gone = (seq: number) => {
        const age = (newest - seq) & 0xffff;
        // Older than werift keeps, but not beyond what a receiver still asks for (an age past that
        // is not a real request: werift's NACK parser can yield stray entries).
        return age >= WERIFT_RTP_HISTORY_PACKETS && age < RECEIVER_MAX_NACK_AGE_PACKETS;
      };
      if (feedback.lost.some(gone)) {
        source.requestKeyframe("viewer lost packets that are no longer kept");
      }
    };
    const fromSender = transceiver.sender.onRtcp.subscribe(onRtcp);
    const fromReceiver = transceiver.receiver.onRtcp.subscribe(onRtcp);
    const nacks = transceiver.sender.onGenericNack.subscribe(onNack);
    this.onClose(() => fromSender.unSubscribe());
    this.onClose(() => fromReceiver.unSubscribe());
    this.onClose(() => nacks.unSubscribe());
  }
}
