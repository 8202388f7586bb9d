/**
 * The signalling side of one WebRTC session, shared by the device's viewers and senders: trickled
 * candidates held back until our SDP has gone out (a candidate ahead of the SDP breaks the browser:
 * "remote description was null", or gstwebrtc-api's producer ends the session), remote candidates
 * applied, and `endSession` sent when the device ends the session itself.
 */
import type { RTCPeerConnection } from "werift";
import type { IcePayload, PeerMessage, SdpPayload } from "../protocol/index.ts";

export type SessionEndReason =
  | "ended-by-peer"
  | "failed"
  | "closed-by-device"
  | "signalling-lost"
  | "negotiation-failed";

export type SessionMessage = PeerMessage | { type: "endSession"; sessionId: string };

export class SessionSignalling {
  readonly #sessionId: string;
  readonly #pc: RTCPeerConnection;
  readonly #send: (message: SessionMessage) => void;
  #pending: IcePayload[] | undefined = [];
  #ended = false;

  constructor(sessionId: string, pc: RTCPeerConnection, send: (message: SessionMessage) => void) {
    this.#sessionId = sessionId;
    this.#pc = pc;
    this.#send = send;
    pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate?.candidate || candidate.sdpMLineIndex === undefined) return;
      this.#candidate({ candidate: candidate.candidate, sdpMLineIndex: candidate.sdpMLineIndex });
    });
  }

  /** Sends our offer or answer, then the candidates gathered meanwhile. */
  sendDescription(sdp: SdpPayload): void {
    if (this.#ended) return;
    this.#send({ type: "peer", sessionId: this.#sessionId, sdp });
    const queued = this.#pending ?? [];
    this.#pending = undefined;
    for (const candidate of queued) this.#candidate(candidate);
  }

  /** A remote candidate; an empty one (end of candidates) needs nothing. */
  async addRemoteCandidate(ice: IcePayload): Promise<void> {
    if (ice.candidate)
      await this.#pc.addIceCandidate({ candidate: ice.candidate, sdpMLineIndex: ice.sdpMLineIndex });
  }

  /** Tells the other side, unless it ended the session itself or the signalling connection is gone. */
  end(reason: SessionEndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    if (reason !== "ended-by-peer" && reason !== "signalling-lost") {
      this.#send({ type: "endSession", sessionId: this.#sessionId });
    }
  }

  #candidate(candidate: IcePayload): void {
    if (this.#ended) return;
    if (this.#pending) this.#pending.push(candidate);
    else this.#send({ type: "peer", sessionId: this.#sessionId, ice: candidate });
  }
}
