/**
 * How the device builds its werift peer connections: ICE settings, the codecs it negotiates (from the
 * codec table), and the workarounds for werift behaviour described in docs/MEDIA.md.
 */
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCRtpTransceiver,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  useAbsSendTime,
} from "werift";
import { CODECS, codecOfMimeType, type VideoCodecName } from "../media/codecs.ts";
import type { FecFormat } from "./FecSender.ts";
import { mintTurnCredentials, type TurnRestSettings } from "./turn.ts";

export interface IceSettings {
  /** `stun:host:port`, `turn:user:pass@host:port` (webrtcsink style) or `turn:host?…` URLs. */
  iceServers: string[];
  /** Time-limited credentials for the TURN URLs that carry none (`--turn-secret-file`, src/device/turn.ts). */
  turn?: TurnRestSettings | undefined;
  /** Who the device is in its TURN usernames (its name). */
  turnLabel?: string | undefined;
  /** Gather candidates on 127.0.0.1 only and talk only to loopback peers (tests, same-machine use). */
  loopbackOnly: boolean;
}

/**
 * How many sent packets werift keeps to answer NACKs (`RTP_HISTORY_SIZE` in its rtpSender.js): a
 * NACK for an older packet goes unanswered.
 */
export const WERIFT_RTP_HISTORY_PACKETS = 128;

/**
 * The oldest packet a receiver still asks to be re-sent, in packets behind the newest: libwebrtc's
 * `kMaxPacketAge` (modules/video_coding/nack_requester.cc) — it forgets older losses and asks for a
 * keyframe instead.
 */
export const RECEIVER_MAX_NACK_AGE_PACKETS = 10_000;

/**
 * The round trip to a receiver from one of its report blocks, ms (RFC 3550 §6.4.1: the arrival time
 * less LSR, the middle 32 bits of the NTP time of our last sender report, less DLSR, the receiver's
 * delay since that report; both in 1/65536 s). Undefined before the receiver had a sender report.
 */
export function roundTripFromReport(lsr: number, dlsr: number, nowNtp: bigint): number | undefined {
  if (lsr === 0) return undefined;
  const now = Number((nowNtp >> 16n) & 0xffffffffn);
  const seconds = ((now - lsr - dlsr) >>> 0) / 65536;
  // A wrapped (negative) difference is a report from a clock we do not share: no round trip.
  return seconds < 10 ? seconds * 1000 : undefined;
}

/** The codecs a session offers or accepts, in order of preference. */
export interface SessionCodecs {
  /** Negotiate what the receiver needs to estimate our bandwidth (we send). */
  bandwidthFeedback?: boolean;
  video: VideoCodecName[];
  audio: boolean;
}

/** One STUN or TURN server, as werift and a browser's RTCPeerConnection take it (and /config.json carries it). */
export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

/** Parses `--ice-server` URLs; credentials may be given webrtcsink-style as `turn://user:pass@host:port`. */
export function parseIceServer(url: string): IceServer {
  const match = url.match(/^(stuns?|turns?):(?:\/\/)?(?:([^:@/]+):([^@/]+)@)?(.+)$/);
  if (!match) throw new Error(`not a STUN or TURN URL: ${url} (e.g. stun:stun.example.org:3478)`);
  const [, scheme, username, credential, rest] = match;
  const server: IceServer = { urls: `${scheme}:${rest}` };
  if (username !== undefined) {
    server.username = decodeURIComponent(username);
    server.credential = decodeURIComponent(credential ?? "");
  }
  return server;
}

/** A TURN server (`turn:` or `turns:`, RFC 7065), which needs credentials; STUN does not. */
function isTurn(server: IceServer): boolean {
  return /^turns?:/.test(server.urls);
}

/**
 * Checks `--ice-server` URLs once, at start: each must parse, and a TURN URL needs credentials — in the
 * URL, or minted from a TURN secret (a browser refuses a TURN server without them, and so does coturn).
 * Returns the problem, or undefined.
 */
