/**
 * The GStreamer WebRTC signalling protocol: message types, strict parsers and byte-exact serializers.
 * Free of Node-only APIs at its surface so the device, the signalling server and the tests share it.
 */
export { JsonValue } from "./json.ts";
export * from "./messages.ts";
export { type ParseResult, parseClientMessage, parseServerMessage } from "./parse.ts";
export { serializeClientMessage, serializeServerMessage } from "./serialize.ts";
