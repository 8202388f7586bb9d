/**
 * One viewer of the device: a werift peer connection that sends the shared video and audio streams,
 * negotiated the way webrtcsink does (docs/PROTOCOL.md §6 C–D, §10) — the device offers, or answers when the
 * viewer's `startSession` carried an offer (gstwebrtc-api `createConsumerSessionWithOfferOptions`).
 */
import {
  MediaStream,
  MediaStreamTrack,
  ntpTime,
  ReceiverEstimatedMaxBitrate,
  type RTCRtpTransceiver,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSrPacket,
} from "werift";
import { CODECS, isVideoCodec, type VideoCodecName } from "../media/codecs.ts";
import { LayerSwitch } from "../media/LayerSwitch.ts";
import type { OutgoingStream } from "../media/OutgoingStream.ts";
import { RtpCounter } from "../media/RtpCounter.ts";
import type { StreamLayer } from "../media/StreamLayer.ts";
import type { SdpPayload } from "../protocol/index.ts";
import { BandwidthProbe } from "./BandwidthProbe.ts";
import {
  LAYER_PROBE_FAILED_QUIET_MS,
  LAYER_PROBE_MS,
  NACK_SECOND_COPY_DELAY_MS,
  VIDEO_SENDER_REPORT_MS,
} from "./constants.ts";
import { type FecFormat, FecSender, type SentExtension, sentExtensions } from "./FecSender.ts";
import { KeyframeRequests } from "./KeyframeRequests.ts";
import { type LayerDecision, LayerPolicy } from "./LayerPolicy.ts";
import { PeerSession, type PeerSessionOptions } from "./PeerSession.ts";
import { RetransmissionBudget } from "./RetransmissionBudget.ts";
import {
  chooseSendCodec,
  isKeyframeRequest,
  RECEIVER_MAX_NACK_AGE_PACKETS,
  roundTripFromReport,
  useRedFec,
  WERIFT_RTP_HISTORY_PACKETS,
} from "./webrtc.ts";

export interface ProducerSessionOptions extends PeerSessionOptions {
  /** The viewer's SDP offer, when it offers. */
  offer: string | null;
  /** The video: every codec it can encode is offered (its order is the device's preference). */
  video: OutgoingStream | undefined;
  audio: OutgoingStream | undefined;
}

export class ProducerSession extends PeerSession {
  readonly #offer: string | null;
  readonly #video: OutgoingStream | undefined;
  readonly #audio: OutgoingStream | undefined;
  /** The kinds a source was attached to (negotiated). */
  readonly #attached = new Set<"video" | "audio">();
  #layerSwitch: LayerSwitch | undefined;
  #policy: LayerPolicy | undefined;
  /** The video transceiver and its track, until the negotiated codec's ladder is attached. */
  #pendingVideo: { transceiver: RTCRtpTransceiver; track: MediaStreamTrack } | undefined;

  constructor(options: ProducerSessionOptions) {
    super(options, "viewer", {
      video: options.video?.codecs.filter(isVideoCodec) ?? [],
      audio: true,
      bandwidthFeedback: true,
    });
    this.#offer = options.offer;
    this.#video = options.video;
    this.#audio = options.audio;
  }

