/**
 * The fixes in patches/ (applied to werift on install), each pinned by a test that fails without it.
 * Two werift peers talk over 127.0.0.1 in this process; SDP is edited between them the way real
 * peers write it (webrtcsink's max-bundle offer, a webrtcbin app that signals no SSRC).
 */
import dgram from "node:dgram";
import dns from "node:dns";
import { isIP } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  DtlsClient,
  GenericNack,
  MediaStreamTrack,
  ntpTime,
  ntpTimeToEpochMs,
  ReceiverEstimatedMaxBitrate,
  RTCDtlsParameters,
  RTCDtlsTransport,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  RtpRouter,
} from "werift";
import { createPeerConnection } from "../../src/device/webrtc.ts";
import { eventually } from "../helpers/signalling.ts";

const peers: RTCPeerConnection[] = [];
afterEach(async () => {
  for (const pc of peers.splice(0)) await pc.close().catch(() => {});
});

/** A werift peer that talks only over 127.0.0.1 (as the device does with --loopback-only). */
function peer(): RTCPeerConnection {
  // The device's own codec table: VP8 on payload type 96, Opus on 111.
  const pc = createPeerConnection({ iceServers: [], loopbackOnly: true }, { video: ["vp8"], audio: true });
  peers.push(pc);
  return pc;
}

/** `sdp` with each media section that starts with `prefix` (e.g. "m=video") passed through `edit`. */
function editSections(sdp: string, prefix: string, edit: (section: string) => string): string {
  return sdp
    .split(/(?=^m=)/m)
    .map((section) => (section.startsWith(prefix) ? edit(section) : section))
    .join("");
}

/**
 * Offers from `sender` to `receiver` and answers, each description with all its candidates and after
 * its `edit` (as another peer would write it). Returns the answer as the sender applied it.
 */
async function exchange(
  sender: RTCPeerConnection,
  receiver: RTCPeerConnection,
  edit: { offer?: (sdp: string) => string; answer?: (sdp: string) => string } = {},
): Promise<string> {
  const same = (sdp: string) => sdp;
  await sender.setLocalDescription(await sender.createOffer());
  await waitGathered(sender);
  const offer = (edit.offer ?? same)(sender.localDescription?.sdp ?? "");
  await receiver.setRemoteDescription({ type: "offer", sdp: offer });
  await receiver.setLocalDescription(await receiver.createAnswer());
  await waitGathered(receiver);
  const answer = (edit.answer ?? same)(receiver.localDescription?.sdp ?? "");
  await sender.setRemoteDescription({ type: "answer", sdp: answer });
  return answer;
}

/** Offers from `sender` to `receiver` (after `edit`), answers, and waits until both are connected. */
async function connect(
  sender: RTCPeerConnection,
  receiver: RTCPeerConnection,
  edit: (sdp: string) => string = (sdp) => sdp,
): Promise<void> {
  await exchange(sender, receiver, { offer: edit });
  await Promise.all(
    [sender, receiver].map(
      (pc) =>
        new Promise<void>((resolve, reject) => {
          if (pc.connectionState === "connected") return resolve();
          const timer = setTimeout(() => reject(new Error("not connected within 10 s")), 10_000);
          pc.connectionStateChange.subscribe((state) => {
            if (state === "connected") {
              clearTimeout(timer);
              resolve();
            }
          });
        }),
    ),
  );
}

async function waitGathered(pc: RTCPeerConnection): Promise<void> {
  await eventually(() => pc.iceGatheringState === "complete", "ICE gathering complete");
}

function rtp(payloadType: number, sequenceNumber: number, timestamp: number, ssrc = 0x1234): Buffer {
  return new RtpPacket(
    new RtpHeader({ payloadType, sequenceNumber, timestamp, ssrc, marker: true }),
    Buffer.from([0x90, 0x80, 0x80, 0x00, 0x9d, 0x01, 0x2a]),
  ).serialize();
}

/** Sends RTP on every sending track of `pc` until stopped. */
function pump(pc: RTCPeerConnection): () => void {
  let seq = 0;
  const timer = setInterval(() => {
    seq++;
    for (const transceiver of pc.getTransceivers()) {
      const track = transceiver.sender.track;
      if (!track) continue;
      const pt = transceiver.kind === "video" ? 96 : 111;
      track.writeRtp(rtp(pt, seq, seq * (transceiver.kind === "video" ? 3000 : 960)));
    }
  }, 20);
  return () => clearInterval(timer);
}

