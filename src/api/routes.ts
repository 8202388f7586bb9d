/**
 * Every route of the REST API: method, path, parameters, answers, and the least role that may call it
 * (docs/SECURITY.md "REST API"). The role is part of the route (`x-device-rtc-role` in the OpenAPI
 * document), and the app enforces exactly what is written here.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Role } from "../auth/roles.ts";
import {
  CreatedTokenSchema,
  CredentialIdParams,
  CredentialSchema,
  ErrorSchema,
  NewTokenSchema,
  RecordingNameParams,
  RecordingSchema,
  SenderRecordingSchema,
  SenderSchema,
  SessionIdParams,
  StatusSchema,
  ViewerSchema,
} from "./schemas.ts";

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const error = (description: string) => json(ErrorSchema, description);

/** The answers every authenticated route may give. */
const common = {
  400: error("a parameter is not valid"),
  401: error("no credential, or one that is expired or revoked"),
  403: error("the credential's role may not do this, or the request comes from another site"),
};

const SECURITY = [{ bearer: [] }, { cookie: [] }];

/** The least role of each route, by its OpenAPI path and method (`GET /api/status`). */
export const ROUTE_ROLES = new Map<string, Role>();

function route<const R extends Parameters<typeof createRoute>[0]>(role: Role, config: R): R {
  ROUTE_ROLES.set(`${config.method.toUpperCase()} ${config.path}`, role);
  return createRoute({
    ...config,
    security: SECURITY,
    "x-device-rtc-role": role,
    description: `${config.description ?? ""} Role: ${role} or above.`.trim(),
    responses: { ...common, ...config.responses },
  }) as R;
}

export const getStatus = route("view", {
  method: "get",
  path: "/api/status",
  summary: "The device: name, sources and their state, streams, codecs, uptime, versions",
  description: "Source descriptions, which may name files and devices, are given to admins only.",
  responses: { 200: json(StatusSchema, "the device's status") },
});

export const listViewers = route("admin", {
  method: "get",
  path: "/api/viewers",
  summary: "Who watches the device, with bitrate, fps, round trip and loss",
  responses: { 200: json(z.object({ viewers: z.array(ViewerSchema) }), "the viewers") },
});

export const listSenders = route("admin", {
  method: "get",
  path: "/api/senders",
  summary: "Who sends to the device (microphone, camera), with their stats and recordings",
  responses: { 200: json(z.object({ senders: z.array(SenderSchema) }), "the senders") },
});

export const startRecording = route("admin", {
  method: "post",
  path: "/api/senders/{sessionId}/recording",
  summary: "Start recording a sender",
  request: { params: SessionIdParams },
  responses: {
    200: json(SenderRecordingSchema, "it was being recorded already"),
    201: json(SenderRecordingSchema, "recording started"),
    404: error("no such sender session"),
    409: error("the session is not set up yet, or sends nothing recordable"),
    507: error("the record directory has less free space than --min-free-disk: nothing is recorded"),
  },
});

export const stopRecording = route("admin", {
  method: "delete",
  path: "/api/senders/{sessionId}/recording",
  summary: "Stop recording a sender; the file is finalized before the answer",
  request: { params: SessionIdParams },
  responses: {
    200: json(SenderRecordingSchema, "the finished recording"),
    404: error("no such sender session, or it is not being recorded"),
  },
});

export const listRecordings = route("admin", {
  method: "get",
  path: "/api/recordings",
  summary: "The recordings, newest first",
  responses: {
    200: json(z.object({ recordings: z.array(RecordingSchema), totalBytes: z.number() }), "the recordings"),
  },
});

export const downloadRecording = route("admin", {
  method: "get",
  path: "/api/recordings/{name}",
  summary: "Download (or play) a recording; byte ranges are supported",
  request: { params: RecordingNameParams },
  responses: {
    200: {
      description: "the file",
      content: { "video/webm": { schema: z.string() }, "video/x-matroska": { schema: z.string() } },
    },
    206: { description: "a byte range of the file" },
    404: error("no such recording"),
    409: error("still being recorded"),
    416: { description: "the range is outside the file" },
  },
});

export const deleteRecording = route("admin", {
  method: "delete",
  path: "/api/recordings/{name}",
  summary: "Delete a recording",
  request: { params: RecordingNameParams },
  responses: {
    204: { description: "deleted" },
    404: error("no such recording"),
    409: error("still being recorded"),
  },
});

export const listTokens = route("admin", {
  method: "get",
  path: "/api/tokens",
  summary: "Tokens, pairing codes and browser sessions (never their secrets), as `device-rtc token list`",
  responses: {
    200: json(z.object({ credentials: z.array(CredentialSchema) }), "the credentials"),
    404: error("an open server (--open) has no credentials"),
  },
});

export const createToken = route("admin", {
  method: "post",
  path: "/api/tokens",
  summary: "Create a token, as `device-rtc token create`; its secret is shown once",
  request: {
    body: { content: { "application/json": { schema: NewTokenSchema } }, required: true },
  },
  responses: {
    201: json(CreatedTokenSchema, "the new token and its secret"),
    404: error("an open server (--open) has no credentials"),
    413: error("the body is too large"),
    415: error("the body is not JSON"),
  },
});

export const revokeToken = route("admin", {
  method: "delete",
  path: "/api/tokens/{id}",
  summary: "Revoke a credential and the browser sessions made from it; their connections end at once",
  request: { params: CredentialIdParams },
  responses: {
    200: json(z.object({ revoked: z.array(z.string()) }), "what was revoked"),
    404: error("no such credential"),
  },
});

export const getMetrics = route("admin", {
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics (text format 0.0.4); also on --metrics-port for scrapers",
  responses: {
    200: { description: "the metrics", content: { "text/plain": { schema: z.string() } } },
  },
});
