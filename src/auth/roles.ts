/**
 * Who a connection is, as the signalling router sees it (docs/SECURITY.md "Roles"):
 * - `view`: watch and listen to the device;
 * - `talk`: also send microphone and camera to the device;
 * - `admin`: also manage tokens, recordings and settings;
 * - `device`: the device itself (the in-process device of `serve`, or `device-rtc device --token-file`).
 */
export const ROLES = ["view", "talk", "admin"] as const;
export type Role = (typeof ROLES)[number];
export type PeerRoleName = Role | "device";

export interface Identity {
  /** The credential presented (a token, a browser session, the device's own); undefined on an open server. */
  credentialId: string | undefined;
  role: PeerRoleName;
  /**
   * What per-credential limits count together: the token a browser session came from (every browser
   * that opened a token's link shares its limits), else the credential itself.
   */
  limitGroup?: string | undefined;
}

/** The key per-credential limits use; undefined on an open server. */
export function limitGroupOf(identity: Identity): string | undefined {
  return identity.limitGroup ?? identity.credentialId;
}

/** The identity of every peer of an open server: no credential, anything allowed. */
export const OPEN_IDENTITY: Identity = Object.freeze({ credentialId: undefined, role: "admin" });

/** Whether `role` may send media (microphone, camera) to the device. */
export function maySend(role: PeerRoleName): boolean {
  return role === "talk" || role === "admin" || role === "device";
}

/** Whether `role` may do what `least` may (view < talk < admin). */
export function hasRole(role: Role, least: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(least);
}