/** Kinds of the tracks `pc` fired onTrack for, each with the count of RTP packets it delivered. */
function received(pc: RTCPeerConnection): Map<string, number> {
  const counts = new Map<string, number>();
  pc.onTrack.subscribe((track) => {
    counts.set(track.kind, 0);
    track.onReceiveRtp.subscribe(() => counts.set(track.kind, (counts.get(track.kind) ?? 0) + 1));
  });
  return counts;
}

function sendingPeer(): RTCPeerConnection {
  const pc = peer();
  pc.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
  pc.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" });
  return pc;
}

/**
 * A VP8 sender and receiver with RTX on both sides, connected (the device offers RTX only when it sends:
 * set up by hand); `rtxSeen` collects the original sequence number of each RTX packet received.
 */
async function rtxPair() {
  // VP8 with RTX on both sides (the device offers RTX only when it sends: set it up by hand).
  const codecs = () => ({
    video: [
      new RTCRtpCodecParameters({
        mimeType: "video/VP8",
        clockRate: 90000,
        payloadType: 96,
        rtcpFeedback: [{ type: "nack" }],
      }),
      new RTCRtpCodecParameters({
        mimeType: "video/rtx",
        clockRate: 90000,
        payloadType: 97,
        parameters: "apt=96",
      }),
    ],
  });
  const sender = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: ["127.0.0.1"],
    codecs: codecs(),
  });
  const receiver = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: ["127.0.0.1"],
    codecs: codecs(),
  });
  peers.push(sender, receiver);
  const track = new MediaStreamTrack({ kind: "video" });
  const video = sender.addTransceiver(track, { direction: "sendonly" });
  const counts = received(receiver);
  await connect(sender, receiver);
  const rtxSeen: number[] = [];
  const onRtp = receiver.dtlsTransports[0]?.onRtp;
  if (!onRtp) throw new Error("the receiver has no DTLS transport");
  onRtp.subscribe((packet) => {
    if (packet.header.payloadType === 97) rtxSeen.push(packet.payload.readUInt16BE(0));
  });
  return { video, track, counts, rtxSeen };
}

