/**
 * How the device builds its werift peer connections: ICE settings, the codecs it offers, and the
 * workarounds for werift behaviour measured in ../shared/reference/feasibility-study.md.
 */
import {
  type RTCIceServer,
  RTCPeerConnection,
  type RTCRtpCodecParameters,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  useH264,
  useOPUS,
  useVP8,
} from "werift";
import { PAYLOAD_TYPES, type VideoCodec } from "../media/pipelines.ts";

export interface IceSettings {
  /** `stun:host:port`, `turn:user:pass@host:port` (webrtcsink style) or `turn:host?…` URLs. */
  iceServers: string[];
  /** Gather candidates on 127.0.0.1 only and talk only to loopback peers (tests, same-machine use). */
  loopbackOnly: boolean;
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

export function videoCodecParameters(codec: VideoCodec): RTCRtpCodecParameters {
  return codec === "vp8"
    ? useVP8({ payloadType: PAYLOAD_TYPES.vp8 })
    : // Constrained baseline, level 3.1, packetization-mode=1: every browser, Safari included.
      useH264({ payloadType: PAYLOAD_TYPES.h264 });
}

export function createPeerConnection(
  ice: IceSettings,
  video: VideoCodec | undefined,
  codecs: { video: RTCRtpCodecParameters[]; audio: RTCRtpCodecParameters[] } = {
    video: video ? [videoCodecParameters(video)] : [],
    audio: [useOPUS({ payloadType: PAYLOAD_TYPES.opus })],
  },
): RTCPeerConnection {
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
    codecs,
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
