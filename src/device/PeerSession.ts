/**
 * What every WebRTC session of the device shares, whether it sends to a viewer ({@link ProducerSession})
 * or receives from a sender ({@link IncomingSession}): one werift peer connection, the signalling of
 * its SDP and candidates, when to give up on the other peer, and one idempotent close.
 *
 * - Candidate ordering: trickled candidates are held back until our SDP has gone out (a candidate ahead
 *   of the SDP breaks the browser: "remote description was null", or gstwebrtc-api's producer ends the
 *   session).
 * - One give-up policy: "failed" or "closed" ends the session at once; "disconnected" ends it after
 *   {@link DISCONNECTED_GIVE_UP_MS} unless ICE recovers.
 * - `endSession` goes to the other peer when the device ends the session itself — not when the peer
 *   ended it, nor when the signalling connection is gone (the server told the peer then).
 */
import { EventEmitter } from "node:events";
import type { RTCPeerConnection, RTCStats } from "werift";
import { typedChannel } from "../common/instrumentation.ts";
import type { Logger } from "../common/logger.ts";
import { codecOfMimeType } from "../media/codecs.ts";
import { RtpCounter } from "../media/RtpCounter.ts";
import type { IcePayload, PeerMessage, SdpPayload } from "../protocol/index.ts";
import { DISCONNECTED_GIVE_UP_MS, NO_MEDIA_WARNING_MS } from "./constants.ts";
import type { SessionMediaStats, SessionStats, SessionStatus } from "./status.ts";
import { createPeerConnection, type IceSettings, type SessionCodecs } from "./webrtc.ts";

export type SessionEndReason =
  | "ended-by-peer"
  | "failed"
  | "closed-by-device"
  | "signalling-lost"
  | "negotiation-failed";

/** The metrics' hook (src/common/instrumentation.ts): a session ended, with its final counts. */
export interface SessionEnded {
  role: "viewer" | "sender";
  /** Why: `failed` is an ICE or DTLS failure, or a connection that stayed disconnected. */
  reason: SessionEndReason;
  stats: SessionStats;
}

export const sessionEnded = typedChannel<SessionEnded>("device-rtc:session-ended");

export type SessionMessage = PeerMessage | { type: "endSession"; sessionId: string };

export interface PeerSessionOptions {
  sessionId: string;
  /** The other peer's id. */
  peerId: string;
  ice: IceSettings;
  /** Sends a message to the other peer through the signalling server. */
  send: (message: SessionMessage) => void;
  logger: Logger;
}

interface PeerSessionEvents {
  /** Our offer or answer has gone out. */
  negotiated: [];
  closed: [reason: SessionEndReason];
}

export abstract class PeerSession extends EventEmitter<PeerSessionEvents> {
  readonly sessionId: string;
  /** The other peer's id. */
  readonly peerId: string;
  protected readonly pc: RTCPeerConnection;
  protected readonly log: Logger;
  /** What the other peer is, in log lines: "viewer" or "sender". */
  readonly #role: "viewer" | "sender";
  readonly #send: (message: SessionMessage) => void;
  readonly #createdAt = performance.now();
  readonly #startedAt = new Date().toISOString();
  #connectedAt: string | undefined;
  /** What passed through this session, by kind (for its status; see {@link stats}). */
  protected readonly counters = { video: new RtpCounter("video"), audio: new RtpCounter("audio") };
  readonly #cleanups: Array<() => void> = [];
  /** Candidates gathered before our SDP went out; undefined once it has. */
  #heldCandidates: IcePayload[] | undefined = [];
  #disconnectedTimer: NodeJS.Timeout | undefined;
  #noMediaTimer: NodeJS.Timeout | undefined;
  #closed = false;

