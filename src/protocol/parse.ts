/**
 * Strict parsers for both directions. Each returns the typed message or the reason it is not one —
 * the same messages serde would accept in gst-plugins-rs: unknown fields are ignored, a missing or
 * wrong-typed field or an unknown `type` rejects the whole message (docs/PROTOCOL.md §2, §8).
 */
import { z } from "zod";
import { JsonValue, parseJsonLossless } from "./json.ts";
import {
  type ClientMessage,
  type IcePayload,
  type Meta,
  PEER_ROLES,
  type PeerMessage,
  PROTOCOL_VERSIONS,
  type SdpPayload,
  type ServerMessage,
} from "./messages.ts";

export type ParseResult<T> = { ok: true; message: T } | { ok: false; reason: string };

const U32_MAX = 4_294_967_295;
/**
 * serde_json's recursion limit: it starts with 128 and fails when entering the 128th level, so a whole
 * message (its outer object is level 1) may nest 127 deep.
 */
export const MAX_DEPTH = 127;

/** Whatever JSON the field holds; converted to a canonical {@link JsonValue} afterwards. */
const anyJson = z.unknown().optional();
const optionalString = z.string().nullish();
const roles = z.array(z.enum(PEER_ROLES));
const sdpPayload = z.object({ type: z.enum(["offer", "answer"]), sdp: z.string() });
const icePayload = z.object({ candidate: z.string(), sdpMLineIndex: z.number().int().min(0).max(U32_MAX) });
const peerInfo = z.object({ id: z.string(), meta: anyJson });

const clientSchemas = {
  setProtocolVersion: z.object({ version: z.enum(PROTOCOL_VERSIONS) }),
  setPeerStatus: z.object({ roles, meta: anyJson, peerId: optionalString }),
  list: z.object({}),
  listConsumers: z.object({}),
  startSession: z.object({ peerId: z.string(), offer: optionalString }),
  peer: z.object({ sessionId: z.string() }),
  endSession: z.object({ sessionId: z.string() }),
  endSessionV1_1: z.object({ sessionId: z.string(), error: optionalString }),
  newPeer: z.object({}),
} as const;

const serverSchemas = {
  welcome: z.object({ peerId: z.string() }),
  peerStatusChanged: z.object({ roles, meta: anyJson, peerId: z.string() }),
  list: z.object({ producers: z.array(peerInfo) }),
  listConsumers: z.object({ consumers: z.array(peerInfo) }),
  sessionStarted: z.object({ peerId: z.string(), sessionId: z.string() }),
  startSession: z.object({ peerId: z.string(), sessionId: z.string(), offer: optionalString }),
  peer: z.object({ sessionId: z.string() }),
  endSession: z.object({ sessionId: z.string() }),
  endSessionV1_1: z.object({ sessionId: z.string(), error: optionalString }),
  error: z.object({ details: z.string() }),
} as const;

/** Types whose `meta` must keep its exact numbers: these are parsed a second time, losslessly. */
const CARRIES_META = new Set(["setPeerStatus", "peerStatusChanged", "list", "listConsumers"]);

/** Parses what a client sends to the server. */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  return parseWith(text, clientSchemas, (type, fields, raw) => {
    switch (type) {
      case "setPeerStatus": {
        const { roles, peerId } = fields as { roles: ClientRolesOutput; peerId?: string | null };
        return { type, roles, meta: toMeta(raw.meta), peerId: peerId ?? undefined };
      }
      case "startSession": {
        const { peerId, offer } = fields as { peerId: string; offer?: string | null };
        return { type, peerId, offer: offer ?? null };
      }
      case "peer":
      case "endSessionV1_1":
        return sessionMessage(type, fields, raw);
      default:
        return { type, ...fields } as ClientMessage;
    }
  });
}

