/**
 * SDP and codec negotiation, in-process: real werift peer connections on both sides, descriptions
 * handed over directly (no signalling server, no media). Which codec is chosen, in which order, with
 * which parameters; and the session core's rule that no candidate goes out before our SDP.
 */
import { afterEach, describe, expect, it } from "vitest";
import { RTCPeerConnection, type RTCRtpCodecParameters, useVP9 } from "werift";
import { silentLogger } from "../../src/common/logger.ts";
import { IncomingSession } from "../../src/device/IncomingSession.ts";
import type { PeerSession, SessionMessage } from "../../src/device/PeerSession.ts";
import { ProducerSession } from "../../src/device/ProducerSession.ts";
import {
  chooseSendCodec,
  createPeerConnection,
  type IceSettings,
  roundTripFromReport,
  useRedFec,
} from "../../src/device/webrtc.ts";
import { CODECS, type VideoCodecName } from "../../src/media/codecs.ts";
import type { OutgoingStream } from "../../src/media/OutgoingStream.ts";

const ICE: IceSettings = { iceServers: [], loopbackOnly: true };
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const item of open.splice(0)) await item.close();
});

/** A werift "browser" offering to send video in `video` order (and audio). */
async function senderOffer(video: VideoCodecName[]): Promise<string> {
  const pc = createPeerConnection(ICE, { video, audio: true });
  open.push(pc);
  pc.addTransceiver("video", { direction: "sendonly" });
  pc.addTransceiver("audio", { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription?.sdp ?? "";
}

/** The rtpmap encoding names of an SDP's m= section of `kind`, in the order of its m= line. */
function codecsOf(sdp: string, kind: "video" | "audio"): string[] {
  const section = sdp.split(/^(?=m=)/m).find((part) => part.startsWith(`m=${kind}`)) ?? "";
  const payloadTypes = (section.match(/^m=\S+ \d+ \S+ (.*)$/m)?.[1] ?? "").split(" ");
  return payloadTypes
    .map((pt) => section.match(new RegExp(`^a=rtpmap:${pt} ([^/]+)/`, "m"))?.[1])
    .filter((name): name is string => name !== undefined && name !== "rtx")
    .map((name) => name.toUpperCase());
}

function sdpOf(messages: SessionMessage[]): string {
  for (const message of messages) if (message.type === "peer" && message.sdp) return message.sdp.sdp;
  throw new Error("no SDP was sent");
}

/** Resolves once the session has sent its description. */
function negotiated(session: PeerSession): Promise<void> {
  return new Promise((resolve) => session.once("negotiated", () => resolve()));
}

function incoming(videoCodecs: VideoCodecName[]) {
  const sent: SessionMessage[] = [];
  const session = new IncomingSession({
    sessionId: "s1",
    peerId: "sender",
    ice: ICE,
    videoCodecs,
    send: (message) => sent.push(message),
    logger: silentLogger,
  });
  open.push({ close: () => session.close("closed-by-device") });
  return { session, sent };
}

describe("roundTripFromReport (RFC 3550 §6.4.1)", () => {
  it("is the arrival time less LSR less DLSR, in ms; undefined before any sender report", () => {
    // Now: NTP 1000.5 s; our sender report at 1000.3 s; the receiver held it 50 ms.
    const now = (1000n << 32n) + (1n << 31n);
    const lsr = Number((((1000n << 32n) + (3n << 32n) / 10n) >> 16n) & 0xffffffffn);
    const dlsr = Math.round(0.05 * 65536);
    expect(roundTripFromReport(lsr, dlsr, now)).toBeCloseTo(150, 0);
    expect(roundTripFromReport(0, 0, now)).toBeUndefined();
    // A report from a clock that is not ours (LSR after now) is no round trip.
    expect(roundTripFromReport(lsr + 65536, 0, now - (1n << 32n))).toBeUndefined();
  });
});

describe("receiving: the device answers with its preferred codec the sender offers", () => {
  it.each([
    [["vp8", "h264"], ["h264", "vp8"], "h264", "H264"],
    [["vp8", "h264"], ["vp8", "h264"], "vp8", "VP8"],
    [["h264"], ["vp8", "h264"], "h264", "H264"],
    [["vp8"], ["h264", "vp8"], "vp8", "VP8"],
  ] as const)(
    "sender offers %j, device prefers %j → %s",
    async (offered, preferred, chosen, encodingName) => {
      const { session, sent } = incoming([...preferred]);
      const done = negotiated(session);
      await session.handlePeerMessage({
        type: "peer",
        sessionId: "s1",
        sdp: { type: "offer", sdp: await senderOffer([...offered]) },
      });
      await done;
      expect(session.media).toEqual({ video: chosen, audio: true });
      const answer = sdpOf(sent);
      expect(codecsOf(answer, "video")[0]).toBe(encodingName);
      expect(codecsOf(answer, "audio")[0]).toBe("OPUS");
      expect(answer).toMatch(/^a=recvonly$/m);
    },
  );

  it("the answer goes out before any candidate", async () => {
    const { session, sent } = incoming(["vp8"]);
    const done = negotiated(session);
    await session.handlePeerMessage({
      type: "peer",
      sessionId: "s1",
      sdp: { type: "offer", sdp: await senderOffer(["vp8"]) },
    });
    await done;
    // werift gathers the loopback host candidate while it answers: it was held back until now.
    const isIce = (message: SessionMessage) => message.type === "peer" && message.ice !== undefined;
    for (let i = 0; i < 100 && !sent.some(isIce); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent.findIndex(isIce)).toBeGreaterThan(0);
    expect(sent.findIndex((message) => message.type === "peer" && message.sdp !== undefined)).toBe(0);
  });

  it("an answer where an offer is expected is ignored, an offer with no usable codec ends the session", async () => {
    const { session, sent } = incoming(["vp8"]);
    await session.handlePeerMessage({ type: "peer", sessionId: "s1", sdp: { type: "answer", sdp: "v=0" } });
    expect(session.closed).toBe(false);
    // A payload type without an rtpmap: werift cannot negotiate it.
    const broken = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
    await session.handlePeerMessage({ type: "peer", sessionId: "s1", sdp: { type: "offer", sdp: broken } });
    expect(session.closed).toBe(true);
    expect(sent).toEqual([{ type: "endSession", sessionId: "s1" }]);
  });
});

/** A stand-in for a shared encoder: negotiation needs its codecs; `used` records each viewer's ladder. */
function fakeStream(kind: "video" | "audio", codecs: VideoCodecName[] = ["vp8", "h264"]) {
  const layer = { label: "640x480", bitrateKbps: 1000, subscribe: () => () => {}, requestKeyframe: () => {} };
  const used: string[] = [];
  const stream = {
    kind,
    codec: kind === "video" ? codecs[0] : "opus",
    codecs: kind === "video" ? codecs : ["opus"],
    layers: [layer],
    subscribe: () => () => {},
    use: async (codec: string) => {
      used.push(codec);
      return { codec, layers: [layer], release: () => {} };
    },
  } as unknown as OutgoingStream;
  return { stream, used };
}

function producer(videoCodecs: VideoCodecName[], offer: string | null) {
  const sent: SessionMessage[] = [];
  const video = fakeStream("video", videoCodecs);
  const session = new ProducerSession({
    sessionId: "s2",
    peerId: "viewer",
    offer,
    video: video.stream,
    audio: fakeStream("audio").stream,
    ice: ICE,
    send: (message) => sent.push(message),
    logger: silentLogger,
  });
  open.push({ close: () => session.close("closed-by-device") });
  return { session, sent, used: video.used };
}

/** A werift "browser" viewer that decodes `video` (werift codec parameters) and Opus. */
function viewerPeer(video: RTCRtpCodecParameters[]): RTCPeerConnection {
  // Loopback only, as the device's side here (no candidates are exchanged: nothing must fail).
  const pc = new RTCPeerConnection({
    codecs: { video, audio: [CODECS.opus.rtpParameters()] },
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
  });
  open.push(pc);
  return pc;
}

/** The viewer offers to receive video and audio. */
async function viewerOffer(pc: RTCPeerConnection): Promise<string> {
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription?.sdp ?? "";
}

/** The device's offer answered by `viewer`; resolves with the answer. */
async function answerDevice(session: ProducerSession, sent: SessionMessage[], viewer: RTCPeerConnection) {
  await session.start();
  await viewer.setRemoteDescription({ type: "offer", sdp: sdpOf(sent) });
  await viewer.setLocalDescription(await viewer.createAnswer());
  const answer = viewer.localDescription?.sdp ?? "";
  await session.handlePeerMessage({ type: "peer", sessionId: "s2", sdp: { type: "answer", sdp: answer } });
  return answer;
}

describe("sending: the device offers every video codec it can encode, its preference first, and Opus", () => {
  it.each([
    [
      ["vp8", "h264"],
      ["VP8", "H264"],
    ],
    [
      ["h264", "vp8"],
      ["H264", "VP8"],
    ],
    [["vp8"], ["VP8"]],
  ] as const)("%j", async (codecs, encodingNames) => {
    const { session, sent } = producer([...codecs], null);
    await session.start();
    const offer = sdpOf(sent);
    // RED and ULPFEC after the codecs (forward error correction, src/device/FecSender.ts).
    expect(codecsOf(offer, "video")).toEqual([...encodingNames, "RED", "ULPFEC"]);
    expect(offer).toMatch(/^a=rtpmap:116 red\/90000$/m);
    expect(offer).toMatch(/^a=fmtp:117 apt=116$/m);
    expect(offer).toMatch(/^a=rtpmap:118 ulpfec\/90000$/m);
    if (codecs.includes("h264" as never))
      expect(offer).toMatch(/^a=fmtp:102 .*profile-level-id=42e01f;packetization-mode=1/m);
    expect(offer).toMatch(/^a=rtpmap:96 VP8\/90000$/m);
    expect(codecsOf(offer, "audio")).toEqual(["OPUS"]);
    expect(offer).toMatch(/^a=rtpmap:111 OPUS\/48000\/2$/im);
    expect(offer.match(/^a=sendonly$/gm)).toHaveLength(2);
    // What the viewer's bandwidth estimate needs: our send times on every video packet, and REMB.
    expect(offer).toMatch(
      /^a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/abs-send-time$/m,
    );
    expect(offer).toMatch(/^a=rtcp-fb:\d+ goog-remb$/m);
    // RTX (RFC 4588) for each video codec, on its own SSRC (a=ssrc-group:FID).
    expect(offer).toMatch(/^a=rtpmap:97 rtx\/90000$/m);
    expect(offer).toMatch(/^a=fmtp:97 apt=96$/m);
    if (codecs.includes("h264" as never)) expect(offer).toMatch(/^a=fmtp:103 apt=102$/m);
    expect(offer).toMatch(/^a=ssrc-group:FID \d+ \d+$/m);
  });

  it("answers a viewer's offer with the device's preferred codec, whatever the viewer's order", async () => {
    const viewer = createPeerConnection(ICE, { video: ["vp8", "h264"], audio: true });
    open.push(viewer);
    viewer.addTransceiver("video", { direction: "recvonly" });
    viewer.addTransceiver("audio", { direction: "recvonly" });
    await viewer.setLocalDescription(await viewer.createOffer());
    const { session, used } = producer(["h264", "vp8"], viewer.localDescription?.sdp ?? "");
    await session.start();
    await until(() => used.length > 0);
    expect(used).toEqual(["h264"]);
    // The viewer's status names what it is sent, not the first codec of its offer.
    expect(session.status().video?.codec).toBe("h264");
  });

  it("a viewer that decodes only VP8 gets VP8 from a device that prefers H.264, whichever side offers", async () => {
    const offering = viewerPeer([CODECS.vp8.rtpParameters()]);
    const a = producer(["h264", "vp8"], await viewerOffer(offering));
    await a.session.start();
    await until(() => a.used.length > 0);
    expect(a.used).toEqual(["vp8"]);
    expect(codecsOf(sdpOf(a.sent), "video")).toEqual(["VP8"]);
    expect(a.session.status().video?.codec).toBe("vp8");

    const b = producer(["h264", "vp8"], null);
    await answerDevice(b.session, b.sent, viewerPeer([CODECS.vp8.rtpParameters()]));
    expect(b.used).toEqual(["vp8"]);
  });

  it("regression: a viewer that decodes none of the video codecs keeps the session and its audio (was: negotiate codecs failed, session dropped)", async () => {
    // Offering: the device answers with the video section rejected (port 0, out of BUNDLE).
    const offering = viewerPeer([useVP9()]);
    const a = producer(["h264", "vp8"], await viewerOffer(offering));
    await a.session.start();
    expect(a.session.closed).toBe(false);
    const answer = sdpOf(a.sent);
    expect(answer).toMatch(/^m=video 0 /m);
    expect(answer).toMatch(/^m=audio 9 /m);
    expect(answer).toMatch(/^a=sendonly$/m);
    expect(answer).not.toMatch(/^a=group:BUNDLE .*\b0\b/m);
    await offering.setRemoteDescription({ type: "answer", sdp: answer });
    expect(a.used).toEqual([]);

    // Answering: the viewer rejects the video section; the device keeps the audio.
    const b = producer(["h264", "vp8"], null);
    const rejected = await answerDevice(b.session, b.sent, viewerPeer([useVP9()]));
    expect(rejected).toMatch(/^m=video 0 /m);
    expect(b.session.closed).toBe(false);
    expect(b.used).toEqual([]);
  });
});

/** A browser's offer of one recvonly video section with these codec lines. */
function videoOffer(payloadTypes: number[], lines: string[]): string {
  return [
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
    `m=video 9 UDP/TLS/RTP/SAVPF ${payloadTypes.join(" ")}\r\nc=IN IP4 0.0.0.0\r\n`,
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n",
    "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n",
    "a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n",
    ...lines.map((line) => `${line}\r\n`),
  ].join("");
}

describe("useRedFec: VP8 in RED with ULPFEC when the viewer takes both", () => {
  const chromeLike = [
    "a=rtpmap:96 VP8/90000",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=96",
    "a=rtpmap:102 H264/90000",
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    "a=rtpmap:119 red/90000",
    "a=rtpmap:120 rtx/90000",
    "a=fmtp:120 apt=119",
    "a=rtpmap:121 ulpfec/90000",
  ];

  async function negotiated(lines: string[], payloadTypes: number[]) {
    const pc = createPeerConnection(ICE, { video: ["vp8", "h264"], audio: false, bandwidthFeedback: true });
    open.push(pc);
    await pc.setRemoteDescription({ type: "offer", sdp: videoOffer(payloadTypes, lines) });
    const [transceiver] = pc.getTransceivers();
    if (!transceiver) throw new Error("no transceiver");
    return transceiver;
  }

  it("sends RED's payload type, re-sends on RED's RTX, and names the viewer's payload types", async () => {
    const transceiver = await negotiated(chromeLike, [96, 97, 102, 119, 120, 121]);
    expect(chooseSendCodec(transceiver, ["vp8"])).toBe("vp8");
    expect(useRedFec(transceiver)).toEqual({ media: 96, red: 119, ulpfec: 121 });
    expect(transceiver.sender.codec?.payloadType).toBe(119);
    expect((transceiver.sender as unknown as { rtxPayloadType?: number }).rtxPayloadType).toBe(120);
  });

  it("leaves H.264 as it is (libwebrtc cannot skip FEC packets in it), and a viewer without ULPFEC", async () => {
    const h264 = await negotiated(chromeLike, [96, 97, 102, 119, 120, 121]);
    expect(chooseSendCodec(h264, ["h264"])).toBe("h264");
    expect(useRedFec(h264)).toBeUndefined();
    expect(h264.sender.codec?.payloadType).toBe(102);
    const noUlpfec = await negotiated(chromeLike.slice(0, 8), [96, 97, 102, 119, 120]);
    expect(chooseSendCodec(noUlpfec, ["vp8"])).toBe("vp8");
    expect(useRedFec(noUlpfec)).toBeUndefined();
    expect(noUlpfec.sender.codec?.payloadType).toBe(96);
  });
});

describe("chooseSendCodec: the H.264 format the device can send", () => {
  it("prefers packetization-mode=1 baseline over a mode-0 or high-profile format listed first", async () => {
    const pc = createPeerConnection(ICE, { video: ["h264"], audio: false, bandwidthFeedback: true });
    open.push(pc);
    const h264 = (pt: number, fmtp: string) => `a=rtpmap:${pt} H264/90000\r\na=fmtp:${pt} ${fmtp}\r\n`;
    const offer = [
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
      "m=video 9 UDP/TLS/RTP/SAVPF 100 101 102 104 105\r\nc=IN IP4 0.0.0.0\r\n",
      "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n",
      "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n",
      "a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n",
      h264(100, "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f"),
      h264(101, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f"),
      h264(102, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
      "a=rtpmap:104 rtx/90000\r\na=fmtp:104 apt=100\r\n",
      "a=rtpmap:105 rtx/90000\r\na=fmtp:105 apt=102\r\n",
    ].join("");
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    const [transceiver] = pc.getTransceivers();
    if (!transceiver) throw new Error("no transceiver");
    expect(chooseSendCodec(transceiver, ["h264"])).toBe("h264");
    expect(transceiver.sender.codec?.payloadType).toBe(102);
    // …and the RTX that goes with it, not the one of the first format.
    expect((transceiver.sender as unknown as { rtxPayloadType?: number }).rtxPayloadType).toBe(105);
    expect(chooseSendCodec(transceiver, ["vp8"])).toBeUndefined();
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