describe("werift patches", () => {
  it("stun-only-if-configured: gathering with no ICE servers sends nothing to a third party", async () => {
    const destinations: string[] = [];
    // werift resolves a STUN server's name with dns.promises.lookup before its first request.
    const originalLookup = dns.promises.lookup;
    dns.promises.lookup = (async (host: string) => {
      destinations.push(host);
      throw new Error("no lookups in this test");
    }) as typeof originalLookup;
    const original = dgram.Socket.prototype.send;
    // Record every datagram's destination; swallow those to anything but a literal local address.
    dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
      const address = args.find((a, i) => i > 0 && typeof a === "string") as string | undefined;
      if (address !== undefined) destinations.push(address);
      if (address !== undefined && isIP(address) === 0) return;
      return (original as (...a: unknown[]) => void).apply(this, args);
    } as typeof original;
    try {
      const pc = new RTCPeerConnection({
        iceServers: [],
        iceUseIpv6: false,
        iceAdditionalHostAddresses: ["127.0.0.1"],
      });
      peers.push(pc);
      pc.addTransceiver("video", { direction: "sendonly" });
      await pc.setLocalDescription(await pc.createOffer());
      // werift completes gathering only once every STUN query has settled (ice.js
      // `gatherCandidates` awaits them all), so whatever gathering would send has been sent by now.
      await waitGathered(pc);
    } finally {
      dgram.Socket.prototype.send = original;
      dns.promises.lookup = originalLookup;
    }
    expect(destinations.filter((d) => isIP(d) === 0)).toEqual([]);
  });

  it("bundle-only-sections: a max-bundle offer's port-0 bundle-only audio gets onTrack and its RTP", async () => {
    const sender = sendingPeer();
    const receiver = peer();
    const counts = received(receiver);
    // What webrtcsink (max-bundle) and Firefox send: every m-line after the first has port 0 and
    // a=bundle-only (RFC 8843 §7.2).
    let offer = "";
    const maxBundle = (sdp: string) => {
      const [head, ...sections] = sdp.split(/\r\n(?=m=)/);
      offer = [
        head,
        sections[0],
        ...sections
          .slice(1)
          .map((section) =>
            section.replace(/^m=(\w+) \d+ /, "m=$1 0 ").replace(/\r\n/, "\r\na=bundle-only\r\n"),
          ),
      ].join("\r\n");
      return offer;
    };
    await connect(sender, receiver, maxBundle);
    expect(offer).toMatch(/m=audio 0 [\s\S]*a=bundle-only/);
    const stop = pump(sender);
    await eventually(
      () => (counts.get("audio") ?? 0) > 10 && (counts.get("video") ?? 0) > 10,
      "over 10 RTP packets on the audio and on the video track",
      10_000,
    );
    stop();
    expect([...counts.keys()].sort()).toEqual(["audio", "video"]);
    expect(counts.get("audio")).toBeGreaterThan(10);
    expect(counts.get("video")).toBeGreaterThan(10);
  });

  it("route-unsignalled-ssrc: RTP from SSRCs the offer does not announce reaches its track", async () => {
    const sender = sendingPeer();
    const receiver = peer();
    const counts = received(receiver);
    // A plain webrtcbin application's offer: no a=ssrc / a=ssrc-group / a=msid lines.
    const noSsrc = (sdp: string) =>
      sdp
        .split("\r\n")
        .filter((line) => !/^a=(ssrc|ssrc-group|msid):/.test(line))
        .join("\r\n");
    await connect(sender, receiver, noSsrc);
    expect(receiver.remoteDescription?.sdp).not.toMatch(/a=ssrc/);
    const stop = pump(sender);
    await eventually(
      () => (counts.get("audio") ?? 0) > 10 && (counts.get("video") ?? 0) > 10,
      "over 10 RTP packets on the audio and on the video track",
      10_000,
    );
    stop();
    expect(counts.get("video")).toBeGreaterThan(10);
    expect(counts.get("audio")).toBeGreaterThan(10);
  });

  it("reject-sections-without-a-common-codec: a video section no codec fits is rejected, the audio still flows", async () => {
    const sender = sendingPeer();
    // Decodes H.264 only; the sender offers VP8 (was: "negotiate codecs failed." for the whole offer).
    const receiver = createPeerConnection(
      { iceServers: [], loopbackOnly: true },
      { video: ["h264"], audio: true },
    );
    peers.push(receiver);
    const counts = received(receiver);
    await connect(sender, receiver);
    const answer = receiver.localDescription?.sdp ?? "";
    expect(answer).toMatch(/^m=video 0 UDP\/TLS\/RTP\/SAVPF 96\r$/m);
    expect(answer).toMatch(/^a=group:BUNDLE 1\r$/m);
    expect(sender.getTransceivers().map((t) => t.currentDirection)).toEqual(["stopped", "sendonly"]);
    const stop = pump(sender);
    await eventually(() => (counts.get("audio") ?? 0) > 10, "over 10 RTP packets on the audio track", 10_000);
    stop();
    expect(counts.get("video") ?? 0).toBe(0);
  });

  it("reject-sections-without-a-common-codec: a browser's rejected section (no ICE credentials, no fingerprint) leaves the bundle's transport alone", async () => {
    const sender = peer();
    sender.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" });
    sender.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
    const receiver = createPeerConnection(
      { iceServers: [], loopbackOnly: true },
      { video: ["h264"], audio: true },
    );
    peers.push(receiver);
    const counts = received(receiver);
    // As Chromium writes a rejected section in its answer: port 0, payload type 0, no transport lines.
    const asChromium = (sdp: string) =>
      editSections(sdp, "m=video 0 ", (section) =>
        section
          .replace(/^m=video 0 .*$/m, "m=video 0 UDP/TLS/RTP/SAVPF 0\r")
          .replace(
            /^a=(ice-ufrag|ice-pwd|ice-options|fingerprint|candidate|end-of-candidates|ssrc|rtpmap).*\r\n/gm,
            "",
          )
          .replace(/^a=inactive\r$/m, "a=recvonly\r"),
      );
    const answer = await exchange(sender, receiver, { answer: asChromium });
    const rejected = answer.split(/(?=^m=)/m).find((section) => section.startsWith("m=video")) ?? "";
    expect(rejected).toMatch(/^m=video 0 UDP\/TLS\/RTP\/SAVPF 0\r$/m);
    expect(rejected).not.toMatch(/^a=(fingerprint|ice-ufrag)/m);
    await eventually(() => sender.connectionState === "connected", "the sender connected", 10_000);
    const stop = pump(sender);
    await eventually(() => (counts.get("audio") ?? 0) > 10, "over 10 RTP packets on the audio track", 10_000);
    stop();
    expect(counts.get("video") ?? 0).toBe(0);
  });

  // A browser that decodes none of the offered codecs answers the video with RED, its RTX and ULPFEC
  // alone (Chromium: port 0, recvonly, a transport of its own). werift took those for codecs in
  // common, kept the section and took its ICE credentials for the bundle's: the connection failed.
  it("no-media-codec-is-no-codec: a video section answered with only RED, RTX and ULPFEC is rejected, the audio still flows", async () => {
    const ice = { iceServers: [], loopbackOnly: true };
    const sender = createPeerConnection(ice, { video: ["vp8"], audio: true, bandwidthFeedback: true });
    sender.addTransceiver(new MediaStreamTrack({ kind: "audio" }), { direction: "sendonly" });
    sender.addTransceiver(new MediaStreamTrack({ kind: "video" }), { direction: "sendonly" });
    const receiver = createPeerConnection(ice, { video: ["h264"], audio: true, bandwidthFeedback: true });
    peers.push(sender, receiver);
    const counts = received(receiver);
    const asChromium = (sdp: string) =>
      editSections(sdp, "m=video", (section) =>
        section
          .replace(/^m=video .*$/m, "m=video 0 UDP/TLS/RTP/SAVPF 116 117 118\r")
          .replace(/^a=(rtpmap|fmtp|rtcp-fb|ssrc|ssrc-group|inactive|sendonly|recvonly).*\r\n/gm, "")
          .replace(/^a=ice-ufrag:.*$/m, "a=ice-ufrag:45CL\r")
          .replace(/^a=ice-pwd:.*$/m, "a=ice-pwd:3Q8620BcPd+DlLpO/iZTsUfg\r")
          .concat(
            "a=recvonly\r\na=rtpmap:116 red/90000\r\na=rtpmap:117 rtx/90000\r\n",
            "a=fmtp:117 apt=116\r\na=rtpmap:118 ulpfec/90000\r\n",
          ),
      );
    await exchange(sender, receiver, { answer: asChromium });
    expect(sender.getTransceivers().map((t) => t.currentDirection)).toEqual(["sendonly", "stopped"]);
    await eventually(() => sender.connectionState === "connected", "the sender connected", 10_000);
    const stop = pump(sender);
    await eventually(() => (counts.get("audio") ?? 0) > 10, "over 10 RTP packets on the audio track", 10_000);
    stop();
  });

  it("dtls-records-before-start: a ClientHello that arrives before start() is answered", async () => {
    const certificate = await RTCDtlsTransport.SetupCertificate();
    // A stand-in for the ICE connection: records are pushed in by the test, and what the DTLS
    // server sends is collected.
    const listeners: Array<(data: Buffer) => void> = [];
    const sent: Buffer[] = [];
    const connection = {
      onData: {
        subscribe(listener: (data: Buffer) => void) {
          listeners.push(listener);
          return { unSubscribe: () => listeners.splice(listeners.indexOf(listener), 1) };
        },
      },
      send: async (data: Buffer) => {
        sent.push(data);
      },
      close() {},
    };
    const iceTransport = { connection, role: "controlling" } as unknown as ConstructorParameters<
      typeof RTCDtlsTransport
    >[1];
    const server = new RTCDtlsTransport({} as never, iceTransport, certificate, [1]);
    server.role = "server";
    // The peer's ClientHello, made by a werift DTLS client.
    let flight: (data: Buffer) => void = () => {};
    const firstFlight = new Promise<Buffer>((resolve) => {
      flight = resolve;
    });
    const client = new DtlsClient({
      cert: certificate.certPem,
      key: certificate.privateKey,
      signatureHash: certificate.signatureHash,
      transport: { send: async (data: Buffer) => flight(data), onData: () => {}, close() {} } as never,
      srtpProfiles: [1],
      extendedMasterSecret: true,
    });
    void client.connect();
    const hello = await firstFlight;
    // Only its first flight is wanted: no retransmissions.
    client.close();
    for (const listener of [...listeners]) listener(hello);
    server.setRemoteParams(
      new RTCDtlsParameters([{ algorithm: "sha-256", value: "00:11" }] as never, "client"),
    );
    void server.start().catch(() => {});
    await eventually(() => sent.length > 0, "the DTLS server's answer to the early ClientHello");
    server.dtls?.close();
    // The server answered (HelloVerifyRequest or ServerHello: a handshake record, content type 22).
    expect(sent.length).toBeGreaterThan(0);
    expect(sent[0]?.[0]).toBe(22);
  });

  // The NACK parser read on to the end of the compound packet: the REMB after it came out as 40 "lost"
  // packets thousands behind, and every NACK on a 1 % loss link asked for a keyframe.
  it("rtcp-packet-bounds: a NACK followed by a REMB in one compound packet lists only its own packets", () => {
    const compound = Buffer.concat([
      new RtcpRrPacket({ ssrc: 1, reports: [] }).serialize(),
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({ senderSsrc: 1, mediaSourceSsrc: 2, lost: [5000, 5002, 5003] }),
      }).serialize(),
      new RtcpPayloadSpecificFeedback({
        feedback: new ReceiverEstimatedMaxBitrate({
          senderSsrc: 1,
          mediaSsrc: 0,
          brExp: 6,
          brMantissa: 20_000,
          ssrcNum: 2,
          ssrcFeedbacks: [2, 3],
        }),
      }).serialize(),
    ]);
    const packets = RtcpPacketConverter.deSerialize(compound);
    expect(packets.map((packet) => packet.type)).toEqual([201, 205, 206]);
    const nack = (packets[1] as RtcpTransportLayerFeedback).feedback as GenericNack;
    expect(nack.lost).toEqual([5000, 5002, 5003]);
    const remb = (packets[2] as RtcpPayloadSpecificFeedback).feedback as ReceiverEstimatedMaxBitrate;
    expect(remb.bitrate).toBe(20_000n * 64n);
  });

  // A browser lists every SSRC its estimate covers, in ascending order: once re-sends had come on an
  // RTX SSRC smaller than the media's, every REMB was routed to that unknown SSRC and dropped — the
  // device saw no estimate for the rest of the session (no FEC, no layer moves), in about half the runs.
  it("remb-route-known-ssrc: a REMB listing an SSRC the router does not know first reaches the sender listed after it", () => {
    const router = new RtpRouter();
    const got: number[] = [];
    const sender = {
      ssrc: 0x8000_0000,
      handleRtcpPacket: (packet: { type: number }) => got.push(packet.type),
    };
    router.registerRtpSender(sender as never);
    const remb = (ssrcFeedbacks: number[]) =>
      new RtcpPayloadSpecificFeedback({
        feedback: new ReceiverEstimatedMaxBitrate({
          senderSsrc: 1,
          mediaSsrc: 0,
          brExp: 6,
          brMantissa: 20_000,
          ssrcNum: ssrcFeedbacks.length,
          ssrcFeedbacks,
        }),
      });
    router.routeRtcp(remb([0x1000, sender.ssrc]));
    router.routeRtcp(remb([sender.ssrc]));
    router.routeRtcp(remb([0x1000]));
    expect(got).toEqual([206, 206]);
  });

  it("sender-rtx-padding: padding for a probe is re-sends of the newest packets over RTX, about the bytes asked", async () => {
    const { video, track, counts, rtxSeen } = await rtxPair();
    // No RTX before a first packet: nothing to re-send.
    expect(video.sender.sendRtxPadding(4000)).toBe(0);
    for (let seq = 1; seq <= 20; seq++) track.writeRtp(rtp(96, seq, seq * 3000, 0x1234));
    await eventually(() => (counts.get("video") ?? 0) >= 20, "20 packets received");
    const sent = video.sender.sendRtxPadding(200);
    // Packets are sent whole: at least the bytes asked.
    expect(sent).toBeGreaterThanOrEqual(200);
    await eventually(() => rtxSeen.length > 0, "RTX padding received");
    // The newest first, one after another backwards.
    expect(rtxSeen[0]).toBe(20);
    expect(rtxSeen).toEqual(rtxSeen.map((_, i) => 20 - i));
  });

  it("resend-over-rtx: one kept packet re-sent on demand arrives over RTX with its own number; one not kept (or a number no packet has) sends nothing", async () => {
    const { video, track, counts, rtxSeen } = await rtxPair();
    expect(video.sender.resendOverRtx(1)).toBe(0);
    for (let seq = 1; seq <= 20; seq++) track.writeRtp(rtp(96, seq, seq * 3000, 0x1234));
    await eventually(() => (counts.get("video") ?? 0) >= 20, "20 packets received");
    expect(video.sender.resendOverRtx(7)).toBeGreaterThan(0);
    await eventually(() => rtxSeen.length > 0, "the re-send received");
    expect(rtxSeen).toEqual([7]);
    for (const seq of [21, -1, 65_536, Number.NaN, 1.5]) expect(video.sender.resendOverRtx(seq)).toBe(0);
  });

  it("sender-report-now: a sender report sent on demand (for a probe's round trip) arrives at once, of now", async () => {
    const sender = sendingPeer();
    const receiver = peer();
    await connect(sender, receiver);
    const video = sender.getTransceivers().find((t) => t.kind === "video");
    if (!video?.sender.track) throw new Error("no video sender");
    const reports: Array<{ at: number; ntp: number }> = [];
    for (const t of receiver.getTransceivers()) {
      t.receiver.onRtcp.subscribe((packet) => {
        if (packet.type === RtcpSrPacket.type)
          reports.push({
            at: Date.now(),
            ntp: ntpTimeToEpochMs((packet as RtcpSrPacket).senderInfo.ntpTimestamp),
          });
      });
    }
    // Nothing sent yet: no report (it would say nothing of the stream).
    await video.sender.sendSenderReport();
    video.sender.track.writeRtp(rtp(96, 1, 3000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const asked = Date.now();
    const before = reports.length;
    for (let i = 0; i < 3; i++) {
      await video.sender.sendSenderReport();
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await eventually(() => reports.length - before >= 3, "three sender reports");
    // werift's own come every 0.5–1.5 s: three within a fraction of a second are the ones asked for,
    // each of the instant it was sent.
    const mine = reports.slice(before);
    expect((mine.at(-1)?.at ?? 0) - asked).toBeLessThan(400);
    for (const report of mine) expect(Math.abs(report.ntp - report.at)).toBeLessThan(50);
    expect(reports.filter((report) => report.at < asked - 50)).toHaveLength(0);
  });

  it("sender-report-ntp-time: NTP fraction is fraction × 2^32 and the SR's RTP time matches its NTP time", async () => {
    for (let i = 0; i < 3; i++) {
      const ntp = ntpTime();
      expect(Math.abs(ntpTimeToEpochMs(ntp) - Date.now())).toBeLessThan(5);
      const fractionMs = (Number(ntp & 0xffffffffn) / 2 ** 32) * 1000;
      const distance = Math.abs(fractionMs - (Date.now() % 1000));
      expect(Math.min(distance, 1000 - distance)).toBeLessThan(5);
      // Samples at different fractions of a second (not a wait for anything).
      await new Promise((resolve) => setTimeout(resolve, 137));
    }

    const sender = sendingPeer();
    const receiver = peer();
    await connect(sender, receiver);
    // 90 kHz video, stamped as captured now (the RTP clock runs with the wall clock from `start`).
    const video = sender.getTransceivers().find((t) => t.kind === "video");
    const start = Date.now();
    const base = 1_000_000;
    let seq = 0;
    const timer = setInterval(() => {
      // Frames are sent in bursts: some late, as an encoder's output is.
      if (seq % 5 === 4) return void seq++;
      seq++;
      video?.sender.track?.writeRtp(rtp(96, seq, base + Math.round((Date.now() - start) * 90)));
    }, 33);
    const report = await new Promise<RtcpSrPacket>((resolve) => {
      for (const t of receiver.getTransceivers()) {
        t.receiver.onRtcp.subscribe((packet) => {
          if (packet.type === RtcpSrPacket.type) resolve(packet as RtcpSrPacket);
        });
      }
    });
    clearInterval(timer);
    const at = ntpTimeToEpochMs(report.senderInfo.ntpTimestamp);
    expect(Math.abs(at - Date.now())).toBeLessThan(1000);
    // The sender info pairs one instant: its RTP time, on our 90 kHz clock, is its NTP time.
    const rtpAt = start + (report.senderInfo.rtpTimestamp - base) / 90;
    expect(Math.abs(rtpAt - at)).toBeLessThan(10);
  });
});