/** Parses what the server sends to a client. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  return parseWith(text, serverSchemas, (type, fields, raw) => {
    switch (type) {
      case "peerStatusChanged": {
        const { roles, peerId } = fields as { roles: ClientRolesOutput; peerId: string };
        return { type, roles, meta: toMeta(raw.meta), peerId };
      }
      case "list":
      case "listConsumers": {
        const key = type === "list" ? "producers" : "consumers";
        const peers = (raw[key] as Array<Record<string, unknown>>).map((peer) => ({
          id: peer.id as string,
          meta: toMeta(peer.meta),
        }));
        return type === "list" ? { type, producers: peers } : { type, consumers: peers };
      }
      case "startSession": {
        const { peerId, sessionId, offer } = fields as {
          peerId: string;
          sessionId: string;
          offer?: string | null;
        };
        return { type, peerId, sessionId, offer: offer ?? null };
      }
      case "peer":
      case "endSessionV1_1":
        return sessionMessage(type, fields, raw);
      default:
        return { type, ...fields } as ServerMessage;
    }
  });
}

type ClientRolesOutput = z.infer<typeof roles>;

/** `peer` and `endSessionV1_1`, which both directions share. */
function sessionMessage(
  type: "peer" | "endSessionV1_1",
  fields: Record<string, unknown>,
  raw: Record<string, unknown>,
): PeerMessage | { type: "endSessionV1_1"; sessionId: string; error: string | null } {
  const { sessionId, error } = fields as { sessionId: string; error?: string | null };
  return type === "peer" ? peerMessage({ sessionId }, raw) : { type, sessionId, error: error ?? null };
}
type Schemas = Record<string, z.ZodObject>;

class Rejected extends Error {}

function parseWith<S extends Schemas, T>(
  text: string,
  schemas: S,
  build: (type: keyof S & string, fields: Record<string, unknown>, raw: Record<string, unknown>) => T,
): ParseResult<T> {
  // Before anything walks the value: serde_json's depth limit, checked by a flat scan of the text, so
  // no recursive code (here, in lossless-json or in zod) ever sees a deeper document.
  const depth = nestingDepth(text);
  if (depth > MAX_DEPTH) {
    return { ok: false, reason: `nested deeper than ${MAX_DEPTH} levels (serde_json's limit)` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, reason: "not a JSON object" };
  }
  const object = raw as Record<string, unknown>;
  // serde_json refuses strings holding a lone surrogate; JSON.parse accepts them. Only an escape can
  // produce one, so look only when the text has a \u escape for a surrogate.
  if (/\\u[dD][89a-fA-F]/.test(text) && hasLoneSurrogate(object)) {
    return { ok: false, reason: "a string holds a lone UTF-16 surrogate" };
  }
  const type = object.type;
  if (type === undefined) return { ok: false, reason: "missing field `type`" };
  if (typeof type !== "string" || !Object.hasOwn(schemas, type)) {
    return { ok: false, reason: `unknown message type ${JSON.stringify(type)}` };
  }
  const schema = schemas[type] as z.ZodObject;
  const result = schema.safeParse(object);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `field \`${issue.path.join(".")}\`: ` : "";
    return { ok: false, reason: `invalid ${type}: ${where}${issue?.message ?? "invalid"}` };
  }
  try {
    const source = CARRIES_META.has(type) ? (parseJsonLossless(text) as Record<string, unknown>) : object;
    return { ok: true, message: build(type, result.data as Record<string, unknown>, source) };
  } catch (error) {
    return { ok: false, reason: `invalid ${type}: ${(error as Error).message}` };
  }
}

/** Whether any string or key holds a lone surrogate; iterative, so depth cannot exhaust the stack. */
function hasLoneSurrogate(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === "string") {
      if (!value.isWellFormed()) return true;
    } else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        if (!key.isWellFormed()) return true;
        stack.push(item);
      }
    }
  }
  return false;
}

/**
 * The deepest nesting of arrays and objects in JSON text, by one pass over its characters (brackets
 * inside strings do not count). Invalid JSON gets some number; JSON.parse rejects it afterwards.
 */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

function toMeta(value: unknown): Meta {
  return value === null || value === undefined ? null : JsonValue.fromLossless(value);
}

/**
 * `peer` flattens an externally tagged enum: the payload is the first `sdp` or `ice` key of the object,
 * in the order the sender wrote them (serde's flattened-enum lookup).
 */
function peerMessage(fields: { sessionId: string }, raw: Record<string, unknown>): PeerMessage {
  for (const key of Object.keys(raw)) {
    if (key === "sdp") {
      const sdp = sdpPayload.safeParse(raw.sdp);
      if (!sdp.success) throw new Rejected(`field \`sdp\`: ${sdp.error.issues[0]?.message}`);
      const payload: SdpPayload = { type: sdp.data.type, sdp: sdp.data.sdp };
      return { type: "peer", sessionId: fields.sessionId, sdp: payload };
    }
    if (key === "ice") {
      const ice = icePayload.safeParse(raw.ice);
      if (!ice.success) throw new Rejected(`field \`ice\`: ${ice.error.issues[0]?.message}`);
      const payload: IcePayload = { candidate: ice.data.candidate, sdpMLineIndex: ice.data.sdpMLineIndex };
      return { type: "peer", sessionId: fields.sessionId, ice: payload };
    }
  }
  throw new Rejected("neither `sdp` nor `ice` is present");
}
