/**
 * A farm of WebRTC viewers for the CPU benchmark: N werift peers in this process, each its own
 * signalling peer consuming the producer named NAME, as webrtcsrc would (roles [], startSession with
 * offer null, answer the producer's offer). Run as its own process so its CPU is not the device's.
 *
 *   node --import tsx bench/device/viewers.ts --server ws://127.0.0.1:PORT --name NAME --count N
 *
 * Prints "receiving N" once every viewer gets video and audio, then a packet count every second.
 */
import { parseArgs } from "node:util";
import { RTCPeerConnection, useH264, useOPUS, useVP8 } from "werift";
import WebSocket from "ws";
import type { ClientMessage } from "../../src/protocol/index.ts";
import { parseServerMessage, serializeClientMessage } from "../../src/protocol/index.ts";

const { values } = parseArgs({
  options: { server: { type: "string" }, name: { type: "string" }, count: { type: "string", default: "1" } },
});
const server = values.server as string;
const count = Number(values.count);
let receivingVideo = 0;
let packets = 0;
let videoBytes = 0;

function viewer(): void {
  const ws = new WebSocket(server);
  const send = (message: ClientMessage) => ws.send(serializeClientMessage(message));
  let myId = "";
  let sessionId = "";
  const pc = new RTCPeerConnection({
    bundlePolicy: "max-bundle",
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
    codecs: { video: [useVP8(), useH264()], audio: [useOPUS()] },
  });
  let gotVideo = false;
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      packets++;
      if (track.kind === "video") videoBytes += rtp.payload.length;
      if (track.kind === "video" && !gotVideo) {
        gotVideo = true;
        receivingVideo++;
        if (receivingVideo === count) process.stdout.write(`receiving ${count}\n`);
      }
    });
  });
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

for (let i = 0; i < count; i++) viewer();
setInterval(() => process.stdout.write(`packets ${packets} videoBytes ${videoBytes}\n`), 1000);