  protected constructor(options: PeerSessionOptions, role: "viewer" | "sender", codecs: SessionCodecs) {
    super();
    this.sessionId = options.sessionId;
    this.peerId = options.peerId;
    this.#role = role;
    this.#send = options.send;
    this.log = options.logger.child({ sessionId: options.sessionId });
    this.pc = createPeerConnection(options.ice, codecs);
    this.pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate?.candidate || candidate.sdpMLineIndex === undefined) return;
      this.#candidate({ candidate: candidate.candidate, sdpMLineIndex: candidate.sdpMLineIndex });
    });
    this.pc.connectionStateChange.subscribe((state) => this.#onConnectionState(state));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** An SDP or a candidate from the other peer. An SDP that cannot be applied ends the session. */
  async handlePeerMessage(message: PeerMessage): Promise<void> {
    if (this.#closed) return;
    try {
      if (message.sdp) {
        this.log.debug({ sdp: message.sdp.sdp }, `received ${message.sdp.type}`);
        await this.handleDescription(message.sdp);
      } else if (message.ice.candidate) {
        // An empty candidate (end of candidates) needs nothing.
        await this.pc.addIceCandidate({
          candidate: message.ice.candidate,
          sdpMLineIndex: message.ice.sdpMLineIndex,
        });
      }
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, `could not apply a message from the ${this.#role}`);
      if (message.sdp) this.close("negotiation-failed");
    }
  }

  /**
   * Ends the session once: the other peer is sent `endSession` unless it ended the session itself or
   * the signalling connection is gone.
   */
  close(reason: SessionEndReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#disconnectedTimer);
    clearTimeout(this.#noMediaTimer);
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    if (reason !== "ended-by-peer" && reason !== "signalling-lost") {
      this.#send({ type: "endSession", sessionId: this.sessionId });
    }
    // The metrics' hook, with the session's final counts (read before the connection closes).
    if (sessionEnded.hasSubscribers) sessionEnded.publish({ role: this.#role, reason, stats: this.stats() });
    void this.pc.close().catch(() => {});
    this.log.info({ reason, peerId: this.peerId }, `${this.#role} session ended`);
    this.emit("closed", reason);
    this.removeAllListeners();
  }

  /**
   * A snapshot of the session for the REST API and the metrics: rates from what passed through
   * {@link counters}, RTCP feedback and losses from werift's own counters (read synchronously, so it
   * works after close too), the round-trip time from ICE consent checks.
   */
  stats(): SessionStats {
    const rtt = this.pc.iceTransports[0]?.connection.nominated?.rtt;
    return {
      state: this.pc.connectionState,
      rttMs: rtt === undefined ? undefined : Math.round(rtt * 10_000) / 10,
      video: this.#mediaStats("video"),
      audio: this.#mediaStats("audio"),
    };
  }

  /** {@link stats} with who and when. */
  status(): SessionStatus {
    return {
      sessionId: this.sessionId,
      peerId: this.peerId,
      startedAt: this.#startedAt,
      connectedAt: this.#connectedAt,
      ...this.stats(),
    };
  }

  #mediaStats(kind: "video" | "audio"): SessionMediaStats | undefined {
    const transceivers = this.pc.getTransceivers().filter((transceiver) => transceiver.kind === kind);
    if (transceivers.length === 0) return undefined;
    const entries: RTCStats[] = [];
    for (const transceiver of transceivers) {
      try {
        if (this.#role === "viewer") entries.push(...transceiver.sender.collectStats(0));
        else entries.push(...transceiver.receiver.collectStats(0));
      } catch {
        // not negotiated (yet): nothing to count
      }
    }
    const counts = this.counters[kind].counts();
    const stats: SessionMediaStats = {
      // What is sent is the sender's codec (chosen after negotiation, src/device/webrtc.ts
      // chooseSendCodec); what is received, the first negotiated.
      codec: codecOfMimeType(
        (this.#role === "viewer" ? transceivers[0]?.sender.codec : transceivers[0]?.codecs[0])?.mimeType ??
          "",
      )?.name,
      packets: counts.packets,
      bytes: counts.bytes,
      bitrate: counts.bitrate,
      fps: counts.fps,
      nacks: 0,
      retransmissions: 0,
      keyframeRequests: 0,
      packetsLost: 0,
      fractionLost: undefined,
    };
    for (const entry of entries as Array<RTCStats & Record<string, number | undefined>>) {
      if (entry.type === "outbound-rtp" || entry.type === "inbound-rtp") {
        stats.nacks += entry.nackCount ?? 0;
        stats.retransmissions += entry.retransmittedPacketsSent ?? 0;
        stats.keyframeRequests += (entry.pliCount ?? 0) + (entry.firCount ?? 0);
        if (entry.type === "inbound-rtp") stats.packetsLost += Math.max(0, entry.packetsLost ?? 0);
      } else if (entry.type === "remote-inbound-rtp") {
        stats.packetsLost += Math.max(0, entry.packetsLost ?? 0);
        stats.fractionLost = entry.fractionLost;
      }
    }
    return stats;
  }

  /** Our offer or answer from the other peer's SDP (an unexpected type is ignored with a warning). */
  protected abstract handleDescription(sdp: SdpPayload): Promise<void>;

  /** Called once ICE and DTLS are connected. */
  protected onConnected(): void {}

  /** The kinds this session was negotiated to carry (each is expected to see packets). */
  protected abstract negotiatedKinds(): Array<"video" | "audio">;

  /** Runs `cleanup` when the session closes. */
  protected onClose(cleanup: () => void): void {
    if (this.#closed) cleanup();
    else this.#cleanups.push(cleanup);
  }

  /** Sends the local description (offer or answer), then the candidates held back meanwhile. */
  protected sendLocalDescription(): void {
    const description = this.pc.localDescription;
    if (this.#closed) return;
    if (!description) throw new Error("no local description");
    const type = description.type as "offer" | "answer";
    this.#send({ type: "peer", sessionId: this.sessionId, sdp: { type, sdp: description.sdp } });
    this.log.debug({ sdp: description.sdp }, `sent ${type}`);
    const held = this.#heldCandidates ?? [];
    this.#heldCandidates = undefined;
    for (const candidate of held) this.#candidate(candidate);
    this.emit("negotiated");
  }

  #candidate(candidate: IcePayload): void {
    if (this.#closed) return;
    if (this.#heldCandidates) this.#heldCandidates.push(candidate);
    else this.#send({ type: "peer", sessionId: this.sessionId, ice: candidate });
  }

  #warnAboutSilentKinds(): void {
    if (this.#closed) return;
    const seconds = NO_MEDIA_WARNING_MS / 1000;
    for (const kind of this.negotiatedKinds()) {
      if (this.counters[kind].counts().packets > 0) continue;
      const what =
        this.#role === "sender"
          ? `no ${kind} packets from the sender`
          : `no ${kind} packets sent to the viewer`;
      this.log.warn({ peerId: this.peerId, kind, seconds }, `${what} ${seconds} s after connecting`);
    }
  }

  #onConnectionState(state: string): void {
    if (this.#closed) return;
    this.log.debug({ state }, "connection state");
    clearTimeout(this.#disconnectedTimer);
    if (state === "connected") {
      const ms = Math.round(performance.now() - this.#createdAt);
      this.#connectedAt ??= new Date().toISOString();
      this.log.info({ peerId: this.peerId, ms }, `${this.#role} connected`);
      this.#noMediaTimer ??= setTimeout(() => this.#warnAboutSilentKinds(), NO_MEDIA_WARNING_MS);
      this.onConnected();
    } else if (state === "failed" || state === "closed") {
      this.close("failed");
    } else if (state === "disconnected") {
      this.#disconnectedTimer = setTimeout(() => this.close("failed"), DISCONNECTED_GIVE_UP_MS);
    }
  }
}
