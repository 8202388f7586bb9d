/**
 * Loopback-only networking for tests. `npm test` runs the suite inside a network namespace that has
 * only `lo` (scripts/in-netns); when that is not possible, every peer is configured to use loopback
 * addresses only, so no WebRTC or mDNS packet is aimed anywhere but 127.0.0.1.
 */
import { networkInterfaces } from "node:os";

/** True when this process can only reach loopback (inside `unshare -n` with `lo` up). */
export function inLoopbackOnlyNamespace(): boolean {
  const interfaces = networkInterfaces();
  return Object.entries(interfaces).every(([, addresses]) =>
    (addresses ?? []).every((address) => address.internal),
  );
}

/**
 * Chromium flags for WebRTC tests: loopback candidates allowed (without this Chromium gathers nothing in
 * a lo-only namespace), host addresses not hidden behind mDNS names, fake camera and microphone, and no
 * background traffic to Google's services.
 */
export const CHROMIUM_WEBRTC_ARGS = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-features=WebRtcHideLocalIpsWithMdns,MediaRouter,OptimizationHints,Translate",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--allow-loopback-in-peer-connection",
  "--autoplay-policy=no-user-gesture-required",
];

/**
 * Chromium flags on the network test bed: fake camera and microphone and no background traffic, but
 * Chromium's own default ICE settings (mDNS host candidates, no loopback candidates), as a user has.
 */
export const CHROMIUM_BED_ARGS = CHROMIUM_WEBRTC_ARGS.filter(
  (flag) => flag !== "--allow-loopback-in-peer-connection" && !flag.startsWith("--disable-features="),
).concat(["--disable-features=MediaRouter,OptimizationHints,Translate"]);