export function iceSettingsProblem(
  urls: readonly string[],
  turn: TurnRestSettings | undefined,
): string | undefined {
  for (const url of urls) {
    let server: IceServer;
    try {
      server = parseIceServer(url);
    } catch (error) {
      return (error as Error).message;
    }
    if (isTurn(server) && server.username === undefined && !turn) {
      return (
        `${server.urls} has no credentials: give them in the URL (turn:user:pass@host:port), or give the ` +
        "TURN server's static-auth-secret with --turn-secret-file (coturn use-auth-secret)"
      );
    }
  }
  return undefined;
}

/**
 * The ICE servers of one peer connection: TURN URLs without credentials get credentials minted now for
 * `label` (each session of the device, each /config.json of a browser); the others are as given.
 */
export function iceServersFor(
  urls: readonly string[],
  turn: TurnRestSettings | undefined,
  label: string,
  now: number = Date.now(),
): IceServer[] {
  return urls.map((url) => {
    const server = parseIceServer(url);
    if (!turn || !isTurn(server) || server.username !== undefined) return server;
    const { username, credential } = mintTurnCredentials(turn, label, now);
    return { ...server, username, credential };
  });
}

/** RED (RFC 2198) and ULPFEC (RFC 5109) for video, as a browser offers them; RED's RTX one above. */
const RED_PAYLOAD_TYPE = 116;
const ULPFEC_PAYLOAD_TYPE = 118;

/**
 * The werift codec list of a session: video codecs in order of preference, then Opus. A session that
 * sends also offers RTX for each video codec (RFC 4588: re-sent packets on their own SSRC and payload
 * type, so the receiver tells them from late ones, and its estimate is not misled by them), and RED
 * with ULPFEC (forward error correction, src/device/FecSender.ts), RTX for RED too.
 */
function rtpCodecParameters(codecs: SessionCodecs): {
  video: RTCRtpCodecParameters[];
  audio: RTCRtpCodecParameters[];
} {
  const red = new RTCRtpCodecParameters({
    mimeType: "video/red",
    clockRate: 90000,
    payloadType: RED_PAYLOAD_TYPE,
  });
  const ulpfec = new RTCRtpCodecParameters({
    mimeType: "video/ulpfec",
    clockRate: 90000,
    payloadType: ULPFEC_PAYLOAD_TYPE,
  });
  const video = codecs.video.flatMap((codec) => {
    const parameters = CODECS[codec].rtpParameters();
    return codecs.bandwidthFeedback ? [parameters, rtxFor(parameters)] : [parameters];
  });
  return {
    video: codecs.bandwidthFeedback && video.length > 0 ? [...video, red, rtxFor(red), ulpfec] : video,
    audio: codecs.audio ? [CODECS.opus.rtpParameters()] : [],
  };
}

/** RTX for a codec (RFC 4588 §8.6): payload type one above the codec's, `apt` naming it. */
function rtxFor(codec: RTCRtpCodecParameters): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: "video/rtx",
    clockRate: codec.clockRate,
    payloadType: (codec.payloadType as number) + 1,
    parameters: `apt=${codec.payloadType}`,
  });
}

export function createPeerConnection(ice: IceSettings, codecs: SessionCodecs): RTCPeerConnection {
  return new RTCPeerConnection({
    bundlePolicy: "max-bundle",
    // Minted per connection, so a device that runs for months never offers an expired credential.
    iceServers: iceServersFor(ice.iceServers, ice.turn, ice.turnLabel ?? "device"),
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
    // abs-send-time on what we send: the receiver's delay-based bandwidth estimate, which it reports
    // in REMB (goog-remb is in every video codec's feedback), reads our send times from it.
    ...(codecs.bandwidthFeedback ? { headerExtensions: { video: [useAbsSendTime()], audio: [] } } : {}),
  });
}

/** An H.264 format we can send: packetization-mode 1 (the payloader fragments, RFC 6184 §6.3). */
function sendableH264(codec: RTCRtpCodecParameters): boolean {
  return /(^|;)\s*packetization-mode=1\b/.test(codec.parameters ?? "");
}

