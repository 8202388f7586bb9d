/**
 * SignallingRouter driven directly (no WebSocket): client messages go in as the text a peer would send,
 * and what the router delivers comes out as the exact text each peer would read, in order.
 */
import { describe, expect, it } from "vitest";
import { parseClientMessage, serializeServerMessage } from "../../src/protocol/index.ts";
import { SignallingRouter } from "../../src/signalling/SignallingRouter.ts";

function harness() {
  const inbox = new Map<string, string[]>();
  let sessions = 0;
  const router = new SignallingRouter({
    deliver: (peerId, message) => {
      const box = inbox.get(peerId) ?? [];
      box.push(serializeServerMessage(message));
      inbox.set(peerId, box);
    },
    newSessionId: () => `s${++sessions}`,
  });
  return {
    router,
    add(...ids: string[]) {
      for (const id of ids) router.addPeer(id);
    },
    send(peerId: string, message: object) {
      const parsed = parseClientMessage(JSON.stringify(message));
      if (!parsed.ok) throw new Error(parsed.reason);
      router.handle(peerId, parsed.message);
    },
    /** What `peerId` received since the last call (and forgets it). */
    take(peerId: string): string[] {
      const box = inbox.get(peerId) ?? [];
      inbox.set(peerId, []);
      return box;
    },
  };
}

const producer = (name: string) => ({ type: "setPeerStatus", roles: ["producer"], meta: { name } });
const consumer = (name: string) => ({ type: "setPeerStatus", roles: ["consumer"], meta: { name } });
const listener = { type: "setPeerStatus", roles: ["listener"], meta: null };

