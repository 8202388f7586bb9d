/**
 * The device's Prometheus metrics (prom-client, text format 0.0.4), served at `/metrics` on the admin
 * credential and, with `--metrics-port`, on a plain listener for scrapers (docs/ARCHITECTURE.md
 * "Status and metrics"). Gauges and the totals of live objects are read from `Device.status()` and the
 * recordings at each scrape; what happens to objects that are gone by then (ended sessions, restarted
 * processes) arrives through the diagnostics channels of src/common/instrumentation.ts and is added up
 * here. Node's own metrics (event-loop lag, heap, CPU) are prom-client's defaults.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { type ProcessRestarted, processRestarted } from "../common/instrumentation.ts";
import { type SessionEnded, sessionEnded } from "../device/PeerSession.ts";
import type { DeviceStatus, SessionMediaStats, SessionStatus } from "../device/status.ts";
import type { Recordings } from "../media/Recordings.ts";

export interface MetricsSources {
  /** The device's status; undefined before the device has started. */
  status: () => DeviceStatus | undefined;
  recordings?: Recordings | undefined;
  /** Versions for `device_rtc_info`. */
  versions?: () => Promise<Record<string, string>>;
}

type Peer = "viewer" | "sender";

/** What ended sessions contributed to the totals, by peer kind. */
interface EndedTotals {
  nacks: number;
  retransmissions: number;
  keyframeRequests: number;
  bytes: number;
}

const zero = (): EndedTotals => ({ nacks: 0, retransmissions: 0, keyframeRequests: 0, bytes: 0 });

function addSession(totals: EndedTotals, stats: Pick<SessionStatus, "video" | "audio">): void {
  for (const media of [stats.video, stats.audio] as Array<SessionMediaStats | undefined>) {
    if (!media) continue;
    totals.nacks += media.nacks;
    totals.retransmissions += media.retransmissions;
    totals.keyframeRequests += media.keyframeRequests;
    totals.bytes += media.bytes;
  }
}

export class Metrics {
  readonly registry = new Registry();
  readonly #sources: MetricsSources;
  readonly #ended: Record<Peer, EndedTotals> = { viewer: zero(), sender: zero() };
  readonly #onSessionEnded = (message: SessionEnded) => this.#sessionEnded(message);
  readonly #onProcessRestarted = (message: ProcessRestarted) =>
    this.#restarts.inc({ process: message.name, reason: message.endOfStream ? "end-of-stream" : "died" });
  readonly #sessionsEnded: Counter<"peer" | "reason">;
  readonly #iceFailures: Counter<"peer">;
  readonly #restarts: Counter<"process" | "reason">;
  #closed = false;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const metrics = this;
    const status = () => this.#sources.status();