/** Baseline profile (profile_idc 0x42, RFC 6184 §8.1): ours is constrained baseline, which it decodes. */
function baselineH264(codec: RTCRtpCodecParameters): boolean {
  return /(^|;)\s*profile-level-id=42/i.test(codec.parameters ?? "");
}

/**
 * What one viewer is sent: the first codec of `preference` that was negotiated on its transceiver
 * (for H.264 a packetization-mode=1 format, baseline first: constrained baseline is what the device
 * encodes, and what a main or high decoder reads too). werift's sender is told to write that format's
 * payload type (it would write the first negotiated one, in the viewer's order). Undefined when the
 * section was rejected or none is sendable.
 */
export function chooseSendCodec(
  transceiver: RTCRtpTransceiver,
  preference: readonly VideoCodecName[],
): VideoCodecName | undefined {
  if (transceiver.stopped) return undefined;
  for (const name of preference) {
    const formats = transceiver.codecs.filter((codec) => codecOfMimeType(codec.mimeType)?.name === name);
    const chosen =
      name === "h264"
        ? (formats.find((f) => sendableH264(f) && baselineH264(f)) ?? formats.find(sendableH264))
        : formats[0];
    if (!chosen) continue;
    sendFormat(transceiver, chosen);
    return name;
  }
  return undefined;
}

/**
 * Tells werift's sender which format goes on the wire: the payload type it writes on every packet, and
 * the RTX payload type of that format, if negotiated (werift took the ones of the first negotiated
 * codec; the RTX field is private in werift's typings, and prepareSend() would take the first codec
 * again). werift's own RED is for audio redundancy: it stays off.
 */
function sendFormat(transceiver: RTCRtpTransceiver, format: RTCRtpCodecParameters): void {
  const sender = transceiver.sender;
  sender.codec = format;
  if (sender.track) sender.track.codec = format;
  const internals = sender as unknown as {
    rtxPayloadType: number | undefined;
    redRedundantPayloadType: number | undefined;
  };
  internals.redRedundantPayloadType = undefined;
  internals.rtxPayloadType = negotiatedRtx(transceiver, format)?.payloadType;
}

/** The RTX format negotiated for `format` (RFC 4588 §8.6: its `apt` names the format's payload type). */
function negotiatedRtx(
  transceiver: RTCRtpTransceiver,
  format: RTCRtpCodecParameters,
): RTCRtpCodecParameters | undefined {
  return transceiver.codecs.find(
    (codec) =>
      codec.mimeType.toLowerCase() === "video/rtx" &&
      new RegExp(`(^|;)\\s*apt=${format.payloadType}\\b`).test(codec.parameters ?? ""),
  );
}

/**
 * Sends the chosen codec (chooseSendCodec) in RED with ULPFEC, when the viewer negotiated both: the
 * sender writes RED's payload type (and re-sends on RED's RTX); src/device/FecSender.ts wraps each
 * packet. VP8 only, as libwebrtc does: its receiver tells a frame's start in H.264 by the packet
 * before it, and FEC packets between frames hide that (`PayloadTypeSupportsSkippingFecPackets`).
 * Returns the payload types, or undefined (the codec goes out as it is).
 */
export function useRedFec(transceiver: RTCRtpTransceiver): FecFormat | undefined {
  const media = transceiver.sender.codec;
  if (!media || codecOfMimeType(media.mimeType)?.name !== "vp8") return undefined;
  const named = (mimeType: string) =>
    transceiver.codecs.find((codec) => codec.mimeType.toLowerCase() === mimeType);
  const red = named("video/red");
  const ulpfec = named("video/ulpfec");
  if (!red || !ulpfec) return undefined;
  // RED without its own RTX would lose the codec's: re-sends and probes matter more than FEC.
  if (negotiatedRtx(transceiver, media) && !negotiatedRtx(transceiver, red)) return undefined;
  sendFormat(transceiver, red);
  return {
    media: media.payloadType as number,
    red: red.payloadType as number,
    ulpfec: ulpfec.payloadType as number,
  };
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
