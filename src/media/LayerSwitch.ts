/**
 * One viewer's path through the ladder: it takes the packets of one layer (one shared encoding) and
 * moves the viewer to another only at a keyframe of that layer, so the viewer sees one continuous
 * stream — the same SSRC (werift's sender writes its own), sequence numbers that follow on by one and
 * timestamps that follow the wall clock (RFC 3550 §5.1), as across an encoder restart.
 *
 * A switch: a keyframe is asked of the target layer, its packets are watched (not forwarded) until a
 * keyframe starts (docs/MEDIA.md §4; src/media/rtpPayload.ts), and the current layer goes on meanwhile.
 * When the keyframe starts while the current layer is in the middle of a frame, the target's packets
 * wait until that frame's last packet (its marker bit, RFC 3550 §5.1) has gone, so no frame is cut.
 * A keyframe that does not come is asked for again.
 */
import type { Logger } from "../common/logger.ts";
import type { VideoCodecName } from "./codecs.ts";
import { LAYER_SWITCH_HELD_PACKETS, LAYER_SWITCH_RETRY_MS } from "./constants.ts";
import { RtpContinuity } from "./RtpContinuity.ts";
import { isKeyframeStart } from "./rtpPayload.ts";
import type { StreamLayer } from "./StreamLayer.ts";

/** What a switch needs of a layer (a {@link StreamLayer}, or a test double). */
export type SwitchableLayer = Pick<StreamLayer, "subscribe" | "requestKeyframe" | "label">;

export interface LayerSwitchOptions {
  /** The encodings, best first. */
  layers: readonly SwitchableLayer[];
  codec: VideoCodecName;
  /** The layer to start on. */
  start: number;
  /** Where the viewer's packets go (its own copies: rewritten here). */
  send: (packet: Buffer) => void;
  clockRate: number;
  logger: Logger;
}

export class LayerSwitch {
  readonly #layers: readonly SwitchableLayer[];
  readonly #codec: VideoCodecName;
  readonly #send: (packet: Buffer) => void;
  readonly #continuity: RtpContinuity;
  readonly #log: Logger;
  #current: number;
  #target: number | undefined;
  /** The layers subscribed to (the current one, and the target while switching): their unsubscribers. */
  readonly #subscriptions = new Map<number, () => void>();
  /** The target's packets from its keyframe on, waiting for the current frame to end. */
  #held: Buffer[] | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** The last packet forwarded ended a frame (its marker bit). */
  #atFrameEnd = true;
  #switches = 0;
  #closed = false;

  constructor(options: LayerSwitchOptions) {
    this.#layers = options.layers;
    this.#codec = options.codec;
    this.#send = options.send;
    this.#continuity = new RtpContinuity(options.clockRate);
    this.#log = options.logger;
    this.#current = options.start;
    this.#subscribe(options.start);
  }

  /** The layer the viewer is on. */
  get current(): number {
    return this.#current;
  }

  /** The label of the layer the viewer is on (its size). */
  get currentLabel(): string {
    return this.#label(this.#current);
  }

  /** The layer it is moving to, until that layer's keyframe arrives. */
  get target(): number | undefined {
    return this.#target;
  }

  /** Layer changes completed. */
  get switches(): number {
    return this.#switches;
  }

  /** Moves the viewer to layer `index` at that layer's next keyframe (asked for now). */
  switchTo(index: number, reason: string): void {
    if (this.#closed || index < 0 || index >= this.#layers.length) return;
    if (index === this.#current) {
      this.#cancelTarget();
      return;
    }
    if (index === this.#target) return;
    this.#cancelTarget();
    const layer = this.#layers[index] as SwitchableLayer;
    this.#target = index;
    this.#subscribe(index);
    this.#log.debug({ from: this.#label(this.#current), to: layer.label, reason }, "layer switch asked");
    layer.requestKeyframe(`viewer moving to ${layer.label}`);
    this.#retry = setInterval(
      () => layer.requestKeyframe("layer switch: no keyframe yet"),
      LAYER_SWITCH_RETRY_MS,
    );
  }

  /** Asks the viewer's current layer for a keyframe (the viewer lost its picture). */
  requestKeyframe(reason: string): void {
    this.#layers[this.#current]?.requestKeyframe(reason);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelTarget();
    for (const unsubscribe of this.#subscriptions.values()) unsubscribe();
    this.#subscriptions.clear();
  }

  /**
   * One sink per layer, whatever its role: a sink added to a fan-out while that fan-out is writing
   * would be handed the same packet again, so a switch changes roles, not subscriptions.
   */
  #subscribe(index: number): void {
    if (this.#subscriptions.has(index)) return;
    const layer = this.#layers[index] as SwitchableLayer;
    this.#subscriptions.set(
      index,
      layer.subscribe({
        write: (packet) => {
          if (this.#closed) return;
          if (index === this.#current) this.#fromCurrent(index, packet);
          else if (index === this.#target) this.#fromTarget(packet);
        },
      }),
    );
  }

  #unsubscribe(index: number): void {
    this.#subscriptions.get(index)?.();
    this.#subscriptions.delete(index);
  }

  #fromCurrent(index: number, packet: Buffer): void {
    this.#forward(index, packet);
    if (this.#held && this.#atFrameEnd) this.#commit();
  }

  #fromTarget(packet: Buffer): void {
    if (this.#held) {
      this.#held.push(Buffer.from(packet));
      // The current layer stopped mid-frame: switch anyway.
      if (this.#held.length >= LAYER_SWITCH_HELD_PACKETS) this.#commit();
      return;
    }
    if (!isKeyframeStart(this.#codec, packet)) return;
    this.#held = [Buffer.from(packet)];
    if (this.#atFrameEnd) this.#commit();
  }

  /** The target becomes current: its held packets go out, the old layer is left. */
  #commit(): void {
    const index = this.#target;
    const held = this.#held ?? [];
    if (index === undefined) return;
    const from = this.#current;
    this.#unsubscribe(from);
    this.#current = index;
    this.#target = undefined;
    this.#held = undefined;
    clearInterval(this.#retry);
    this.#retry = undefined;
    this.#switches++;
    for (const packet of held) this.#forward(index, packet, false);
    this.#log.debug({ from: this.#label(from), to: this.#label(index) }, "layer switched");
  }

  #forward(index: number, packet: Buffer, copy = true): void {
    // Borrowed from the layer's fan-out (src/media/RtpSink.ts): rewrite a copy.
    const own = copy ? Buffer.from(packet) : packet;
    if (!this.#continuity.rewriteFrom(this.#layers[index], own)) return;
    this.#atFrameEnd = ((own[1] as number) & 0x80) !== 0;
    this.#send(own);
  }

  #cancelTarget(): void {
    if (this.#target !== undefined && this.#target !== this.#current) this.#unsubscribe(this.#target);
    this.#target = undefined;
    this.#held = undefined;
    clearInterval(this.#retry);
    this.#retry = undefined;
  }

  #label(index: number): string {
    return this.#layers[index]?.label ?? String(index);
  }
}
