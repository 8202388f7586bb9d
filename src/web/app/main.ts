/**
 * The device-rtc web app: watch and hear the device, talk to it, show it your camera. Built on
 * gstwebrtc-api 3.0.0 (the GStreamer WebRTC ecosystem's browser library), unmodified.
 *
 * - It opens straight on the device's stream; other producers are listed and viewable.
 * - "Talk" and "Camera" send the microphone and camera to the device's passive consumer
 *   (createProducerSessionForConsumer); the device's echo of the camera (a producer whose meta
 *   `echoOf` is our peer id) is shown beside the preview.
 * - gstwebrtc-api reconnects after a server restart (with a new peer id); the app then views the
 *   device again and resumes what it was sending.
 * - Around the stage: clear states for "device offline", "camera unavailable" (the device's
 *   `GET /api/status`, docs/ARCHITECTURE.md "Status and metrics") and "not allowed" (a role that may
 *   not talk); a snapshot button; the recordings panel for admins (recordings.ts).
 */
import GstWebRTCAPI from "gstwebrtc-api";
import type ConsumerSession from "gstwebrtc-api/types/consumer-session.js";
import type { Peer } from "gstwebrtc-api/types/gstwebrtc-api.js";
import type ProducerSession from "gstwebrtc-api/types/producer-session.js";
import { ApiError, apiJson, type DeviceStatus } from "./api.ts";
import { RecordingsPanel } from "./recordings.ts";
import { download, type Snapshot, snapshotOf } from "./snapshot.ts";
import { StatsPanel } from "./stats.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  title: $("title"),
  status: $("status"),
  remote: $<HTMLVideoElement>("remote"),
  unmute: $<HTMLButtonElement>("unmute"),
  message: $("message"),
  notice: $("notice"),
  talk: $<HTMLButtonElement>("talk"),
  camera: $<HTMLButtonElement>("camera"),
  snapshot: $<HTMLButtonElement>("snapshot"),
  roleNote: $("role-note"),
  localArea: $("local-area"),
  local: $<HTMLVideoElement>("local"),
  echoFigure: $("echo-figure"),
  echo: $<HTMLVideoElement>("echo"),
  producers: $<HTMLUListElement>("producers"),
};

