/**
 * The REST API's shapes (zod, with OpenAPI metadata): what every parameter may be — anything else is a
 * 400 before a handler runs — and what every answer looks like. The OpenAPI document at
 * `/api/openapi.json` is generated from these, so it cannot drift from what the server checks.
 */
import { z } from "@hono/zod-openapi";
import { ROLES } from "../auth/roles.ts";
import { MAX_RECORDING_NAME_LENGTH, RECORDING_NAME_PATTERN } from "../media/Recordings.ts";

export const ErrorSchema = z
  .object({ error: z.string().openapi({ example: "not logged in" }) })
  .openapi("Error", { description: "Every error answer: a reason for people." });

export const RoleSchema = z.enum(ROLES).openapi("Role");

/** A session id from the signalling server (a UUID from ours; other servers' ids are similar). */
export const SessionIdParams = z.object({
  sessionId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "not a session id")
    .openapi({ param: { name: "sessionId", in: "path" }, example: "7d0c7f1e-2b6a-4a53-9d8e-1b1f0b7c9a10" }),
});

export const RecordingNameParams = z.object({
  name: z
    .string()
    .max(MAX_RECORDING_NAME_LENGTH, "not a recording name")
    .regex(RECORDING_NAME_PATTERN, "not a recording name")
    .openapi({
      param: { name: "name", in: "path" },
      description: "A name from GET /api/recordings — never a path.",
      example: "2026-11-24T17-05-01Z-phone.webm",
    }),
});

export const CredentialIdParams = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f]{8}$/, "not a credential id")
    .openapi({ param: { name: "id", in: "path" }, example: "1a2b3c4d" }),
});

const MediaStatsSchema = z
  .object({
    codec: z.string().optional(),
    packets: z.number(),
    bytes: z.number(),
    bitrate: z.number().openapi({ description: "bit/s over the last few seconds" }),
    fps: z.number(),
    nacks: z.number().openapi({ description: "NACKs received from a viewer, sent to a sender" }),
    retransmissions: z.number(),
    keyframeRequests: z.number().openapi({ description: "PLI and FIR" }),
    packetsLost: z.number(),
    fractionLost: z.number().optional(),
  })
  .openapi("MediaStats");

const SessionFields = {
  sessionId: z.string(),
  peerId: z.string(),
  startedAt: z.string(),
  connectedAt: z.string().optional(),
  state: z.string().openapi({ description: "the peer connection's state" }),
  rttMs: z.number().optional(),
  video: MediaStatsSchema.optional(),
  audio: MediaStatsSchema.optional(),
};

export const ViewerSchema = z
  .object({
    ...SessionFields,
    layer: z
      .string()
      .optional()
      .openapi({ description: "the encoding of the ladder this viewer gets (its size)" }),
    estimateBps: z
      .number()
      .optional()
      .openapi({ description: "the viewer's browser's estimate of its bandwidth (REMB), bit/s" }),
  })
  .openapi("Viewer");
export const SenderSchema = z
  .object({
    ...SessionFields,
    name: z.string().openapi({ description: "the sender's name (text, never markup)" }),
    recording: z.string().optional().openapi({ description: "the recording being made of it" }),
  })
  .openapi("Sender");

export const SourceSchema = z
  .object({
    kind: z.string(),
    description: z.string().optional().openapi({ description: "admins only" }),
    state: z.enum(["live", "unavailable", "none"]).openapi({
      description:
        "live: the source delivers; unavailable: it does not (the device sends a stand-in); none: no such stream",
    }),
    reason: z.string().optional(),
    since: z.string(),
  })
  .openapi("Source");

const LayerSchema = z.object({
  layer: z.string().openapi({ description: "the encoding's size, or 0 for a stream with one encoding" }),
  codec: z.string().optional(),
  targetBitrate: z.number().optional().openapi({ description: "what its encoder is asked for, bit/s" }),
  bitrate: z.number(),
  fps: z.number(),
  viewers: z.number().openapi({ description: "viewers on this encoding now" }),
});

export const StreamSchema = z
  .object({
    kind: z.enum(["video", "audio"]),
    codec: z.string(),
    packets: z.number(),
    bytes: z.number(),
    bitrate: z.number(),
    fps: z.number(),
    frames: z.number(),
    keyframes: z.number(),
    keyframeRequests: z.number(),
    restarts: z.number(),
    layers: z.array(LayerSchema),
  })
  .openapi("Stream");

export const StatusSchema = z
  .object({
    name: z.string(),
    role: RoleSchema.openapi({ description: "the role of the credential that asked" }),
    startedAt: z.string(),
    uptimeSeconds: z.number(),
    versions: z.record(z.string(), z.string()),
    sources: z.object({ video: SourceSchema, audio: SourceSchema }),
    streams: z.array(StreamSchema),
    codecs: z.array(z.string()),
    viewers: z.number(),
    senders: z.number(),
    incoming: z.object({ audio: z.string(), video: z.array(z.string()) }),
  })
  .openapi("Status");

export const RecordingSchema = z
  .object({
    name: z.string(),
    bytes: z.number(),
    created: z.string(),
    modified: z.string(),
    contentType: z.string(),
    active: z.boolean().openapi({ description: "still being recorded: not downloadable nor deletable yet" }),
  })
  .openapi("Recording");

export const SenderRecordingSchema = z
  .object({ recording: z.string().openapi({ description: "a name from GET /api/recordings" }) })
  .openapi("SenderRecording");

export const CredentialSchema = z
  .object({
    id: z.string(),
    kind: z.enum(["token", "pairing", "session"]),
    role: RoleSchema,
    label: z.string(),
    created: z.string(),
    expires: z.string().nullable(),
    parent: z.string().nullable().openapi({ description: "the token a browser session came from" }),
    current: z.boolean().openapi({ description: "the credential of this request" }),
  })
  .openapi("Credential");

export const NewTokenSchema = z
  .object({
    role: RoleSchema,
    label: z
      .string()
      .max(100)
      // Shown by `device-rtc token list` in a terminal: no control, format (bidi) or lone surrogate
      // characters, which could rewrite what the owner sees there.
      .regex(/^[^\p{Cc}\p{Cf}\p{Cs}]*$/u, "control and format characters are not allowed")
      .default("")
      .openapi({ description: "what it is for (text)" }),
    expiresInSeconds: z
      .number()
      .int()
      .min(60)
      .max(10 * 366 * 86_400)
      .nullable()
      .default(30 * 86_400)
      .openapi({ description: "null: never expires" }),
  })
  .strict()
  .openapi("NewToken");

export const CreatedTokenSchema = z
  .object({
    token: CredentialSchema,
    secret: z.string().openapi({ description: "shown once: send it as Authorization: Bearer <secret>" }),
    pairingPath: z.string().openapi({ description: "a link path that logs browsers in with this token" }),
  })
  .openapi("CreatedToken");
