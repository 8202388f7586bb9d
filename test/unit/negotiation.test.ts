/**
 * SDP and codec negotiation, in-process: real werift peer connections on both sides, descriptions
 * handed over directly (no signalling server, no media). Which codec is chosen, in which order, with
 * which parameters; and the session core's rule that no candidate goes out before our SDP.
 */
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/common/logger.ts";
import { IncomingSession } from "../../src/device/IncomingSession.ts";
import type { PeerSession, SessionMessage } from "../../src/device/PeerSession.ts";
import { ProducerSession } from "../../src/device/ProducerSession.ts";
import { createPeerConnection, type IceSettings } from "../../src/device/webrtc.ts";
import type { VideoCodecName } from "../../src/media/codecs.ts";
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

/** A stand-in for a shared encoder: negotiation needs its kind only. */
function fakeStream(kind: "video" | "audio", codec: VideoCodecName = "vp8"): OutgoingStream {
  const layer = { label: "640x480", bitrateKbps: 1000, subscribe: () => () => {}, requestKeyframe: () => {} };
  return {
    kind,
    codec: kind === "video" ? codec : "opus",
    layers: [layer],
    subscribe: () => () => {},
  } as unknown as OutgoingStream;
}

function producer(videoCodec: VideoCodecName, offer: string | null) {
  const sent: SessionMessage[] = [];
  const session = new ProducerSession({
    sessionId: "s2",
    peerId: "viewer",
    offer,
    video: fakeStream("video", videoCodec),
    videoCodec,
    audio: fakeStream("audio"),
    ice: ICE,
    send: (message) => sent.push(message),
    logger: silentLogger,
  });
  open.push({ close: () => session.close("closed-by-device") });
  return { session, sent };
}

describe("sending: the device offers its one video codec and Opus", () => {
  it.each([
    ["vp8", "VP8", /^a=rtpmap:96 VP8\/90000$/m],
    ["h264", "H264", /^a=fmtp:102 .*profile-level-id=42e01f;packetization-mode=1/m],
  ] as const)("%s", async (codec, encodingName, line) => {
    const { session, sent } = producer(codec, null);
    await session.start();
    const offer = sdpOf(sent);
    expect(codecsOf(offer, "video")).toEqual([encodingName]);
    expect(offer).toMatch(line);
    expect(codecsOf(offer, "audio")).toEqual(["OPUS"]);
    expect(offer).toMatch(/^a=rtpmap:111 OPUS\/48000\/2$/im);
    expect(offer.match(/^a=sendonly$/gm)).toHaveLength(2);
    // What the viewer's bandwidth estimate needs: our send times on every video packet, and REMB.
    expect(offer).toMatch(
      /^a=extmap:\d+ http:\/\/www\.webrtc\.org\/experiments\/rtp-hdrext\/abs-send-time$/m,
    );
    expect(offer).toMatch(/^a=rtcp-fb:\d+ goog-remb$/m);
  });

  it("answers a viewer's offer with the device's codec, whatever the viewer's order", async () => {
    const viewer = createPeerConnection(ICE, { video: ["vp8", "h264"], audio: true });
    open.push(viewer);
    viewer.addTransceiver("video", { direction: "recvonly" });
    viewer.addTransceiver("audio", { direction: "recvonly" });
    await viewer.setLocalDescription(await viewer.createOffer());
    const { session, sent } = producer("h264", viewer.localDescription?.sdp ?? "");
    await session.start();
    expect(codecsOf(sdpOf(sent), "video")[0]).toBe("H264");
  });
});
