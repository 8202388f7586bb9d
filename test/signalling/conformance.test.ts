/**
 * Conformance with gst-webrtc-signalling-server: every sequence (A–I) and error string of
 * docs/PROTOCOL.md (§6, §7), compared as exact JSON text on the wire.
 */
import { describe, expect, it } from "vitest";
import { startServer, TestPeer } from "../helpers/signalling.ts";

const OFFER = "v=0\r\no=- 1234 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
const ANSWER = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
const BROWSER_CANDIDATE =
  "candidate:3547 1 udp 2113937151 a1b2.local 51234 typ host generation 0 ufrag Xy12 network-cost 999";
const GST_CANDIDATE = "candidate:1 1 UDP 2015363327 192.168.1.20 38559 typ host";

async function expectFrame(peer: TestPeer, text: string): Promise<void> {
  expect(await peer.next()).toBe(text);
}

function sessionIdOf(text: string): string {
  const match = text.match(/"sessionId":"([0-9a-f-]{36})"/);
  if (!match?.[1]) throw new Error(`no session id in ${text}`);
  return match[1];
}

/** A gstwebrtc-api client up to "ready": registered as listener and echoed back (sequence B). */
async function browser(url: string, name = "WebClient-1732460000000"): Promise<TestPeer> {
  const peer = await TestPeer.connect(url);
  peer.send(`{"type":"setPeerStatus","roles":["listener"],"meta":{"name":"${name}"}}`);
  await expectFrame(
    peer,
    `{"type":"peerStatusChanged","roles":["listener"],"meta":{"name":"${name}"},"peerId":"${peer.id}"}`,
  );
  return peer;
}

/** A webrtcsink producer (sequence A); every listener in `listeners` must see it register. */
async function webrtcsink(
  url: string,
  listeners: TestPeer[],
  options: { v11?: boolean } = {},
): Promise<TestPeer> {
  const peer = await TestPeer.connect(url);
  if (options.v11) peer.send(`{"type":"setProtocolVersion","version":"v1_1"}`);
  peer.send(
    `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"gst-stream"},"peerId":"${peer.id}"}`,
  );
  for (const listener of listeners) {
    await expectFrame(
      listener,
      `{"type":"peerStatusChanged","roles":["producer"],"meta":{"name":"gst-stream"},"peerId":"${peer.id}"}`,
    );
  }
  return peer;
}

/** Sequence C up to both sides knowing the session id. */
async function consumerStartsSession(consumer: TestPeer, producer: TestPeer): Promise<string> {
  consumer.send(`{"type":"startSession","peerId":"${producer.id}"}`);
  const started = await consumer.next();
  const sessionId = sessionIdOf(started);
  expect(started).toBe(`{"type":"sessionStarted","peerId":"${producer.id}","sessionId":"${sessionId}"}`);
  await expectFrame(
    producer,
    `{"type":"startSession","peerId":"${consumer.id}","sessionId":"${sessionId}","offer":null}`,
  );
  return sessionId;
}

describe("sequence A: a producer registers", () => {
  it("is announced to listeners only, and an unchanged status is not re-broadcast", async () => {
    const { url } = await startServer();
    const listener = await browser(url);
    const producer = await webrtcsink(url, [listener]);
    await producer.nothing();
    // webrtcsink repeats its own peerId: the status is unchanged, nothing is broadcast.
    producer.send(
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"gst-stream"},"peerId":"${producer.id}"}`,
    );
    await listener.nothing();
  });

  it("accepts setProtocolVersion as the first message, before welcome is even read", async () => {
    const { url } = await startServer();
    const listener = await browser(url);
    const producer = await webrtcsink(url, [listener], { v11: true });
    await producer.nothing();
  });

  it("sorts meta keys and keeps numbers as serde_json writes them", async () => {
    const { url } = await startServer();
    const listener = await browser(url);
    const producer = await TestPeer.connect(url);
    producer.send(
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"cam","b":{"z":1,"a":1.0},"a":[1e2,0.1,1.5e-7,-0,18446744073709551615,1e400000000000000000000000000000000000000,true,null,"\\u00e9\\n"]},"peerId":null}`,
    );
    // 1e400… is out of f64 range: serde_json refuses the whole message, so nothing is broadcast.
    await listener.nothing();
    producer.send(
      `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"cam","b":{"z":1,"a":1.0},"a":[1e2,0.1,1.5e-7,-0,18446744073709551615,1e16,true,null,"\\u00e9\\n\\u0001/"]}}`,
    );
    await expectFrame(
      listener,
      `{"type":"peerStatusChanged","roles":["producer"],"meta":{"a":[100.0,0.1,1.5e-7,-0.0,18446744073709551615,1e16,true,null,"é\\n\\u0001/"],"b":{"a":1.0,"z":1},"name":"cam"},"peerId":"${producer.id}"}`,
    );
  });
});

