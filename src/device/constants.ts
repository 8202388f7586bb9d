/**
 * Every timing number of the device agent, named, with the reason for its value (Pion's
 * `constants.go` style). Media tuning lives in src/media/constants.ts.
 */

/**
 * How long a peer connection may stay ICE "disconnected" before the session is given up, ms — for
 * viewers and senders alike. Long enough for a phone to switch from Wi-Fi to LTE and for ICE consent
 * freshness (RFC 7675 §5.1: 30 s without a response means failed) to recover a path; short enough
 * that a vanished viewer's encoder share and a vanished talker's speaker slot come back soon.
 */
export const DISCONNECTED_GIVE_UP_MS = 10_000;

/**
 * How long a new sender's session waits for the server's `list` to learn the sender's name before
 * using the start of its peer id instead, ms. The reply comes in a round trip; this bounds a server
 * that never answers.
 */
export const SENDER_NAME_WAIT_MS = 2000;

/**
 * After a consumed producer's session ends (`--consume NAME`), look for it again after this long, ms:
 * a producer that restarts re-registers within a second or two, and a tight loop would hammer a
 * producer that rejects us.
 */
export const CONSUME_AGAIN_MS = 2000;

/** Connecting to the signalling server gives up after this long, ms: the GStreamer signaller's 20 s. */
export const SIGNALLING_CONNECT_TIMEOUT_MS = 20_000;

/** Closing the signalling WebSocket waits this long for the server's close frame before dropping it, ms. */
export const SIGNALLING_CLOSE_GRACE_MS = 1000;

/**
 * A negotiated media path that has carried no packet this long after ICE and DTLS connected is
 * reported with a warning, ms: a sender's first packets arrive within a frame or two of connecting,
 * so a few seconds of silence means the path is broken (an unrouted SSRC, a bundle-only section, an
 * encoder that died), not slow — and a failure that is silent is the hardest to find.
 */
export const NO_MEDIA_WARNING_MS = 5000;

/**
 * A keyframe request to a sender is repeated this often until the consumer that asked (a recorder,
 * an echo) has a keyframe, ms: a request or the keyframe itself can be lost, or arrive before the
 * consumer's pipeline listens. Browsers rate-limit their own keyframes to a few per second.
 */
export const KEYFRAME_RETRY_MS = 500;

/** Keyframe requests to a sender before giving up with a warning: 10 s of asking. */
export const KEYFRAME_RETRY_LIMIT = 20;

/**
 * How long a minted TURN credential opens new relays by default, s (`--turn-credential-ttl`): one day,
 * the lifetime draft-uberti-behave-turn-rest-00 §2.2 recommends (and coturn's test client uses). A
 * shorter one would narrow what a leaked credential is good for, but its expiry is read from the
 * device's clock and checked against the TURN server's: a device without a real-time clock (a
 * Raspberry Pi) may run hours behind until NTP catches up, and would then mint credentials that are
 * already expired. Calls outlive it (a TURN server checks new allocations only), the device mints per
 * session, and the page fetches new ones at half of it.
 */
export const TURN_CREDENTIAL_TTL_SECONDS = 86_400;

/** The shortest `--turn-credential-ttl`, s: a page must be able to fetch new ones at half of it. */
export const TURN_CREDENTIAL_TTL_MIN_SECONDS = 60;

/** The longest `--turn-credential-ttl`, s (a week): beyond that a leaked credential is as good as a password. */
export const TURN_CREDENTIAL_TTL_MAX_SECONDS = 7 * 86_400;
