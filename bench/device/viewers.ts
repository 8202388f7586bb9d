/**
 * A farm of WebRTC viewers for the CPU benchmark: N werift peers in this process, each its own
 * signalling peer consuming the producer named NAME, as webrtcsrc would (roles [], startSession with
 * offer null, answer the producer's offer). Run as its own process so its CPU is not the device's.
 *
 *   node --import tsx bench/device/viewers.ts --server ws://127.0.0.1:PORT --name NAME --count N
 *                                             [--remb BPS,BPS,…] [--remb-interval-ms 300]
 *
 * With --remb, viewer i claims the i-th bitrate of the list (cycling) as its bandwidth: it sends an
 * RTCP REMB (draft-alvestrand-rmcat-remb: PSFB fmt 15, the device's video SSRC in its list) every
 * --remb-interval-ms, as a browser reports its receive-side estimate, so the device's LayerPolicy
 * puts it on the layer that claim allows. werift itself sends no REMB: without --remb every viewer
 * stays on the top layer.
 *
 * Prints "viewer INDEX PEER-ID claims BPS" when a viewer has its signalling id, "receiving N" once
 * every viewer gets video, then every second a packet count and each viewer's video bytes so far
 * ("bytes B0 B1 …", in viewer order).
 */
import { parseArgs } from "node:util";
import {
  ReceiverEstimatedMaxBitrate,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  useAbsSendTime,
  useH264,
  useOPUS,
  useVP8,
} from "werift";
import WebSocket from "ws";
import type { ClientMessage } from "../../src/protocol/index.ts";
import { parseServerMessage, serializeClientMessage } from "../../src/protocol/index.ts";

const { values } = parseArgs({
  options: {
    server: { type: "string" },
    name: { type: "string" },
    count: { type: "string", default: "1" },
    remb: { type: "string", default: "" },
    "remb-interval-ms": { type: "string", default: "300" },
  },
});
const server = values.server as string;
const count = Number(values.count);
const claims = (values.remb ?? "").split(",").filter(Boolean).map(Number);
const rembIntervalMs = Number(values["remb-interval-ms"]);
let receivingVideo = 0;
let packets = 0;
let videoBytes = 0;
/** Each viewer's video payload bytes so far. */
const bytesOf: number[] = new Array(count).fill(0);

/** A REMB packet: `bps` for the stream `mediaSsrc` (an 18-bit mantissa and a 6-bit exponent). */
function remb(bps: number, senderSsrc: number, mediaSsrc: number): RtcpPayloadSpecificFeedback {
  let mantissa = Math.round(bps);
  let exponent = 0;
  while (mantissa >= 1 << 18) {
    mantissa = Math.floor(mantissa / 2);
    exponent++;
  }
  return new RtcpPayloadSpecificFeedback({
    feedback: new ReceiverEstimatedMaxBitrate({
      senderSsrc,
      mediaSsrc: 0, // "always 0" (the draft): the SSRCs it applies to are listed after it
      brExp: exponent,
      brMantissa: mantissa,
      ssrcNum: 1,
      ssrcFeedbacks: [mediaSsrc],
    }),
  });
}

function viewer(index: number): void {
  const claim = claims.length > 0 ? claims[index % claims.length] : undefined;
  const ws = new WebSocket(server);
  const send = (message: ClientMessage) => ws.send(serializeClientMessage(message));
  let myId = "";
  let sessionId = "";
  const pc = new RTCPeerConnection({
    bundlePolicy: "max-bundle",
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    codecs: { video: [useVP8(), useH264()], audio: [useOPUS()] },
    // As a browser: the device's send times, from which a browser's estimate is made (not used here).
    headerExtensions: { video: [useAbsSendTime()], audio: [] },
  });
  let gotVideo = false;
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      packets++;
      if (track.kind === "video") {
        videoBytes += rtp.payload.length;
        bytesOf[index] = (bytesOf[index] ?? 0) + rtp.payload.length;
      }
      if (track.kind === "video" && !gotVideo) {
        gotVideo = true;
        receivingVideo++;
        if (receivingVideo === count) process.stdout.write(`receiving ${count}\n`);
        if (claim !== undefined) claimBandwidth(claim, rtp.header.ssrc);
      }
    });
  });
  /** Sends a REMB of `bps` for the device's video (`mediaSsrc`) until the connection closes. */
  const claimBandwidth = (bps: number, mediaSsrc: number) => {
    const receiver = pc.getTransceivers().find((transceiver) => transceiver.kind === "video")?.receiver;
    if (!receiver) return;
    const timer = setInterval(() => {
      if (pc.connectionState === "closed") return clearInterval(timer);
      receiver.dtlsTransport.sendRtcp([remb(bps, receiver.rtcpSsrc, mediaSsrc)]).catch(() => {});
    }, rembIntervalMs);
  };
  const pending: Array<{ candidate: string; sdpMLineIndex: number }> = [];
  pc.onIceCandidate.subscribe((candidate) => {
    if (!candidate?.candidate || candidate.sdpMLineIndex === undefined) return;
    const ice = { candidate: candidate.candidate, sdpMLineIndex: candidate.sdpMLineIndex };
    if (sessionId && pc.localDescription) send({ type: "peer", sessionId, ice });
    else pending.push(ice);
  });
  ws.on("message", async (data) => {
    const parsed = parseServerMessage(data.toString());
    if (!parsed.ok) return;
    const message = parsed.message;
    switch (message.type) {
      case "welcome":
        myId = message.peerId;
        process.stdout.write(`viewer ${index} ${myId} claims ${claim ?? "none"}\n`);
        send({ type: "setPeerStatus", roles: [], meta: null, peerId: myId });
        send({ type: "list" });
        break;
      case "list": {
        const producer = message.producers.find(
          (p) => (p.meta?.value as { name?: string } | null)?.name === values.name,
        );
        if (producer) send({ type: "startSession", peerId: producer.id, offer: null });
        else setTimeout(() => send({ type: "list" }), 200);
        break;
      }
      case "sessionStarted":
        sessionId = message.sessionId;
        break;
      case "peer":
        if (message.sdp?.type === "offer") {
          await pc.setRemoteDescription({ type: "offer", sdp: message.sdp.sdp });
          await pc.setLocalDescription(await pc.createAnswer());
          send({ type: "peer", sessionId, sdp: { type: "answer", sdp: pc.localDescription?.sdp ?? "" } });
          for (const ice of pending.splice(0)) send({ type: "peer", sessionId, ice });
        } else if (message.ice?.candidate) {
          await pc.addIceCandidate({
            candidate: message.ice.candidate,
            sdpMLineIndex: message.ice.sdpMLineIndex,
          });
        }
        break;
      default:
        break;
    }
  });
}

for (let i = 0; i < count; i++) viewer(i);
setInterval(
  () => process.stdout.write(`packets ${packets} videoBytes ${videoBytes}\nbytes ${bytesOf.join(" ")}\n`),
  1000,
);