describe("sequence B: a browser connects, becomes ready and lists peers", () => {
  it("gets its own echo, then list and listConsumers", async () => {
    const { url } = await startServer();
    const producer = await webrtcsink(url, []);
    const client = await browser(url);
    client.send(`{"type":"list"}`);
    client.send(`{"type":"listConsumers"}`);
    await expectFrame(
      client,
      `{"type":"list","producers":[{"id":"${producer.id}","meta":{"name":"gst-stream"}}]}`,
    );
    await expectFrame(client, `{"type":"listConsumers","consumers":[]}`);
  });

  it("lists a producer without meta as meta null, and includes the requester itself", async () => {
    const { url } = await startServer();
    const client = await TestPeer.connect(url);
    client.send(`{"type":"setPeerStatus","roles":["listener","producer"]}`);
    await expectFrame(
      client,
      `{"type":"peerStatusChanged","roles":["listener","producer"],"meta":null,"peerId":"${client.id}"}`,
    );
    client.send(`{"type":"list"}`);
    await expectFrame(client, `{"type":"list","producers":[{"id":"${client.id}","meta":null}]}`);
  });

  it("lists every producer (in no particular order)", async () => {
    const { url } = await startServer();
    const first = await webrtcsink(url, []);
    const second = await webrtcsink(url, []);
    const client = await browser(url);
    client.send(`{"type":"list"}`);
    const a = `{"id":"${first.id}","meta":{"name":"gst-stream"}}`;
    const b = `{"id":"${second.id}","meta":{"name":"gst-stream"}}`;
    expect([`{"type":"list","producers":[${a},${b}]}`, `{"type":"list","producers":[${b},${a}]}`]).toContain(
      await client.next(),
    );
  });
});

describe("sequence C: consumer-initiated session, producer offers", () => {
  it("routes SDP and trickled ICE both ways, re-serialized to the known fields", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);

    producer.send({ type: "peer", sessionId, sdp: { type: "offer", sdp: OFFER } });
    await expectFrame(
      client,
      `{"type":"peer","sessionId":"${sessionId}","sdp":{"type":"offer","sdp":${JSON.stringify(OFFER)}}}`,
    );
    client.send(
      `{"type":"peer","sessionId":"${sessionId}","sdp":{"type":"answer","sdp":${JSON.stringify(ANSWER)},"extra":1}}`,
    );
    await expectFrame(
      producer,
      `{"type":"peer","sessionId":"${sessionId}","sdp":{"type":"answer","sdp":${JSON.stringify(ANSWER)}}}`,
    );
    // The browser's RTCIceCandidate.toJSON(): sdpMid and usernameFragment are dropped.
    client.send(
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"${BROWSER_CANDIDATE}","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Xy12"}}`,
    );
    await expectFrame(
      producer,
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"${BROWSER_CANDIDATE}","sdpMLineIndex":0}}`,
    );
    producer.send(
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"${GST_CANDIDATE}","sdpMLineIndex":1}}`,
    );
    await expectFrame(
      client,
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"${GST_CANDIDATE}","sdpMLineIndex":1}}`,
    );
  });

  it("accepts webrtcsrc's explicit offer:null and several sessions between the same pair", async () => {
    const { url } = await startServer();
    const producer = await webrtcsink(url, []);
    const consumer = await TestPeer.connect(url);
    consumer.send(`{"type":"setPeerStatus","roles":[],"meta":null,"peerId":"${consumer.id}"}`);
    const ids = new Set<string>();
    for (let i = 0; i < 2; i++) {
      consumer.send(`{"type":"startSession","peerId":"${producer.id}","offer":null}`);
      const sessionId = sessionIdOf(await consumer.next());
      await expectFrame(
        producer,
        `{"type":"startSession","peerId":"${consumer.id}","sessionId":"${sessionId}","offer":null}`,
      );
      ids.add(sessionId);
    }
    expect(ids.size).toBe(2);
  });
});

