/**
 * The protocol module on its own: every message shape of docs/PROTOCOL.md (§3, §4) parses and
 * serializes back to exactly the same bytes, and invalid ones are rejected with a reason.
 */
import { describe, expect, it } from "vitest";
import {
  JsonValue,
  parseClientMessage,
  parseServerMessage,
  serializeClientMessage,
  serializeServerMessage,
} from "../../src/protocol/index.ts";

const P = "6a4b7c1e-2f3d-4e5a-9b8c-7d6e5f4a3b2c";
const C = "0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011";
const S = "b1d2c3e4-f5a6-4b7c-8d9e-0a1b2c3d4e5f";

/** As webrtcsink/webrtcsrc (serde) write them: the serializer must reproduce them byte for byte. */
const gstClientMessages = [
  `{"type":"setProtocolVersion","version":"v1_1"}`,
  `{"type":"setPeerStatus","roles":["producer"],"meta":{"name":"gst-stream"},"peerId":"${P}"}`,
  `{"type":"setPeerStatus","roles":[],"meta":null,"peerId":"${C}"}`,
  `{"type":"setPeerStatus","roles":["consumer"],"meta":null,"peerId":"${C}"}`,
  `{"type":"list"}`,
  `{"type":"listConsumers"}`,
  `{"type":"startSession","peerId":"${P}","offer":null}`,
  `{"type":"peer","sessionId":"${S}","sdp":{"type":"offer","sdp":"v=0\\r\\no=- 1234 0 IN IP4 0.0.0.0\\r\\n"}}`,
  `{"type":"peer","sessionId":"${S}","ice":{"candidate":"candidate:1 1 UDP 2015363327 192.168.1.20 38559 typ host","sdpMLineIndex":0}}`,
  `{"type":"endSession","sessionId":"${S}"}`,
  `{"type":"endSessionV1_1","sessionId":"${S}","error":"ICE connection state failed"}`,
];

/** The server's output, one of each kind (docs/PROTOCOL.md §4). */
const serverMessages = [
  `{"type":"welcome","peerId":"${P}"}`,
  `{"type":"peerStatusChanged","roles":["producer"],"meta":{"name":"gst-stream"},"peerId":"${P}"}`,
  `{"type":"peerStatusChanged","roles":[],"meta":{"name":"gst-stream"},"peerId":"${P}"}`,
  `{"type":"list","producers":[{"id":"${P}","meta":{"name":"gst-stream"}},{"id":"1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5","meta":null}]}`,
  `{"type":"listConsumers","consumers":[{"id":"${C}","meta":null}]}`,
  `{"type":"sessionStarted","peerId":"${P}","sessionId":"${S}"}`,
  `{"type":"startSession","peerId":"${C}","sessionId":"${S}","offer":null}`,
  `{"type":"startSession","peerId":"${C}","sessionId":"${S}","offer":"v=0\\r\\n"}`,
  `{"type":"peer","sessionId":"${S}","ice":{"candidate":"candidate:3547 1 udp 2113937151 a1b2.local 51234 typ host generation 0 ufrag Xy12 network-cost 999","sdpMLineIndex":0}}`,
  `{"type":"endSession","sessionId":"${S}"}`,
  `{"type":"endSessionV1_1","sessionId":"${S}","error":null}`,
  `{"type":"error","details":"Peer with ID 'nope' not found"}`,
];

function parsedClient(text: string) {
  const result = parseClientMessage(text);
  if (!result.ok) throw new Error(result.reason);
  return result.message;
}

describe("byte-exact round trips", () => {
  it.each(gstClientMessages)("client message %s", (text) => {
    expect(serializeClientMessage(parsedClient(text))).toBe(text);
  });

  it.each(serverMessages)("server message %s", (text) => {
    const result = parseServerMessage(text);
    if (!result.ok) throw new Error(result.reason);
    expect(serializeServerMessage(result.message)).toBe(text);
  });
});

describe("what browsers send is reduced to what the server forwards", () => {
  it("drops sdpMid and usernameFragment from ICE", () => {
    const message = parsedClient(
      `{"type":"peer","sessionId":"${S}","ice":{"candidate":"c","sdpMid":"0","sdpMLineIndex":1,"usernameFragment":"u"}}`,
    );
    expect(serializeServerMessage(message as never)).toBe(
      `{"type":"peer","sessionId":"${S}","ice":{"candidate":"c","sdpMLineIndex":1}}`,
    );
  });

  it("treats a missing offer and a missing meta as null", () => {
    expect(serializeClientMessage(parsedClient(`{"type":"startSession","peerId":"${P}"}`))).toBe(
      `{"type":"startSession","peerId":"${P}","offer":null}`,
    );
    expect(serializeClientMessage(parsedClient(`{"type":"setPeerStatus","roles":["listener"]}`))).toBe(
      `{"type":"setPeerStatus","roles":["listener"],"meta":null}`,
    );
  });

  it("takes the first of sdp and ice when both are present, as serde's flattened enum", () => {
    const message = parsedClient(
      `{"type":"peer","ice":{"candidate":"c","sdpMLineIndex":0},"sessionId":"${S}","sdp":{"type":"offer","sdp":"x"}}`,
    );
    expect(message).toMatchObject({ ice: { candidate: "c", sdpMLineIndex: 0 } });
  });
});

describe("meta as serde_json writes it", () => {
  const cases: Array<[string, string]> = [
    [`{"name":"x","a":1}`, `{"a":1,"name":"x"}`],
    [
      `{"f":1.0,"g":1.50,"h":1e2,"i":-0,"j":1E-7,"k":0.000001,"l":1e16,"m":123456789012345678}`,
      `{"f":1.0,"g":1.5,"h":100.0,"i":-0.0,"j":1e-7,"k":1e-6,"l":1e16,"m":123456789012345678}`,
    ],
    [
      `{"big":18446744073709551616,"neg":-9223372036854775809}`,
      `{"big":1.8446744073709552e19,"neg":-9.223372036854776e18}`,
    ],
    [`{"😀":1,"￿":2,"a":3}`, `{"a":3,"￿":2,"😀":1}`],
    [`{"s":"\\u2028\\/\\u001f"}`, `{"s":"\u2028/\\u001f"}`],
    [`[{"b":1,"a":{"d":1,"c":2}}]`, `[{"a":{"c":2,"d":1},"b":1}]`],
  ];
  it.each(cases)("%s → %s", (meta, expected) => {
    const message = parsedClient(`{"type":"setPeerStatus","roles":[],"meta":${meta}}`);
    expect(message.type === "setPeerStatus" && message.meta?.text).toBe(expected);
  });

  it("builds canonical meta from a plain object", () => {
    expect(JsonValue.from({ name: "cam", echoOf: "x", n: 2, f: 0.5 }).text).toBe(
      `{"echoOf":"x","f":0.5,"n":2,"name":"cam"}`,
    );
  });
});

describe("rejections carry a reason", () => {
  it.each([
    ["{", /not JSON/],
    [`{"type":"nope"}`, /unknown message type "nope"/],
    [`{"roles":[]}`, /missing field `type`/],
    [`{"type":"setPeerStatus","roles":["boss"]}`, /roles/],
    [`{"type":"peer","sessionId":"s"}`, /neither `sdp` nor `ice`/],
    [`{"type":"peer","sessionId":"s","ice":{"candidate":"c","sdpMLineIndex":null}}`, /ice/],
  ])("%s", (text, reason) => {
    const result = parseClientMessage(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });
});
