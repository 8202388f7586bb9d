/**
 * Who may register what, start which session and see whom — the router asks its policy at each of
 * these points. The open policy allows everything (the drop-in gst-webrtc-signalling-server); the device
 * policy is what `device-rtc serve` enforces (docs/SECURITY.md "Roles and identity").
 */
import { type Identity, maySend } from "../auth/roles.ts";
import { hasRole, type Meta, metaName, type PeerRole } from "../protocol/index.ts";

export interface PeerView {
  id: string;
  identity: Identity;
  roles: readonly PeerRole[];
  meta: Meta;
}

export interface AccessPolicy {
  /** Null when `peer` may take these roles and meta; otherwise the reason, sent back as an error. */
  register(peer: PeerView, roles: readonly PeerRole[], meta: Meta): string | null;
  /** Null when `from` may start a session with `to`; `to` is the producer or the passive consumer. */
  startSession(from: PeerView, to: PeerView): string | null;
  /** Whether `observer` learns of `subject` (status broadcasts, `list` and `listConsumers` replies). */
  canSee(observer: PeerView, subject: PeerView): boolean;
}

export const OPEN_POLICY: AccessPolicy = Object.freeze({
  register: () => null,
  startSession: () => null,
  canSee: () => true,
});

/** A name compared the way a person reads it: NFKC, case-folded, without spaces and invisible characters. */
function looksLike(name: string): string {
  return name
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\s\p{Cf}\p{Cc}]/gu, "");
}

/**
 * `serve`: one device, and browsers or GStreamer clients around it.
 * - Only the device registers as a passive consumer, under its name, or with an `echoOf` meta.
 * - Sending media (registering as producer, starting a session toward the device's consumer) needs
 *   the `talk` role or more.
 * - Sessions: anyone may watch the device's producers; the device's consumer receives from talkers;
 *   nobody but the device may start a session with another client's producer — a page that talks sends
 *   only to the device.
 * - Visibility: a client sees the device's peers and itself, never other clients.
 */
export class DevicePolicy implements AccessPolicy {
  readonly #deviceName: string;

  constructor(deviceName: string) {
    this.#deviceName = looksLike(deviceName);
  }

  register(peer: PeerView, roles: readonly PeerRole[], meta: Meta): string | null {
    if (isDevice(peer)) return null;
    if (hasRole(roles, "consumer")) return "only the device may register as a passive consumer";
    if (hasRole(roles, "producer") && !maySend(peer.identity.role)) {
      return `the ${peer.identity.role} role may not send media (register as producer)`;
    }
    const value = meta?.value;
    if (value !== null && typeof value === "object" && Object.hasOwn(value, "echoOf")) {
      return "only the device may register an echo (meta echoOf)";
    }
    const name = metaName(meta);
    if (name !== undefined && looksLike(name) === this.#deviceName) {
      return "that name belongs to the device";
    }
    return null;
  }

  startSession(from: PeerView, to: PeerView): string | null {
    if (isDevice(from)) return null;
    if (!isDevice(to)) return `peer ${to.id} accepts sessions from the device only`;
    if (hasRole(to.roles, "consumer") && !maySend(from.identity.role)) {
      return `the ${from.identity.role} role may not send media to the device`;
    }
    return null;
  }

  canSee(observer: PeerView, subject: PeerView): boolean {
    return observer.id === subject.id || isDevice(observer) || isDevice(subject);
  }
}

function isDevice(peer: PeerView): boolean {
  return peer.identity.role === "device";
}
