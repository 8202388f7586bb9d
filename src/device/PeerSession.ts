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
import type { RTCPeerConnection } from "werift";
import type { Logger } from "../common/logger.ts";
import type { IcePayload, PeerMessage, SdpPayload } from "../protocol/index.ts";
import { DISCONNECTED_GIVE_UP_MS } from "./constants.ts";
import { createPeerConnection, type IceSettings, type SessionCodecs } from "./webrtc.ts";

export type SessionEndReason =
  | "ended-by-peer"
  | "failed"
  | "closed-by-device"
  | "signalling-lost"
  | "negotiation-failed";

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
  readonly #role: string;
  readonly #send: (message: SessionMessage) => void;
  readonly #createdAt = performance.now();
  readonly #cleanups: Array<() => void> = [];
  /** Candidates gathered before our SDP went out; undefined once it has. */
  #heldCandidates: IcePayload[] | undefined = [];
  #disconnectedTimer: NodeJS.Timeout | undefined;
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
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    if (reason !== "ended-by-peer" && reason !== "signalling-lost") {
      this.#send({ type: "endSession", sessionId: this.sessionId });
    }
    void this.pc.close().catch(() => {});
    this.log.info({ reason, peerId: this.peerId }, `${this.#role} session ended`);
    this.emit("closed", reason);
    this.removeAllListeners();
  }

  /** Our offer or answer from the other peer's SDP (an unexpected type is ignored with a warning). */
  protected abstract handleDescription(sdp: SdpPayload): Promise<void>;

  /** Called once ICE and DTLS are connected. */
  protected onConnected(): void {}

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

  #onConnectionState(state: string): void {
    if (this.#closed) return;
    this.log.debug({ state }, "connection state");
    clearTimeout(this.#disconnectedTimer);
    if (state === "connected") {
      const ms = Math.round(performance.now() - this.#createdAt);
      this.log.info({ peerId: this.peerId, ms }, `${this.#role} connected`);
      this.onConnected();
    } else if (state === "failed" || state === "closed") {
      this.close("failed");
    } else if (state === "disconnected") {
      this.#disconnectedTimer = setTimeout(() => this.close("failed"), DISCONNECTED_GIVE_UP_MS);
    }
  }
}
