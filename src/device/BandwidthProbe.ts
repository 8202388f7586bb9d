/**
 * Padding sent to one viewer for a bandwidth probe ({@link LayerPolicy}): re-sends of its newest
 * packets over RTX (werift patch 009, `sendRtxPadding`), paced in 20 ms slices at a given rate for a
 * given time, so that what the viewer receives rises to what the layer above would send. The receiver
 * drops the duplicates; its delay-based estimate falls if the link cannot carry the sum.
 *
 * A sender report goes with the padding every {@link SENDER_REPORT_EVERY_MS} (werift patch 012,
 * `sendSenderReport`): the round trip of the receiver reports that answer them (RFC 3550 §6.4.1) is the
 * queue the padding built, within a fraction of the probe. werift's own come every 0.5–1.5 s, and a probe
 * the link could not carry was seen 600–800 ms into it (bench/network S4), its queue by then most of a
 * second long.
 */
import type { RTCRtpSender } from "werift";

/** The pacing slice, ms: small enough that the padding is spread, not one burst. */
const SLICE_MS = 20;
/** How often a sender report goes with the padding, ms. */
const SENDER_REPORT_EVERY_MS = 100;

export class BandwidthProbe {
  readonly #sender: RTCRtpSender;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(sender: RTCRtpSender) {
    this.#sender = sender;
  }

  /** Whether the viewer can be probed: padding goes over RTX, which it must have negotiated. */
  static available(sender: RTCRtpSender): boolean {
    return (sender as unknown as { rtxPayloadType: number | undefined }).rtxPayloadType !== undefined;
  }

  /** Sends `bps` of padding for `ms` (a probe already running is replaced). */
  start(bps: number, ms: number): void {
    this.stop();
    if (this.#closed || bps <= 0) return;
    const endsAt = performance.now() + ms;
    const bytesPerSlice = (bps / 8) * (SLICE_MS / 1000);
    let owed = 0;
    let slice = 0;
    this.#timer = setInterval(() => {
      if (performance.now() >= endsAt) return this.stop();
      if (slice++ % (SENDER_REPORT_EVERY_MS / SLICE_MS) === 0) void this.#sender.sendSenderReport();
      owed += bytesPerSlice;
      const sent = this.#sender.sendRtxPadding(owed);
      // A packet is sent whole: what went over is taken from the next slice.
      owed -= sent;
      if (sent === 0) owed = 0;
    }, SLICE_MS);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  close(): void {
    this.#closed = true;
    this.stop();
  }
}
