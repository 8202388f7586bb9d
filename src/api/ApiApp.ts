/**
 * The REST API (`/api/*`) and `/metrics` of `serve`, as a Hono app with zod validation and a generated
 * OpenAPI document (`/api/openapi.json`), mounted into the AppServer's own node:http(s) server through
 * @hono/node-server's request listener (docs/ARCHITECTURE.md "REST API").
 *
 * Every request but the OpenAPI document needs a credential, exactly as the signalling does
 * (`Authenticator.session`: the browser's session cookie, or `Authorization: Bearer <token>`), and each
 * route names the least role that may call it (src/api/routes.ts). Against cross-site requests
 * (docs/SECURITY.md "REST API"): the cookie is `SameSite=Strict`; any request carrying a foreign `Origin`
 * is refused; a state-changing request made with the cookie must carry the page's own `Origin`; a body
 * must be JSON (which no HTML form can send) and at most 4 KiB. Every error is JSON `{"error": …}`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { basename } from "node:path";
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { type Authenticator, originProblemOf } from "../auth/Authenticator.ts";
import type { Credential } from "../auth/CredentialStore.ts";
import { hasRole, type Role } from "../auth/roles.ts";
import type { Logger } from "../common/logger.ts";
import type { Device } from "../device/Device.ts";
import { RecordingUnavailableError, UnknownSessionError } from "../device/errors.ts";
import { LowDiskSpaceError } from "../media/RecordingLimits.ts";
import { RecordingBusyError, RecordingNotFoundError, type Recordings } from "../media/Recordings.ts";
import type { Metrics } from "../metrics/Metrics.ts";
import { fileResponse } from "./download.ts";
import * as routes from "./routes.ts";
import { versions } from "./versions.ts";

export interface ApiOptions {
  /** undefined: an open server (`--open`), where every request is an admin's. */
  auth: Authenticator | undefined;
  /** Whether the server speaks TLS (the page's origin is then https://). */
  secure: boolean;
  /** The device, once it has started. */
  device: () => Device | undefined;
  recordings: Recordings;
  metrics: Metrics | undefined;
  /** Ends the live connections of revoked credentials at once. */
  onRevoked?: ((ids: string[]) => void) | undefined;
  logger: Logger;
}

/** Who is asking. */
export interface Caller {
  role: Role;
  /** The credential presented; undefined on an open server. */
  credential: Credential | undefined;
  /** Authenticated by the browser session cookie (so a browser may have sent it on its own). */
  viaCookie: boolean;
}

export type ApiEnv = { Bindings: HttpBindings; Variables: { caller: Caller } };

/** Largest request body (the only body is a new token's role, label and lifetime). */
const MAX_BODY_BYTES = 4096;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const errorJson = (c: Context, status: number, error: string) =>
  c.json({ error: error.slice(0, 300) }, status as 400);

/** "POST /api/tokens" patterns → regular expressions, to tell a wrong method (405) from no route (404). */
const ROUTE_PATTERNS = [...routes.ROUTE_ROLES.keys()].map((key) => {
  const [method, path] = key.split(" ") as [string, string];
  const pattern = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+");
  return { key, method, regex: new RegExp(`^${pattern}$`) };
});