describe("sequence D: consumer-initiated session, consumer offers", () => {
  it("forwards the offer in startSession and routes the producer's answer back", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    client.send(`{"type":"startSession","peerId":"${producer.id}","offer":${JSON.stringify(OFFER)}}`);
    const started = await client.next();
    const sessionId = sessionIdOf(started);
    expect(started).toBe(`{"type":"sessionStarted","peerId":"${producer.id}","sessionId":"${sessionId}"}`);
    await expectFrame(
      producer,
      `{"type":"startSession","peerId":"${client.id}","sessionId":"${sessionId}","offer":${JSON.stringify(OFFER)}}`,
    );
    producer.send(
      `{"type":"peer","sessionId":"${sessionId}","sdp":{"type":"answer","sdp":${JSON.stringify(ANSWER)}}}`,
    );
    await expectFrame(
      client,
      `{"type":"peer","sessionId":"${sessionId}","sdp":{"type":"answer","sdp":${JSON.stringify(ANSWER)}}}`,
    );
  });
});

describe("sequence E: producer-initiated session toward a passive consumer", () => {
  it("gives the consumer sessionStarted and the initiating producer startSession", async () => {
    const { url } = await startServer();
    const listener = await browser(url, "observer");
    const consumer = await TestPeer.connect(url);
    consumer.send(`{"type":"setPeerStatus","roles":["consumer"],"meta":null,"peerId":"${consumer.id}"}`);
    await expectFrame(
      listener,
      `{"type":"peerStatusChanged","roles":["consumer"],"meta":null,"peerId":"${consumer.id}"}`,
    );

    const producer = await TestPeer.connect(url);
    producer.send(`{"type":"setPeerStatus","roles":["listener","producer"],"meta":{"name":"phone"}}`);
    const registered = `{"type":"peerStatusChanged","roles":["listener","producer"],"meta":{"name":"phone"},"peerId":"${producer.id}"}`;
    // Broadcast order follows the peer table; both listeners get it exactly once.
    await expectFrame(listener, registered);
    await expectFrame(producer, registered);

    producer.send(`{"type":"listConsumers"}`);
    await expectFrame(producer, `{"type":"listConsumers","consumers":[{"id":"${consumer.id}","meta":null}]}`);

    producer.send(`{"type":"startSession","peerId":"${consumer.id}"}`);
    const started = await consumer.next();
    const sessionId = sessionIdOf(started);
    expect(started).toBe(`{"type":"sessionStarted","peerId":"${producer.id}","sessionId":"${sessionId}"}`);
    await expectFrame(
      producer,
      `{"type":"startSession","peerId":"${consumer.id}","sessionId":"${sessionId}","offer":null}`,
    );
    producer.send({ type: "peer", sessionId, sdp: { type: "offer", sdp: OFFER } });
    await expectFrame(
      consumer,
      `{"type":"peer","sessionId":"${sessionId}","sdp":{"type":"offer","sdp":${JSON.stringify(OFFER)}}}`,
    );
    await listener.nothing();
  });
});

describe("sequence F: ICE", () => {
  it("forwards an empty candidate as is and silently drops sdpMLineIndex null", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    client.send(
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"","sdpMid":"0","sdpMLineIndex":null}}`,
    );
    client.send(`{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"","sdpMLineIndex":0}}`);
    await expectFrame(
      producer,
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"","sdpMLineIndex":0}}`,
    );
    await producer.nothing();
    await client.nothing();
  });
});