const params = new URLSearchParams(location.search);
/** How long a connected page waits for the device's producer before it says the device is offline. */
const DEVICE_WAIT_MS = 4000;
/** How often the page asks the device how it is (camera available or not). */
const STATUS_POLL_MS = 5000;
/** The signalling server: this page's own origin (any path upgrades), or `?signalling=`. */
const signallingUrl =
  params.get("signalling") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`;

interface AppConfig {
  /** The device's producer and consumer name. */
  deviceName?: string;
  /** What this browser may do (docs/SECURITY.md "Roles"). */
  role?: "view" | "talk" | "admin";
  /** No authentication on this server (`--open`). */
  open?: boolean;
  /** The device's STUN and TURN servers (`--ice-server`), TURN credentials minted for this browser. */
  iceServers?: RTCIceServer[];
  /** With minted TURN credentials: how long they open new relays, s. */
  iceServersValidSeconds?: number;
}

const state = {
  clientId: "",
  connected: false,
  everConnected: false,
  deviceName: undefined as string | undefined,
  /** /config.json has arrived (its ICE servers are needed before the first session). */
  configured: false,
  producers: new Map<string, Peer>(),
  consumers: new Map<string, Peer>(),
  /** The producer shown on the stage. */
  watching: undefined as { id: string; name: string; session: ConsumerSession } | undefined,
  /** The user's choice, kept across reconnections. */
  send: { audio: false, video: false },
  sending: undefined as ProducerSession | undefined,
  echo: undefined as { id: string; session: ConsumerSession } | undefined,
  /** The `view` role may watch and listen only. */
  maySend: true,
  /** The last snapshot taken (also handy for tests). */
  lastSnapshot: undefined as Snapshot | undefined,
  /** What the device said last about itself (`GET /api/status`). */
  deviceStatus: undefined as DeviceStatus | undefined,
};

function setStatus(text: string, kind: "ok" | "bad" | "" = ""): void {
  ui.status.textContent = text;
  ui.status.className = `status ${kind}`;
}

function showMessage(text: string | undefined, kind: "offline" | "" = ""): void {
  ui.message.hidden = text === undefined;
  ui.message.textContent = text ?? "";
  ui.message.className = `message ${kind}`;
}

/** A notice on the picture that does not hide it (the camera is unavailable: a stand-in is shown). */
function showNotice(text: string | undefined): void {
  ui.notice.hidden = text === undefined;
  ui.notice.textContent = text ?? "";
}

/** The notice the stage needs now: video this browser cannot play, or a camera that is away. */
function renderNotice(): void {
  // Read from the session's descriptions each time (also on every status poll), not only on its events:
  // on CI one page in a dozen saw its last event before the answer was applied and showed no notice.
  const refused = state.watching !== undefined && videoRefused(state.watching.session.rtcPeerConnection);
  showNotice(
    refused
      ? "This browser cannot play the device's video (it sends VP8 or H.264): you hear its sound only. " +
          "Chrome, Edge, Firefox and Safari play it."
      : state.deviceStatus?.sources.video.state === "unavailable"
        ? "Camera unavailable: the device shows a test picture until its camera is back."
        : undefined,
  );
}

/**
 * Whether the session's video section was rejected — by this browser (it decodes none of the codecs
 * offered) or by the device (none of those this browser offered): in the answer, a video section with
 * port 0 (RFC 3264 §6; an answer has no bundle-only sections). A stopped transceiver is gone from
 * getTransceivers(), so the answer is what tells.
 */
function videoRefused(pc: RTCPeerConnection | null): boolean {
  const local = pc?.currentLocalDescription;
  const answer = local?.type === "answer" ? local : pc?.currentRemoteDescription;
  return answer?.type === "answer" && /^m=video 0 /m.test(answer.sdp);
}

/** The device is not there: no connection, or connected but the device's producer is gone. */
function showOffline(reason: "no-connection" | "not-sending"): void {
  ui.snapshot.disabled = true;
  showMessage(
    reason === "no-connection"
      ? "The device is offline: no connection. Trying again…"
      : "The device is offline: it is not sending. This page shows it as soon as it is back.",
    "offline",
  );
}

const nameOf = (peer: Peer) => (typeof peer.meta.name === "string" ? peer.meta.name : peer.id.slice(0, 8));
const echoOf = (peer: Peer) => (typeof peer.meta.echoOf === "string" ? peer.meta.echoOf : undefined);

/**
 * Every session's RTCPeerConnection settings. The ICE servers are the device's, from /config.json (on a
 * LAN there are none: no STUN server is needed, and none is reachable from a device without internet;
 * never gstwebrtc-api's default public STUN servers). gstwebrtc-api 3.0.0 keeps this object by
 * reference (GstWebRTCAPI.connectChannel → ComChannel.webrtcConfig → new RTCPeerConnection), so
 * TURN credentials fetched later reach the sessions started after them.
 */
const webrtcConfig: RTCConfiguration = { iceServers: [], bundlePolicy: "max-bundle" };

const api = new GstWebRTCAPI({
  signalingServerUrl: signallingUrl,
  meta: { name: `web-${Math.random().toString(36).slice(2, 8)}` },
  reconnectionTimeout: 2000,
  webrtcConfig,
});

const stats = new StatsPanel(() => state.watching?.session.rtcPeerConnection ?? null);

// ---- connection ----

const unreachable = setTimeout(() => {
  if (state.everConnected) return;
  const secure = signallingUrl.startsWith("wss:");
  showMessage(
    `Cannot reach the signalling server at ${signallingUrl}.` +
      (secure
        ? " If it uses a certificate from device-rtc's certificate authority, this browser must trust that CA " +
          "(download it with the link below), or open that address once and accept its certificate."
        : " Is device-rtc running?"),
  );
  setStatus("unreachable", "bad");
}, 5000);

api.registerConnectionListener({
  connected(clientId) {
    state.clientId = clientId;
    state.connected = true;
    state.everConnected = true;
    clearTimeout(unreachable);
    setStatus("connected", "ok");
    if (!state.watching) showMessage("Waiting for the device…");
    // Connected, but the device's producer never shows up: it is offline.
    window.setTimeout(() => {
      if (state.connected && !state.watching && ![...state.producers.values()].some(isDevice))
        showOffline("not-sending");
    }, DEVICE_WAIT_MS);
    ui.talk.disabled = !state.maySend;
    ui.camera.disabled = !state.maySend;
  },
  disconnected() {
    state.connected = false;
    setStatus("reconnecting…", "bad");
    // The API closed every session; they are reopened when the server is back.
    state.watching = undefined;
    state.sending = undefined;
    state.echo = undefined;
    ui.echoFigure.hidden = true;
    ui.snapshot.disabled = true;
    // Nothing to talk to until the connection is back (connected() enables them again).
    ui.talk.disabled = true;
    ui.camera.disabled = true;
    if (state.everConnected) showOffline("no-connection");
    // Logged out, or this browser's access was revoked: the login page says what to do. Otherwise the
    // sessions opened after the reconnection get fresh TURN credentials.
    void fetch("config.json", { cache: "no-store", credentials: "same-origin" })
      .then(async (response) => {
        if (response.status === 401 && !params.has("signalling")) toLoginPage();
        else if (response.ok) useIceServers((await response.json()) as AppConfig);
      })
      .catch(() => {});
  },
});

api.registerPeerListener({
  producerAdded(peer) {
    state.producers.set(peer.id, peer);
    renderProducers();
    if (echoOf(peer) === state.clientId && state.clientId) watchEcho(peer);
    // Before /config.json, a session would have no ICE servers: the config's arrival watches it.
    else if (state.configured && !state.watching && isDevice(peer)) watch(peer);
  },
  producerRemoved(peer) {
    state.producers.delete(peer.id);
    renderProducers();
    if (state.echo?.id === peer.id) {
      state.echo = undefined;
      ui.echoFigure.hidden = true;
    }
  },
  consumerAdded(peer) {
    state.consumers.set(peer.id, peer);
    // The device's receiver is back (after a restart): resume sending.
    if (isDevice(peer) && (state.send.audio || state.send.video) && !state.sending) void restartSending();
  },
  consumerRemoved(peer) {
    state.consumers.delete(peer.id);
  },
});

/**
 * The device's own producer. With authentication the server shows this page only the device's peers
 * (and refuses the device's name and `echoOf` to anyone else), so any non-echo producer is the device;
 * on an open server the name from /config.json picks it.
 */
function isDevice(peer: Peer): boolean {
  if (echoOf(peer)) return false;
  return state.deviceName === undefined || nameOf(peer) === state.deviceName;
}

// ---- watching ----

function watch(peer: Peer): void {
  state.watching?.session.close();
  const session = api.createConsumerSession(peer.id);
  if (!session) return;
  state.watching = { id: peer.id, name: nameOf(peer), session };
  ui.title.textContent = nameOf(peer);
  showMessage(`Connecting to ${nameOf(peer)}…`);
  let watched: RTCPeerConnection | null = null;
  const checkVideo = () => {
    if (state.watching?.session !== session) return;
    const pc = session.rtcPeerConnection;
    // The answer may be applied after the session's last event (its tracks come with the offer):
    // the connection's signalling state says when it is.
    if (pc && pc !== watched) {
      watched = pc;
      pc.addEventListener("signalingstatechange", checkVideo);
    }
    renderNotice();
  };
  session.addEventListener("streamsChanged", () => {
    checkVideo();
    const stream = session.streams[0];
    if (!stream) return;
    ui.remote.srcObject = stream;
    void play(ui.remote);
  });
  session.addEventListener("stateChanged", checkVideo);
  session.addEventListener("closed", () => {
    if (state.watching?.session !== session) return;
    state.watching = undefined;
    renderNotice();
    ui.remote.srcObject = null;
    showOffline("not-sending");
    // If it is still listed (a network failure rather than a stop), try again.
    const again = [...state.producers.values()].find((p) => isDevice(p));
    if (again && state.connected) setTimeout(() => !state.watching && watch(again), 1000);
  });
  session.addEventListener("error", (event) => console.warn("viewing error", (event as ErrorEvent).message));
  ui.remote.onplaying = () => {
    checkVideo();
    showMessage(undefined);
    ui.snapshot.disabled = false;
  };
  session.connect();
  renderProducers();
}

/** Plays with sound if the browser allows it; otherwise muted, with a button to unmute. */
async function play(video: HTMLVideoElement): Promise<void> {
  video.muted = false;
  try {
    await video.play();
    ui.unmute.hidden = true;
  } catch {
    video.muted = true;
    ui.unmute.hidden = false;
    await video.play().catch(() => {});
  }
}

ui.unmute.addEventListener("click", () => {
  ui.remote.muted = false;
  void ui.remote.play();
  ui.unmute.hidden = true;
});

function renderProducers(): void {
  ui.producers.replaceChildren(
    ...[...state.producers.values()].map((peer) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = nameOf(peer);
      button.setAttribute("aria-pressed", String(state.watching?.id === peer.id));
      button.addEventListener("click", () => watch(peer));
      item.append(button);
      return item;
    }),
  );
}

// ---- sending ----

function deviceConsumer(): Peer | undefined {
  return [...state.consumers.values()].find((peer) => isDevice(peer));
}

/**
 * Restarts run one after another, and one that a newer click has overtaken gives way: Talk then Camera
 * in quick succession open one session with both, never two racing for the camera (Firefox ends the
 * second capture when the first one's tracks stop).
 */
let sendingGeneration = 0;
let sendingQueue: Promise<void> = Promise.resolve();

function restartSending(): Promise<void> {
  const generation = ++sendingGeneration;
  sendingQueue = sendingQueue
    .then(() => (generation === sendingGeneration ? sendAsChosen(generation) : undefined))
    .catch((error: unknown) => console.warn("sending failed", error));
  return sendingQueue;
}

async function sendAsChosen(generation: number): Promise<void> {
  await configured; // the ICE servers
  state.sending?.close();
  state.sending = undefined;
  for (const track of (ui.local.srcObject as MediaStream | null)?.getTracks() ?? []) track.stop();
  ui.local.srcObject = null;
  const { audio, video } = state.send;
  ui.talk.setAttribute("aria-pressed", String(audio));
  ui.camera.setAttribute("aria-pressed", String(video));
  ui.localArea.hidden = !video;
  if (!audio && !video) return;
  const consumer = deviceConsumer();
  if (!consumer) {
    showMessage("The device does not accept audio or video right now.");
    return;
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: audio ? { echoCancellation: true, noiseSuppression: true } : false,
      video: video ? { width: { ideal: 640 }, height: { ideal: 480 } } : false,
    });
  } catch (error) {
    state.send = { audio: false, video: false };
    ui.talk.setAttribute("aria-pressed", "false");
    ui.camera.setAttribute("aria-pressed", "false");
    ui.localArea.hidden = true;
    showMessage(
      (error as Error).name === "NotAllowedError"
        ? "This browser did not allow the microphone or camera."
        : `No microphone or camera: ${(error as Error).message}`,
    );
    return;
  }
  if (generation !== sendingGeneration) {
    // Talk and Camera clicked in quick succession: only the latest choice sends (one session, not two).
    for (const track of stream.getTracks()) track.stop();
    return;
  }
  if (video) ui.local.srcObject = stream;
  const session = api.createProducerSessionForConsumer(stream, consumer.id);
  if (!session) return;
  state.sending = session;
  session.addEventListener("closed", () => {
    if (state.sending === session) state.sending = undefined;
  });
  session.addEventListener("error", (event) => console.warn("sending error", (event as ErrorEvent).message));
  session.start();
}

ui.snapshot.addEventListener("click", () => {
  void snapshotOf(ui.remote, state.watching?.name ?? state.deviceName ?? "device").then((snapshot) => {
    if (!snapshot) return;
    state.lastSnapshot = snapshot;
    download(snapshot.blob, snapshot.name);
  });
});

ui.talk.addEventListener("click", () => {
  state.send.audio = !state.send.audio;
  void restartSending();
});
ui.camera.addEventListener("click", () => {
  state.send.video = !state.send.video;
  void restartSending();
});

function watchEcho(peer: Peer): void {
  state.echo?.session.close();
  const session = api.createConsumerSession(peer.id);
  if (!session) return;
  state.echo = { id: peer.id, session };
  session.addEventListener("streamsChanged", () => {
    const stream = session.streams[0];
    if (!stream) return;
    ui.echo.srcObject = stream;
    ui.echoFigure.hidden = false;
    void ui.echo.play().catch(() => {});
  });
  session.connect();
}

// ---- start ----

let leaving = false;
/**
 * Sends the page to the login page, once. Both the config request and the signalling's reconnection
 * find out about a 401; a second navigation would abort the first (Chromium: net::ERR_ABORTED).
 */
function toLoginPage(): void {
  if (leaving) return;
  leaving = true;
  location.replace("/login");
}

async function loadConfig(): Promise<AppConfig> {
  if (params.has("signalling")) return {};
  try {
    const response = await fetch("config.json", { cache: "no-store", credentials: "same-origin" });
    if (response.status === 401) {
      // Not paired yet (or logged out): the login page explains how. The app does not start.
      toLoginPage();
      return new Promise<AppConfig>(() => {});
    }
    return response.ok ? ((await response.json()) as AppConfig) : {};
  } catch {
    return {};
  }
}

/** How long before minted TURN credentials expire the page fetches new ones: at half their lifetime. */
const ICE_REFRESH_FRACTION = 0.5;
let iceRefreshTimer: number | undefined;

/** Takes the device's ICE servers for the sessions to come, and fetches new TURN credentials in time. */
function useIceServers(config: AppConfig): void {
  if (!Array.isArray(config.iceServers)) return;
  webrtcConfig.iceServers = config.iceServers;
  window.clearTimeout(iceRefreshTimer);
  const seconds = config.iceServersValidSeconds;
  if (typeof seconds !== "number" || !(seconds > 0)) return;
  iceRefreshTimer = window.setTimeout(
    () => {
      void fetch("config.json", { cache: "no-store", credentials: "same-origin" })
        .then(async (response) =>
          response.ok ? useIceServers((await response.json()) as AppConfig) : undefined,
        )
        .catch(() => {});
    },
    seconds * 1000 * ICE_REFRESH_FRACTION,
  );
}

// ---- the device's state, and what this browser may do ----

const recordings = new RecordingsPanel({
  panel: $("recordings"),
  list: $<HTMLUListElement>("recordings-list"),
  message: $("recordings-message"),
  refresh: $<HTMLButtonElement>("recordings-refresh"),
  playerFigure: $("player-figure"),
  player: $<HTMLVideoElement>("player"),
  playerCaption: $("player-caption"),
});

/** Asks the device how it is (`GET /api/status`): a camera that is unavailable gets a notice. */
async function pollStatus(): Promise<void> {
  try {
    const status = await apiJson<DeviceStatus>("/api/status");
    state.deviceStatus = status;
    renderNotice();
  } catch (error) {
    // 401: logged out (the signalling side sends the page to the login page); 404: no API here.
    if (error instanceof ApiError && error.status === 404) window.clearInterval(statusTimer);
  }
}
let statusTimer: number | undefined;

/** What the role allows, said once, next to the controls (docs/SECURITY.md "Roles"). */
function applyRole(role: AppConfig["role"]): void {
  state.maySend = role !== "view";
  if (!state.maySend) {
    ui.talk.disabled = true;
    ui.camera.disabled = true;
    ui.talk.title = ui.camera.title = "This browser may watch and listen only (view role).";
    ui.roleNote.textContent =
      "Not allowed to talk or show your camera: this browser may watch and listen only (view role). " +
      "Ask the device's owner for a talk link.";
    ui.roleNote.hidden = false;
  }
  if (role === "admin") recordings.show();
  else recordings.hide();
}

const configured = loadConfig();
void configured.then((config) => {
  useIceServers(config);
  state.configured = true;
  state.deviceName = config.deviceName;
  applyRole(config.role);
  if (!params.has("signalling")) {
    void pollStatus();
    statusTimer = window.setInterval(() => void pollStatus(), STATUS_POLL_MS);
  }
  if (config.deviceName) ui.title.textContent = config.deviceName;
  // Producers listed before the config arrived.
  for (const peer of state.producers.values()) if (!state.watching && isDevice(peer)) watch(peer);
});
stats.start();

// For tests and curious users: the app's state in the console.
Object.assign(window, { deviceRtc: { state, api, recordings } });