export function createApiApp(options: ApiOptions): OpenAPIHono<ApiEnv> {
  const log = options.logger.child({ component: "api" });
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const where = issue?.path.join(".") || result.target;
      return errorJson(c, 400, `${where}: ${issue?.message ?? "not valid"}`);
    },
  });

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "a token from `device-rtc token create` or POST /api/tokens",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "cookie", {
    type: "apiKey",
    in: "cookie",
    name: options.auth?.cookieName ?? "device-rtc",
    description: "the browser session of a paired or logged-in page (state changes need its Origin too)",
  });

  // ---- who is asking, and from where ----
  app.use("*", async (c, next) => {
    const request = c.env.incoming;
    const originProblem = originProblemOf(request, options.secure);
    if (originProblem) return errorJson(c, 403, originProblem);
    if (c.req.path === "/api/openapi.json") return next();
    const auth = options.auth;
    let caller: Caller;
    if (!auth) {
      caller = { role: "admin", credential: undefined, viaCookie: false };
    } else {
      const credential = auth.session(request);
      if (!credential) {
        c.header("www-authenticate", 'Bearer realm="device-rtc"');
        return errorJson(
          c,
          401,
          "a credential is required: pair this browser, log in, or send a bearer token",
        );
      }
      caller = { role: credential.role, credential, viaCookie: request.headers.authorization === undefined };
    }
    // A browser sends its cookie with any request a page makes; only this origin's pages may change
    // anything with it (a browser always sends Origin with such requests).
    if (!SAFE_METHODS.has(c.req.method) && caller.viaCookie && request.headers.origin === undefined)
      return errorJson(c, 403, "Origin required");
    c.set("caller", caller);
    return next();
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => {
        // The rest of the body is not read: the connection cannot be reused (RFC 9112 §9.6).
        c.header("connection", "close");
        return errorJson(c, 413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  // The least role of each route (routes.ts), checked before its parameters are even looked at.
  app.use("*", async (c, next) => {
    const caller = c.get("caller");
    if (!caller) return next();
    const match = ROUTE_PATTERNS.find(({ method, regex }) => {
      const asked = c.req.method === "HEAD" ? "GET" : c.req.method;
      return method === asked && regex.test(c.req.path);
    });
    const least = match && routes.ROUTE_ROLES.get(match.key);
    if (least && !hasRole(caller.role, least)) {
      return errorJson(c, 403, `this needs the ${least} role (this credential is ${caller.role})`);
    }
    return next();
  });

  app.onError((error, c) => {
    if (error instanceof HTTPException) return errorJson(c, error.status, error.message || "bad request");
    log.warn(
      { err: error.message, stack: error.stack, path: c.req.path.slice(0, 200) },
      "API request failed",
    );
    return errorJson(c, 500, "internal error");
  });
  app.notFound((c) => {
    const allowed = ROUTE_PATTERNS.filter(({ regex }) => regex.test(c.req.path)).map(({ method }) => method);
    if (allowed.length > 0) {
      c.header("allow", [...new Set(allowed)].join(", "));
      return errorJson(c, 405, `${c.req.method} is not allowed here`);
    }
    return errorJson(c, 404, "no such API route");
  });

  const device = (c: Context) => {
    const running = options.device();
    if (!running) throw new HTTPException(503, { message: "the device is starting" });
    return running;
  };
  const who = (c: Context<ApiEnv>) => c.get("caller").credential?.id ?? "open";

  // ---- the device ----

  app.openapi(routes.getStatus, async (c) => {
    const status = device(c).status();
    const admin = c.get("caller").role === "admin";
    const source = (s: (typeof status.sources)["video"]) => ({
      kind: s.kind,
      description: admin ? s.description : undefined,
      state: s.state,
      reason: s.reason,
      since: s.since,
    });
    return c.json(
      {
        name: status.name,
        role: c.get("caller").role,
        startedAt: status.startedAt,
        uptimeSeconds: Math.round((Date.now() - Date.parse(status.startedAt)) / 1000),
        versions: await versions(),
        sources: { video: source(status.sources.video), audio: source(status.sources.audio) },
        streams: status.streams,
        codecs: [...new Set(status.streams.map((stream) => stream.codec))],
        viewers: status.viewers.length,
        senders: status.senders.length,
        incoming: status.incoming,
      },
      200,
    );
  });

  app.openapi(routes.listViewers, (c) => c.json({ viewers: device(c).status().viewers }, 200));
  app.openapi(routes.listSenders, (c) => c.json({ senders: device(c).status().senders }, 200));

  app.openapi(routes.startRecording, async (c) => {
    const { sessionId } = c.req.valid("param");
    try {
      const { path, started } = await device(c).startRecording(sessionId);
      if (started) log.info({ sessionId, recording: basename(path), by: who(c) }, "recording started (API)");
      return c.json({ recording: basename(path) }, started ? 201 : 200);
    } catch (error) {
      if (error instanceof UnknownSessionError) return c.json({ error: "no such sender session" }, 404);
      if (error instanceof RecordingUnavailableError) return c.json({ error: error.message }, 409);
      // 507 Insufficient Storage (RFC 4918 §11.5): the sender goes on, unrecorded.
      if (error instanceof LowDiskSpaceError) return c.json({ error: error.message }, 507);
      throw error;
    }
  });

  app.openapi(routes.stopRecording, async (c) => {
    const { sessionId } = c.req.valid("param");
    try {
      const path = await device(c).stopRecording(sessionId);
      if (!path) return c.json({ error: "this sender is not being recorded" }, 404);
      log.info({ sessionId, recording: basename(path), by: who(c) }, "recording stopped (API)");
      return c.json({ recording: basename(path) }, 200);
    } catch (error) {
      if (error instanceof UnknownSessionError) return c.json({ error: "no such sender session" }, 404);
      throw error;
    }
  });

  // ---- recordings ----

  app.openapi(routes.listRecordings, async (c) => {
    const recordings = await options.recordings.list();
    return c.json({ recordings, totalBytes: recordings.reduce((sum, r) => sum + r.bytes, 0) }, 200);
  });

  app.openapi(routes.downloadRecording, async (c) => {
    const { name } = c.req.valid("param");
    try {
      const { info, file } = await options.recordings.open(name);
      return fileResponse(file, info, c.req.method, c.req.header("range")) as never;
    } catch (error) {
      return recordingError(c, error);
    }
  });

  app.openapi(routes.deleteRecording, async (c) => {
    const { name } = c.req.valid("param");
    try {
      await options.recordings.delete(name);
    } catch (error) {
      return recordingError(c, error);
    }
    log.info({ recording: name, by: who(c) }, "recording deleted (API)");
    return c.body(null, 204);
  });

  // ---- credentials ----

  const store = (c: Context) => {
    if (!options.auth)
      throw new HTTPException(404, { message: "this server is open (--open): no credentials" });
    options.auth.store.reload();
    return options.auth.store;
  };

  app.openapi(routes.listTokens, (c) => {
    const current = c.get("caller").credential?.id;
    const credentials = store(c)
      .list()
      .map((credential) => ({ ...credential, current: credential.id === current }));
    return c.json({ credentials }, 200);
  });

  app.openapi(routes.createToken, (c) => {
    const body = c.req.valid("json");
    const { credential, secret } = store(c).create({
      kind: "token",
      role: body.role,
      label: body.label,
      expiresInMs: body.expiresInSeconds === null ? null : body.expiresInSeconds * 1000,
    });
    log.info({ token: credential.id, role: credential.role, by: who(c) }, "token created (API)");
    return c.json(
      {
        token: { ...credential, current: false },
        secret,
        pairingPath: `/pair#code=${encodeURIComponent(secret)}`,
      },
      201,
    );
  });

  app.openapi(routes.revokeToken, (c) => {
    const { id } = c.req.valid("param");
    const revoked = store(c).revoke(id);
    if (revoked.length === 0) return c.json({ error: "no such credential" }, 404);
    options.onRevoked?.(revoked);
    log.info({ revoked, by: who(c) }, "credentials revoked (API)");
    return c.json({ revoked }, 200);
  });

  // ---- metrics ----

  app.openapi(routes.getMetrics, async (c) => {
    if (!options.metrics) throw new HTTPException(404, { message: "metrics are off" });
    const { contentType, body } = await options.metrics.scrape();
    return c.body(body, 200, { "content-type": contentType }) as never;
  });

  app.doc31("/api/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "device-rtc",
      version: "1",
      description:
        "The REST API of `device-rtc serve`: the device's status, its viewers and senders, recordings, " +
        "credentials and metrics. Every route but this document needs a credential; each names the least " +
        "role that may call it (x-device-rtc-role). Errors are JSON {error}.",
    },
  });
  return app;
}

function recordingError(c: Context, error: unknown) {
  if (error instanceof RecordingNotFoundError) return c.json({ error: "no such recording" }, 404 as const);
  if (error instanceof RecordingBusyError) return c.json({ error: error.message }, 409 as const);
  throw error;
}

/** The API as a node:http request listener (for AppServer and the metrics listener). */
export function apiListener(
  app: OpenAPIHono<ApiEnv>,
): (request: IncomingMessage, response: ServerResponse) => Promise<void> {
  // The listener's default: Request and Response become @hono/node-server's subclasses of Node's own
  // (cheaper for bodies that are read once); Hono's middleware (bodyLimit) builds Requests from them.
  return getRequestListener(app.fetch);
}
