/**
 * The metrics' hooks: events the domain objects publish on `node:diagnostics_channel` channels, and
 * that `src/metrics` subscribes to. A channel without subscribers costs one boolean check, so the
 * device runs the same with or without metrics, and no object needs a metrics parameter. Snapshots
 * (gauges, totals of live objects) are read from `Device.status()` at each scrape instead.
 *
 * Channels: `processRestarted` here (GstProcess), `sessionEnded` in src/device/PeerSession.ts.
 */
import { channel } from "node:diagnostics_channel";

/** A diagnostics channel whose messages have one type. */
export interface TypedChannel<Message> {
  readonly hasSubscribers: boolean;
  publish(message: Message): void;
  subscribe(listener: (message: Message) => void): void;
  unsubscribe(listener: (message: Message) => void): boolean;
}

export function typedChannel<Message>(name: string): TypedChannel<Message> {
  return channel(name) as unknown as TypedChannel<Message>;
}

/** A supervised GStreamer process was restarted after it died (or looped at an end of stream). */
export interface ProcessRestarted {
  /** The process's name (`video-encoder`, `audio-encoder`, `speaker`, `echo-encoder` …). */
  name: string;
  /** Whether it had ended cleanly (a looping file) rather than died. */
  endOfStream: boolean;
}

export const processRestarted = typedChannel<ProcessRestarted>("device-rtc:process-restarted");