describe("sequence G: ending a session", () => {
  it("tells the other member only; the browser's echo and late messages get no error", async () => {
    const { url, server } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    client.send(`{"type":"endSession","sessionId":"${sessionId}"}`);
    await expectFrame(producer, `{"type":"endSession","sessionId":"${sessionId}"}`);
    producer.send(`{"type":"endSession","sessionId":"${sessionId}"}`);
    producer.send(
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"${GST_CANDIDATE}","sdpMLineIndex":0}}`,
    );
    await client.nothing();
    await producer.nothing();
    expect(server.stats.sessions).toBe(0);
  });

  it("lets the producer end it too", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    producer.send(`{"type":"endSession","sessionId":"${sessionId}"}`);
    await expectFrame(client, `{"type":"endSession","sessionId":"${sessionId}"}`);
  });
});

describe("sequence H: a peer disconnects", () => {
  it("ends its sessions, then tells every listener it is gone with its last meta", async () => {
    const { url, server } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    producer.close();
    await expectFrame(client, `{"type":"endSession","sessionId":"${sessionId}"}`);
    await expectFrame(
      client,
      `{"type":"peerStatusChanged","roles":[],"meta":{"name":"gst-stream"},"peerId":"${producer.id}"}`,
    );
    expect(server.stats).toEqual({ peers: 1, sessions: 0, connections: 1 });
  });

  it("announces even a peer that never set a status, with meta null", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const silent = await TestPeer.connect(url);
    silent.close();
    await expectFrame(client, `{"type":"peerStatusChanged","roles":[],"meta":null,"peerId":"${silent.id}"}`);
  });

  it("ends the sessions of a departing consumer at the producer", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    client.close();
    await expectFrame(producer, `{"type":"endSession","sessionId":"${sessionId}"}`);
    await producer.nothing();
  });
});

describe("sequence I: a producer stops producing without disconnecting", () => {
  it("ends its producer sessions and broadcasts the new roles", async () => {
    const { url } = await startServer();
    const consumer = await browser(url, "viewer");
    const producer = await TestPeer.connect(url);
    producer.send(`{"type":"setPeerStatus","roles":["listener","producer"],"meta":{"name":"phone"}}`);
    const registered = `{"type":"peerStatusChanged","roles":["listener","producer"],"meta":{"name":"phone"},"peerId":"${producer.id}"}`;
    await expectFrame(consumer, registered);
    await expectFrame(producer, registered);
    const sessionId = await consumerStartsSession(consumer, producer);
    producer.send(`{"type":"setPeerStatus","roles":["listener"],"meta":{"name":"phone"}}`);
    await expectFrame(consumer, `{"type":"endSession","sessionId":"${sessionId}"}`);
    const unregistered = `{"type":"peerStatusChanged","roles":["listener"],"meta":{"name":"phone"},"peerId":"${producer.id}"}`;
    await expectFrame(consumer, unregistered);
    await expectFrame(producer, unregistered);
  });
});

describe("protocol v1.1", () => {
  it("sends endSessionV1_1 only to a peer that opted in, and down-converts for v1.0 peers", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client], { v11: true });

    const first = await consumerStartsSession(client, producer);
    client.send(`{"type":"endSession","sessionId":"${first}"}`);
    await expectFrame(producer, `{"type":"endSessionV1_1","sessionId":"${first}","error":null}`);

    const second = await consumerStartsSession(client, producer);
    producer.send(`{"type":"endSessionV1_1","sessionId":"${second}","error":"ICE connection state failed"}`);
    await expectFrame(client, `{"type":"endSession","sessionId":"${second}"}`);
  });

  it("forwards the error between two v1.1 peers, and null when the other side disconnects", async () => {
    const { url } = await startServer();
    const producer = await webrtcsink(url, [], { v11: true });
    const consumer = await TestPeer.connect(url);
    consumer.send(`{"type":"setProtocolVersion","version":"v1_1"}`);
    const sessionId = await consumerStartsSession(consumer, producer);
    producer.send(
      `{"type":"endSessionV1_1","sessionId":"${sessionId}","error":"ICE connection state failed"}`,
    );
    await expectFrame(
      consumer,
      `{"type":"endSessionV1_1","sessionId":"${sessionId}","error":"ICE connection state failed"}`,
    );

    const again = await consumerStartsSession(consumer, producer);
    consumer.close();
    await expectFrame(producer, `{"type":"endSessionV1_1","sessionId":"${again}","error":null}`);
  });
});

describe("error messages (0.14+/0.15 wording), sent to the offender only", () => {
  it("startSession to an unknown peer", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    client.send(`{"type":"startSession","peerId":"nope"}`);
    await expectFrame(client, `{"type":"error","details":"Peer with ID 'nope' not found"}`);
  });

  it("startSession to a peer that is neither producer nor consumer", async () => {
    const { url } = await startServer();
    const a = await browser(url, "a");
    const b = await TestPeer.connect(url);
    a.send(`{"type":"startSession","peerId":"${b.id}"}`);
    await expectFrame(
      a,
      `{"type":"error","details":"Missing a producer or a consumer: id ${a.id} roles [Listener], id ${b.id} roles []"}`,
    );
    await b.nothing();
  });

  it("a consumer that sends an SDP offer", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    client.send({ type: "peer", sessionId, sdp: { type: "offer", sdp: OFFER } });
    await expectFrame(
      client,
      `{"type":"error","details":"cannot forward offer from \\"${client.id}\\" to \\"${producer.id}\\" as \\"${client.id}\\" is not the producer"}`,
    );
    await producer.nothing();
  });

  it("a peer message for a session the sender is not part of", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    const intruder = await TestPeer.connect(url);
    intruder.send(`{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"","sdpMLineIndex":0}}`);
    await expectFrame(
      intruder,
      `{"type":"error","details":"Peer ${intruder.id} is not part of ${sessionId}"}`,
    );
    await producer.nothing();
    await client.nothing();
  });

  it("producer and consumer roles at once", async () => {
    const { url } = await startServer();
    const peer = await TestPeer.connect(url);
    peer.send(`{"type":"setPeerStatus","roles":["producer","consumer"],"meta":null}`);
    await expectFrame(
      peer,
      `{"type":"error","details":"Cannot register peer ${peer.id} as both producer and passive consumer"}`,
    );
  });

  it("setProtocolVersion after another message", async () => {
    const { url } = await startServer();
    const peer = await TestPeer.connect(url);
    peer.send(`{"type":"list"}`);
    await expectFrame(peer, `{"type":"list","producers":[]}`);
    peer.send(`{"type":"setProtocolVersion","version":"v1_1"}`);
    await expectFrame(
      peer,
      `{"type":"error","details":"Protocol version selection for peer '${peer.id}' must be first message"}`,
    );
  });

  it("endSessionV1_1 with an error from a v1.0 peer (the session still ends properly)", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    client.send(`{"type":"endSessionV1_1","sessionId":"${sessionId}","error":"boom"}`);
    await expectFrame(producer, `{"type":"endSession","sessionId":"${sessionId}"}`);
    await expectFrame(
      client,
      `{"type":"error","details":"Invalid end session message with error from peer '${client.id}', minimum protocol version is 1.1"}`,
    );
  });
});

describe("sturdier than the reference server", () => {
  it("does not let a non-member end someone else's session", async () => {
    const { url, server } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    const sessionId = await consumerStartsSession(client, producer);
    const intruder = await TestPeer.connect(url);
    intruder.send(`{"type":"endSession","sessionId":"${sessionId}"}`);
    await expectFrame(
      intruder,
      `{"type":"error","details":"Peer ${intruder.id} is not part of ${sessionId}"}`,
    );
    expect(server.stats.sessions).toBe(1);
    // The members still talk.
    producer.send(
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"${GST_CANDIDATE}","sdpMLineIndex":0}}`,
    );
    await expectFrame(
      client,
      `{"type":"peer","sessionId":"${sessionId}","ice":{"candidate":"${GST_CANDIDATE}","sdpMLineIndex":0}}`,
    );
  });

  it("ignores a client-sent newPeer instead of resetting the peer", async () => {
    const { url } = await startServer();
    const client = await browser(url);
    const producer = await webrtcsink(url, [client]);
    producer.send(`{"type":"newPeer"}`);
    await producer.nothing();
    client.send(`{"type":"list"}`);
    await expectFrame(
      client,
      `{"type":"list","producers":[{"id":"${producer.id}","meta":{"name":"gst-stream"}}]}`,
    );
  });
});