  /** Negotiates: sends our offer, or answers the viewer's. */
  async start(): Promise<void> {
    try {
      const stream = new MediaStream();
      if (this.#offer === null) {
        // Audio first: its section is the BUNDLE tag (RFC 8843 §7.2), so a browser that rejects the video
        // keeps the audio — Chromium cannot apply its own answer rejecting the tagged section ("Failed
        // to setup RTCP mux").
        for (const source of [this.#audio, this.#video]) {
          if (!source) continue;
          const track = new MediaStreamTrack({ kind: source.kind });
          const transceiver = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
          // The video's codec is known once the viewer answered.
          if (source.kind === "video") this.#pendingVideo = { transceiver, track };
          else this.#attachAudio(source, track);
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
          // A section with no codec in common is rejected (werift patch 007): nothing to send on it.
          if (transceiver.stopped) {
            if (source.kind === "video") this.#noCommonVideoCodec();
            continue;
          }
          const track = new MediaStreamTrack({ kind: source.kind });
          transceiver.setDirection("sendonly");
          await transceiver.sender.replaceTrack(track);
          if (source.kind === "video") this.#pendingVideo = { transceiver, track };
          else this.#attachAudio(source, track);
        }
        await this.pc.setLocalDescription(await this.pc.createAnswer());
        void this.#attachNegotiatedVideo();
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
    await this.#attachNegotiatedVideo();
  }

  protected override onConnected(): void {
    // The shared encoder is mid-GOP: a keyframe now gives this viewer a picture at once.
    this.#layerSwitch?.requestKeyframe("viewer connected");
  }

  /** The viewer's layer and its browser's bandwidth estimate (for the REST API and the metrics). */
  adaptation(): { layer: string | undefined; estimateBps: number | undefined } {
    return {
      layer: this.#layerSwitch?.currentLabel,
      estimateBps: this.#policy?.estimate,
    };
  }

  protected override negotiatedKinds(): Array<"video" | "audio"> {
    return [...this.#attached];
  }

  /**
   * The audio: every packet of the shared encoder goes to this viewer too (fan-out). werift parses it
   * into its own packet (the buffer is only borrowed) and rewrites SSRC and payload type for this session.
   */
  #attachAudio(source: OutgoingStream, track: MediaStreamTrack): void {
    this.#attached.add("audio");
    const counter = this.counters.audio;
    this.onClose(
      source.subscribe({
        write: (packet) => {
          counter.count(packet);
          track.writeRtp(packet);
        },
      }),
    );
  }

  /**
   * Once the video's codec is negotiated: the first of the device's codecs the viewer takes, whose
   * ladder is started for it if no other viewer uses that codec. A viewer that takes none (its browser
   * rejected the video) gets the audio alone; so does one whose codec's ladder cannot start.
   */
  async #attachNegotiatedVideo(): Promise<void> {
    const pending = this.#pendingVideo;
    const source = this.#video;
    this.#pendingVideo = undefined;
    if (!pending || !source || this.closed) return;
    const codec = chooseSendCodec(pending.transceiver, source.codecs.filter(isVideoCodec));
    if (!codec) return this.#noCommonVideoCodec();
    // The header extensions werift's sender writes (private in its typings).
    const negotiated = (
      pending.transceiver.sender as unknown as { headerExtensions?: Array<{ id: number; uri: string }> }
    ).headerExtensions;
    const extensions = sentExtensions(negotiated ?? []);
    const fecFormat = extensions && useRedFec(pending.transceiver);
    const fec = fecFormat ? { format: fecFormat, extensions: extensions ?? [] } : undefined;
    let use: Awaited<ReturnType<OutgoingStream["use"]>>;
    try {
      use = await source.use(codec);
    } catch (error) {
      this.log.warn({ peerId: this.peerId, codec, err: (error as Error).message }, "no video for the viewer");
      return;
    }
    if (this.closed) return use.release();
    this.onClose(() => use.release());
    this.#attached.add("video");
    this.#attachVideo(pending.transceiver, use.layers, codec, pending.track, fec);
    this.log.info({ peerId: this.peerId, codec, fec: fec !== undefined }, "viewer gets video");
    if (this.pc.connectionState === "connected") this.#layerSwitch?.requestKeyframe("viewer connected");
  }

  #noCommonVideoCodec(): void {
    // A closed session's transceivers are stopped too: that is no rejection.
    if (this.closed) return;
    this.log.warn(
      { peerId: this.peerId, offered: this.#video?.codecs.filter(isVideoCodec) },
      "the viewer's browser takes none of the device's video codecs: it gets the audio only",
    );
  }

  /**
   * The video: this viewer's own path through the shared ladder ({@link LayerSwitch}), moved between
   * layers by what its browser reports ({@link LayerPolicy}); its NACKs answered within a budget
   * ({@link RetransmissionBudget}); its keyframe requests served by its own layer only, and a viewer
   * that asks too often moved down instead (one lossy viewer never costs the others a keyframe).
   */
  #attachVideo(
    transceiver: RTCRtpTransceiver,
    layers: readonly StreamLayer[],
    codec: VideoCodecName,
    track: MediaStreamTrack,
    fec: { format: FecFormat; extensions: SentExtension[] } | undefined,
  ): void {
    const counter = this.counters.video;
    // What the viewer's video would be without FEC: the room for FEC is measured against it.
    const media = new RtpCounter("video");
    const sender = transceiver.sender;
    const budget = new RetransmissionBudget();
    let newestSeq: number | undefined;
    // The sequence numbers werift sends are these (it adds no offset).
    const deliver = (packet: Buffer) => {
      counter.count(packet);
      newestSeq = packet.readUInt16BE(2);
      budget.sent(newestSeq, performance.now());
      track.writeRtp(packet);
    };
    const fecSender = fec && new FecSender(fec.format, fec.extensions, deliver);
    const layerSwitch = new LayerSwitch({
      layers,
      codec,
      start: 0,
      clockRate: CODECS[codec].clockRate,
      logger: this.log,
      send: fecSender
        ? (packet) => {
            media.count(packet);
            fecSender.write(packet);
          }
        : deliver,
    });
    this.#layerSwitch = layerSwitch;
    this.onClose(() => layerSwitch.close());
    const policy = new LayerPolicy(
      layers.map((layer) => (layer.bitrateKbps ?? 0) * 1000),
      0,
      performance.now(),
      { canProbe: BandwidthProbe.available(sender) },
    );
    this.#policy = policy;
    const probe = new BandwidthProbe(sender);
    this.onClose(() => probe.close());
    // The round trip the policy reads is that of the newest sender report (RFC 3550 §6.4.1): werift's
    // own, every 0.5–1.5 s, left a queue that had drained on the record for a second or more.
    const reports = setInterval(() => void sender.sendSenderReport(), VIDEO_SENDER_REPORT_MS);
    this.onClose(() => clearInterval(reports));
    const keyframes = new KeyframeRequests(() => layerSwitch.requestKeyframe("viewer asked"));
    this.onClose(() => keyframes.close());
    const act = (decision: LayerDecision | undefined) => {
      if (!decision) return;
      if (decision.probeBps !== undefined) {
        const now = performance.now();
        if (decision.probeBps > 0) probe.start(decision.probeBps, LAYER_PROBE_MS);
        else probe.stop();
        // The queue the padding builds is the device's own, and drains on the same layer.
        budget.ownQueueUntil =
          now + (decision.probeBps > 0 ? LAYER_PROBE_MS : 0) + LAYER_PROBE_FAILED_QUIET_MS;
        this.log.debug(
          { peerId: this.peerId, probeBps: Math.round(decision.probeBps), reason: decision.reason },
          "bandwidth probe",
        );
        return;
      }
      probe.stop();
      keyframes.moved();
      layerSwitch.switchTo(decision.layer, decision.reason);
      this.log.info(
        { peerId: this.peerId, layer: layers[decision.layer]?.label, reason: decision.reason },
        "viewer moved to another layer",
      );
    };
    // A FEC packet is never re-sent (libwebrtc does not either): a round trip late it repairs nothing.
    const copies = new Set<NodeJS.Timeout>();
    this.onClose(() => {
      for (const copy of copies) clearTimeout(copy);
    });
    sender.retransmissionFilter = (seq, size) => {
      const now = performance.now();
      if (fecSender?.isFec(seq) || !budget.allow(seq, size, now)) return false;
      if (budget.secondCopy(size, now)) {
        const copy = setTimeout(() => {
          copies.delete(copy);
          sender.resendOverRtx(seq);
        }, NACK_SECOND_COPY_DELAY_MS);
        copies.add(copy);
      }
      return true;
    };

    const onKeyframeRequest = () => {
      const now = performance.now();
      if (keyframes.tooOften(now)) {
        const decision = policy.struggling(now, "keyframe requests too often");
        // Moved down: the new layer's keyframe is on its way. A probe ended, or on the bottom layer:
        // served as usual.
        act(decision);
        if (decision && decision.probeBps === undefined) return;
      }
      keyframes.serve(now);
    };

    const onRtcp = (packet: RtcpPacket) => {
      const now = performance.now();
      if (isKeyframeRequest(packet, sender.ssrc)) {
        onKeyframeRequest();
      } else if (packet.type === RtcpPayloadSpecificFeedback.type) {
        const feedback = (packet as RtcpPayloadSpecificFeedback).feedback;
        if (feedback instanceof ReceiverEstimatedMaxBitrate) {
          const bps = Number(feedback.bitrate);
          budget.estimateBps = bps;
          const sending = this.counters.video.counts().bitrate + this.counters.audio.counts().bitrate;
          this.log.trace({ estimateBps: bps, sendingBps: sending, layer: layerSwitch.current }, "estimate");
          act(policy.onEstimate(bps, now, sending));
        }
      } else if (packet.type === RtcpRrPacket.type || packet.type === RtcpSrPacket.type) {
        const report = (packet as RtcpRrPacket).reports.find((block) => block.ssrc === sender.ssrc);
        if (!report) return;
        // The report's own round trip (the media path); ICE's consent checks' when it has none yet.
        const iceRtt = this.pc.iceTransports[0]?.connection.nominated?.rtt;
        const reportRtt = roundTripFromReport(report.lsr, report.dlsr, ntpTime());
        budget.setRoundTrip(reportRtt ?? (iceRtt === undefined ? undefined : iceRtt * 1000), now);
        this.log.trace(
          {
            lost: report.packetsLost,
            highestSequence: report.highestSequence,
            rttMs: budget.rttMs,
            layer: layerSwitch.current,
          },
          "loss report",
        );
        if (reportRtt !== undefined) act(policy.onRoundTrip(reportRtt, now));
        act(policy.onReport(report.packetsLost, report.highestSequence, now));
        if (fecSender) {
          const share = policy.fecShare(media.counts().bitrate + this.counters.audio.counts().bitrate, now);
          if (share !== fecSender.share)
            this.log.debug({ peerId: this.peerId, share }, "forward error correction");
          fecSender.share = share;
        }
      }
    };
    // werift routes a REMB to the sender of its first SSRC (audio's, maybe), and a PLI on a sendrecv
    // transceiver to the receiver: listen to everything of this session.
    for (const other of this.pc.getTransceivers()) {
      const fromSender = other.sender.onRtcp.subscribe(onRtcp);
      this.onClose(() => fromSender.unSubscribe());
    }
    const fromReceiver = transceiver.receiver.onRtcp.subscribe(onRtcp);
    this.onClose(() => fromReceiver.unSubscribe());

    // A NACK for a packet no longer kept or too old to re-send (after an outage, say) can never be
    // answered: the viewer would wait for it until its own keyframe request, seconds later. Ask its
    // layer for the keyframe now.
    const onNack = (feedback: { lost: number[] }) => {
      if (newestSeq === undefined) return;
      const newest = newestSeq;
      const gone = (seq: number) => {
        const age = (newest - seq) & 0xffff;
        // Older than werift keeps, but not beyond what a receiver still asks for (an age past that
        // is not a real request).
        return age >= WERIFT_RTP_HISTORY_PACKETS && age < RECEIVER_MAX_NACK_AGE_PACKETS;
      };
      // werift asks the budget about each packet before it tells of the NACK.
      // Through the viewer's own limits: a viewer on a bad link asks again every round trip.
      const refusedAsOld = budget.takeRefusedAsOld();
      // A NACK can come every round trip: the ages are worked out only for a trace log.
      if (this.log.isLevelEnabled("trace"))
        this.log.trace(
          { ages: feedback.lost.map((seq) => (newest - seq) & 0xffff), refusedAsOld, counts: budget.counts },
          "nack",
        );
      if (refusedAsOld > 0 || feedback.lost.some(gone)) onKeyframeRequest();
      act(policy.onNack(feedback.lost.length, performance.now()));
    };
    const nacks = sender.onGenericNack.subscribe(onNack);
    this.onClose(() => nacks.unSubscribe());
  }
}