    new Gauge({
      name: "device_rtc_info",
      help: "Always 1; the labels say what runs (device name and versions).",
      labelNames: ["name", "version", "node", "werift", "gstreamer"],
      registers,
      async collect() {
        const versions = (await metrics.#sources.versions?.()) ?? {};
        this.reset();
        this.set(
          {
            name: status()?.name ?? "",
            version: versions["device-rtc"] ?? "",
            node: versions.node ?? process.versions.node,
            werift: versions.werift ?? "",
            gstreamer: versions.gstreamer ?? "",
          },
          1,
        );
      },
    });
    new Gauge({
      name: "device_rtc_viewers",
      help: "Viewer sessions open now (browsers and other consumers watching the device).",
      registers,
      collect() {
        this.set(status()?.viewers.length ?? 0);
      },
    });
    new Gauge({
      name: "device_rtc_senders",
      help: "Sender sessions open now (browsers sending their microphone or camera to the device).",
      registers,
      collect() {
        this.set(status()?.senders.length ?? 0);
      },
    });
    new Gauge({
      name: "device_rtc_source_up",
      help: "1 while a source delivers, 0 while it is unavailable (the device sends a stand-in).",
      labelNames: ["kind", "source"],
      registers,
      collect() {
        this.reset();
        const sources = status()?.sources;
        if (!sources) return;
        for (const kind of ["video", "audio"] as const) {
          const source = sources[kind];
          if (source.state !== "none")
            this.set({ kind, source: source.kind }, source.state === "live" ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: "device_rtc_stream_bitrate_bits_per_second",
      help: "What each shared encoder sends, over the last few seconds.",
      labelNames: ["stream", "codec"],
      registers,
      collect() {
        this.reset();
        for (const stream of status()?.streams ?? [])
          this.set({ stream: stream.kind, codec: stream.codec }, stream.bitrate);
      },
    });
    new Gauge({
      name: "device_rtc_layer_bitrate_bits_per_second",
      help: "What each encoding (layer of the ladder) of a stream sends.",
      labelNames: ["stream", "codec", "layer"],
      registers,
      collect() {
        this.reset();
        for (const stream of status()?.streams ?? []) {
          for (const layer of stream.layers)
            this.set(
              { stream: stream.kind, codec: layer.codec ?? stream.codec, layer: layer.layer },
              layer.bitrate,
            );
        }
      },
    });
    const streamCounter = (
      name: string,
      help: string,
      value: (s: DeviceStatus["streams"][number]) => number,
      videoOnly = false,
    ) =>
      new Counter({
        name,
        help,
        labelNames: ["stream", "codec"],
        registers,
        collect() {
          // A total kept by the stream itself: set, not added (prom-client counters only have inc).
          this.reset();
          for (const stream of status()?.streams ?? [])
            if (!videoOnly || stream.kind === "video")
              this.inc({ stream: stream.kind, codec: stream.codec }, value(stream));
        },
      });
    streamCounter("device_rtc_stream_bytes_total", "RTP bytes each shared encoder produced.", (s) => s.bytes);
    streamCounter(
      "device_rtc_frames_encoded_total",
      "Video frames the shared encoder produced (RTP marker bits).",
      (s) => s.frames,
      true,
    );
    streamCounter(
      "device_rtc_keyframes_sent_total",
      "Keyframes the shared video encoder produced (each goes to every viewer).",
      (s) => s.keyframes,
      true,
    );
    streamCounter(
      "device_rtc_keyframe_requests_total",
      "Keyframe requests sent to the encoder (viewers joining or asking, debounced).",
      (s) => s.keyframeRequests,
      true,
    );
    const sessionCounter = (name: string, help: string, peer: Peer, field: keyof EndedTotals) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const totals = { ...metrics.#ended[peer] };
          const live = peer === "viewer" ? status()?.viewers : status()?.senders;
          for (const session of live ?? []) addSession(totals, session);
          this.reset();
          this.inc(totals[field]);
        },
      });
    sessionCounter("device_rtc_nacks_received_total", "NACKs received from viewers.", "viewer", "nacks");
    sessionCounter(
      "device_rtc_retransmissions_total",
      "Packets sent again to viewers after a NACK.",
      "viewer",
      "retransmissions",
    );
    sessionCounter(
      "device_rtc_viewer_keyframe_requests_total",
      "PLI and FIR received from viewers.",
      "viewer",
      "keyframeRequests",
    );
    sessionCounter("device_rtc_viewer_bytes_sent_total", "RTP bytes sent to viewers.", "viewer", "bytes");
    sessionCounter("device_rtc_nacks_sent_total", "NACKs sent to senders.", "sender", "nacks");
    sessionCounter(
      "device_rtc_sender_bytes_received_total",
      "RTP bytes received from senders.",
      "sender",
      "bytes",
    );
    this.#sessionsEnded = new Counter({
      name: "device_rtc_sessions_ended_total",
      help: "Sessions that ended, by peer kind and reason.",
      labelNames: ["peer", "reason"],
      registers,
    });
    this.#iceFailures = new Counter({
      name: "device_rtc_ice_failures_total",
      help: "Sessions that ended because ICE or DTLS failed (or stayed disconnected).",
      labelNames: ["peer"],
      registers,
    });
    for (const peer of ["viewer", "sender"]) this.#iceFailures.inc({ peer }, 0);
    this.#restarts = new Counter({
      name: "device_rtc_process_restarts_total",
      help: "GStreamer processes restarted: after dying, or at the end of a looping file.",
      labelNames: ["process", "reason"],
      registers,
    });
    const recordings = async () => (await this.#sources.recordings?.list()) ?? [];
    new Gauge({
      name: "device_rtc_recordings",
      help: "Recordings on disk.",
      labelNames: ["state"],
      registers,
      async collect() {
        const list = await recordings();
        this.set({ state: "active" }, list.filter((r) => r.active).length);
        this.set({ state: "finished" }, list.filter((r) => !r.active).length);
      },
    });
    new Gauge({
      name: "device_rtc_recording_bytes",
      help: "Bytes of recordings on disk (those being written included).",
      registers,
      async collect() {
        this.set((await recordings()).reduce((sum, r) => sum + r.bytes, 0));
      },
    });

    sessionEnded.subscribe(this.#onSessionEnded);
    processRestarted.subscribe(this.#onProcessRestarted);
  }

  /** The text a scraper gets, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stops listening to the hooks. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    sessionEnded.unsubscribe(this.#onSessionEnded);
    processRestarted.unsubscribe(this.#onProcessRestarted);
    this.registry.clear();
  }

  #sessionEnded(message: SessionEnded): void {
    addSession(this.#ended[message.role], message.stats);
    this.#sessionsEnded.inc({ peer: message.role, reason: message.reason });
    if (message.reason === "failed") this.#iceFailures.inc({ peer: message.role });
  }
}