describe("SignallingRouter", () => {
  it("welcomes each new peer with its id", () => {
    const h = harness();
    h.add("a");
    expect(h.take("a")).toEqual(['{"type":"welcome","peerId":"a"}']);
  });

  it("tells listeners (only) about registrations, and lists producers", () => {
    const h = harness();
    h.add("l", "p", "x");
    h.send("l", listener);
    h.send("p", producer("cam"));
    h.send("x", { type: "list" });
    expect(h.take("l").slice(1)).toEqual([
      '{"type":"peerStatusChanged","roles":["listener"],"meta":null,"peerId":"l"}',
      '{"type":"peerStatusChanged","roles":["producer"],"meta":{"name":"cam"},"peerId":"p"}',
    ]);
    expect(h.take("p")).toEqual(['{"type":"welcome","peerId":"p"}']);
    expect(h.take("x").slice(1)).toEqual(['{"type":"list","producers":[{"id":"p","meta":{"name":"cam"}}]}']);
  });

  it("an unchanged status (same id repeated) is not broadcast again", () => {
    const h = harness();
    h.add("l", "p");
    h.send("l", listener);
    h.send("p", { ...producer("cam"), peerId: "p" });
    h.take("l");
    h.send("p", { ...producer("cam"), peerId: "p" });
    expect(h.take("l")).toEqual([]);
  });

  it("startSession: the consumer hears first, then the producer; peer messages cross; endSession ends it", () => {
    const h = harness();
    h.add("p", "c");
    h.send("p", producer("cam"));
    h.take("p");
    h.take("c");
    h.send("c", { type: "startSession", peerId: "p" });
    expect(h.take("c")).toEqual(['{"type":"sessionStarted","peerId":"p","sessionId":"s1"}']);
    expect(h.take("p")).toEqual(['{"type":"startSession","peerId":"c","sessionId":"s1","offer":null}']);
    h.send("p", { type: "peer", sessionId: "s1", sdp: { type: "offer", sdp: "v=0" } });
    expect(h.take("c")).toEqual(['{"type":"peer","sessionId":"s1","sdp":{"type":"offer","sdp":"v=0"}}']);
    h.send("c", { type: "peer", sessionId: "s1", ice: { candidate: "candidate:1", sdpMLineIndex: 0 } });
    expect(h.take("p")).toEqual([
      '{"type":"peer","sessionId":"s1","ice":{"candidate":"candidate:1","sdpMLineIndex":0}}',
    ]);
    h.send("c", { type: "endSession", sessionId: "s1" });
    expect(h.take("p")).toEqual(['{"type":"endSession","sessionId":"s1"}']);
    expect(h.router.stats).toEqual({ peers: 2, sessions: 0 });
  });

  it("a session with a passive consumer: the caller produces", () => {
    const h = harness();
    h.add("device", "browser");
    h.send("device", consumer("dev"));
    h.send("browser", { type: "startSession", peerId: "device" });
    h.take("device");
    expect(h.take("browser").at(-1)).toBe(
      '{"type":"startSession","peerId":"device","sessionId":"s1","offer":null}',
    );
  });

  it("the consumer may not forward an offer; the error goes to it alone", () => {
    const h = harness();
    h.add("p", "c");
    h.send("p", producer("cam"));
    h.send("c", { type: "startSession", peerId: "p" });
    h.take("p");
    h.take("c");
    h.send("c", { type: "peer", sessionId: "s1", sdp: { type: "offer", sdp: "v=0" } });
    expect(h.take("c")).toEqual([
      '{"type":"error","details":"cannot forward offer from \\"c\\" to \\"p\\" as \\"c\\" is not the producer"}',
    ]);
    expect(h.take("p")).toEqual([]);
  });

  it("Sturdier: a non-member cannot end someone else's session", () => {
    const h = harness();
    h.add("p", "c", "intruder");
    h.send("p", producer("cam"));
    h.send("c", { type: "startSession", peerId: "p" });
    h.take("p");
    h.take("c");
    h.take("intruder");
    h.send("intruder", { type: "endSession", sessionId: "s1" });
    expect(h.take("intruder")).toEqual(['{"type":"error","details":"Peer intruder is not part of s1"}']);
    expect(h.take("p")).toEqual([]);
    expect(h.router.stats.sessions).toBe(1);
  });

  it("a peer that leaves ends its sessions (v1.1 peers get endSessionV1_1) and listeners learn it is gone", () => {
    const h = harness();
    h.add("l", "p", "c");
    h.send("c", { type: "setProtocolVersion", version: "v1_1" });
    h.send("l", listener);
    h.send("p", producer("cam"));
    h.send("c", { type: "startSession", peerId: "p" });
    h.take("l");
    h.take("c");
    h.router.removePeer("p");
    expect(h.take("c")).toEqual(['{"type":"endSessionV1_1","sessionId":"s1","error":null}']);
    expect(h.take("l")).toEqual([
      '{"type":"peerStatusChanged","roles":[],"meta":{"name":"cam"},"peerId":"p"}',
    ]);
    expect(h.router.stats).toEqual({ peers: 2, sessions: 0 });
  });

  it("dropping the producer role ends the producer's sessions", () => {
    const h = harness();
    h.add("p", "c");
    h.send("p", producer("cam"));
    h.send("c", { type: "startSession", peerId: "p" });
    h.take("c");
    h.send("p", { type: "setPeerStatus", roles: [], meta: { name: "cam" } });
    expect(h.take("c")).toEqual(['{"type":"endSession","sessionId":"s1"}']);
  });

  it.each([
    [
      "producer and consumer at once",
      [{ type: "setPeerStatus", roles: ["producer", "consumer"], meta: null }],
      '{"type":"error","details":"Cannot register peer a as both producer and passive consumer"}',
    ],
    [
      "setProtocolVersion after another message",
      [{ type: "list" }, { type: "setProtocolVersion", version: "v1_1" }],
      '{"type":"error","details":"Protocol version selection for peer \'a\' must be first message"}',
    ],
    [
      "a session with an unknown peer",
      [{ type: "startSession", peerId: "nobody" }],
      '{"type":"error","details":"Peer with ID \'nobody\' not found"}',
    ],
    [
      "a session with a peer that has no role",
      [{ type: "startSession", peerId: "b" }],
      '{"type":"error","details":"Missing a producer or a consumer: id a roles [], id b roles []"}',
    ],
  ])("%s: an error to the sender", (_what, messages, error) => {
    const h = harness();
    h.add("a", "b");
    h.take("a");
    for (const message of messages) h.send("a", message);
    expect(h.take("a").at(-1)).toBe(error);
    expect(h.take("b").slice(1)).toEqual([]);
  });

  it("a message from a peer that is already gone is ignored", () => {
    const h = harness();
    h.add("a");
    h.router.removePeer("a");
    h.send("a", { type: "list" });
    expect(h.take("a")).toEqual(['{"type":"welcome","peerId":"a"}']);
  });
});
