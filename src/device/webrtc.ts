/**
 * How the device builds its werift peer connections: ICE settings, the codecs it negotiates (from the
 * codec table), and the workarounds for werift behaviour described in docs/MEDIA.md.
 */
import {
  type RTCIceServer,
  RTCPeerConnection,
  type RTCRtpCodecParameters,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
} from "werift";
import { CODECS, type VideoCodecName } from "../media/codecs.ts";

export interface IceSettings {
  /** `stun:host:port`, `turn:user:pass@host:port` (webrtcsink style) or `turn:host?…` URLs. */
  iceServers: string[];
  /** Gather candidates on 127.0.0.1 only and talk only to loopback peers (tests, same-machine use). */
  loopbackOnly: boolean;
}

/**
 * How many sent packets werift keeps to answer NACKs (`RTP_HISTORY_SIZE` in its rtpSender.js): a
 * NACK for an older packet goes unanswered.
 */
export const WERIFT_RTP_HISTORY_PACKETS = 128;

/** The codecs a session offers or accepts, in order of preference. */
export interface SessionCodecs {
  video: VideoCodecName[];
  audio: boolean;
}

/** Parses `--ice-server` URLs; credentials may be given webrtcsink-style as `turn://user:pass@host:port`. */
export function parseIceServer(url: string): RTCIceServer {
  const match = url.match(/^(stuns?|turns?):(?:\/\/)?(?:([^:@/]+):([^@/]+)@)?(.+)$/);
  if (!match) throw new Error(`not a STUN or TURN URL: ${url} (e.g. stun:stun.example.org:3478)`);
  const [, scheme, username, credential, rest] = match;
  const server: RTCIceServer = { urls: `${scheme}:${rest}` };
  if (username !== undefined) {
    server.username = decodeURIComponent(username);
    server.credential = decodeURIComponent(credential ?? "");
  }
  return server;
}

/** The werift codec list of a session: video codecs in order of preference, then Opus. */
function rtpCodecParameters(codecs: SessionCodecs): {
  video: RTCRtpCodecParameters[];
  audio: RTCRtpCodecParameters[];
} {
  return {
    video: codecs.video.map((codec) => CODECS[codec].rtpParameters()),
    audio: codecs.audio ? [CODECS.opus.rtpParameters()] : [],
  };
}

export function createPeerConnection(ice: IceSettings, codecs: SessionCodecs): RTCPeerConnection {
  return new RTCPeerConnection({
    bundlePolicy: "max-bundle",
    iceServers: ice.iceServers.map(parseIceServer),
    iceUseIpv6: false,
    // werift skips loopback interfaces unless named here; a browser on the same machine (or in a
    // loopback-only test namespace) can only be reached through it.
    iceAdditionalHostAddresses: ["127.0.0.1"],
    ...(ice.loopbackOnly
      ? {
          iceUseIpv4: false,
          iceFilterCandidatePair: (pair) => pair.remoteCandidate.host === "127.0.0.1",
        }
      : {}),
    codecs: rtpCodecParameters(codecs),
  });
}

/**
 * True for a PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1) asking this sender for a keyframe.
 * werift routes a PLI on a sendrecv transceiver to the receiver (it looks the sender SSRC up first),
 * so both the sender's and the receiver's RTCP are checked, matching the media SSRC to our sender.
 */
export function isKeyframeRequest(packet: RtcpPacket, senderSsrc: number): boolean {
  if (packet.type !== RtcpPayloadSpecificFeedback.type) return false;
  const feedback = (packet as RtcpPayloadSpecificFeedback).feedback as { count: number; mediaSsrc?: number };
  if (feedback.count === 1) return feedback.mediaSsrc === senderSsrc; // PLI
  return feedback.count === 4; // FIR: the SSRC is in its FCI entries
}
