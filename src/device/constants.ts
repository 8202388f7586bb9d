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

// ---- Moving a viewer between the ladder's layers (src/device/LayerPolicy.ts) ----

/**
 * Bit/s kept aside for audio before a video layer is chosen: Opus at 64 kbit/s plus its RTP/SRTP,
 * UDP and IP headers at 50 packets a second.
 */
export const LAYER_AUDIO_RESERVE_BPS = 90_000;
/**
 * A layer fits when its bitrate times this is within the estimate: encoders overshoot their target on
 * busy pictures and keyframes (vp8enc by about 15 %), and a link run at its limit queues.
 */
export const LAYER_HEADROOM = 1.2;
/** Receiver-reported loss (fraction), on average over {@link LAYER_LOSS_WINDOW_MS}, that moves a viewer down a layer. */
export const LAYER_DOWN_LOSS = 0.1;
/** The window over which loss must persist to move a viewer down, ms. */
export const LAYER_LOSS_WINDOW_MS = 1000;
/**
 * The fewest packets a window's loss is computed from: the window is made longer (up to
 * {@link LAYER_LOSS_MAX_WINDOW_MS}) until it holds that many. On the floor layer a second is 20
 * packets, where one or two losses of a link losing 5 % would read as 10 %.
 */
export const LAYER_LOSS_MIN_PACKETS = 100;
/** The longest window loss is computed over, ms. */
export const LAYER_LOSS_MAX_WINDOW_MS = 5000;
/**
 * A viewer is tried on the next layer up once the estimate is this far above what it gets now (its
 * layer and the audio): the link is not congested. A receiver's estimate grows slowly and to at most
 * 1.5 times its incoming rate (GCC), so it can never show room for the next layer itself.
 */
export const LAYER_UP_HEADROOM = 1;
/** Loss (fraction) under which a viewer may be tried on the next layer up. */
export const LAYER_UP_LOSS = 0.02;
/** How long the link must look good, and the last move be past, before a try up, ms (doubled per failed try). */
export const LAYER_UP_HOLD_MS = 4000;
/**
 * A probe: before a try up, padding (re-sends over RTX) raises what the viewer gets to the layer
 * above (with {@link LAYER_HEADROOM}) for this long, ms. A receiver's estimate cannot rise past what
 * arrives, but it falls within a few hundred ms when the link cannot carry more; so a probe asks the
 * link, not the estimate, and fails cheaply (no keyframe of a layer the link cannot carry).
 */
export const LAYER_PROBE_MS = 600;
/**
 * How long after a probe its outcome is read, ms. Chrome sends a receiver report (and a REMB) about
 * every 200 ms while it receives video, and NACKs within a round trip of a gap: a probe the link could
 * not carry showed it 200–400 ms into it on S4 (bench/network), before it ended.
 */
export const LAYER_PROBE_SETTLE_MS = 500;
/** An estimate under this share of the highest one since the probe began: the link could not carry it. */
export const LAYER_PROBE_FALL = 0.95;
/**
 * Packets of the video lost since a probe began, beyond what the loss before it would explain (twice
 * that), that fail it: its padding overflowed the link's queue. Counted in packets, not as a share:
 * a small layer sends 25–30 packets a second, so the loss window (at least 100 packets) spans seconds
 * and a probe's burst of losses read as a few per cent (bench/network S4: a probe for 1.2 Mbit/s
 * "held" on the 600 kbit/s link, and the viewer froze on the top layer).
 */
export const LAYER_PROBE_LOST_PACKETS = 2;
/**
 * A round trip (from the receiver reports) this much above the path's own, ms (or
 * {@link LAYER_PROBE_RTT_RISE_SHARE} of it, whichever is more), during or just after a probe: a queue
 * grew, the link could not carry it. The receiver's estimate alone missed it: on the 600 kbit/s link
 * a probe for 1.2 Mbit/s took the round trip from 26 to 182 ms, and no estimate came in the second
 * after. Any round trip this far above the path's own is read as a queue ({@link RoundTrips.queueing}).
 */
export const LAYER_PROBE_RTT_RISE_MS = 40;
/** …or this share of the path's own round trip, whichever is more (a long path's round trip varies more). */
export const LAYER_PROBE_RTT_RISE_SHARE = 0.3;
/**
 * A sender report for each viewer's video this often, ms, beside werift's own (every 0.5–1.5 s), so
 * that the round trip of the receiver reports (RFC 3550 §6.4.1) is that of the link's queue now. Seen
 * on S7 (bench/network): a failed probe's 195 ms stayed the newest round trip for 1.3 s after its queue
 * had drained, and delayed the next probe as long. About 3 kbit/s: well within RTCP's 5 % of the
 * session's bandwidth (RFC 3550 §6.2) on the floor layer.
 */
export const VIDEO_SENDER_REPORT_MS = 250;
/**
 * The path's own round trip is the least of those measured over this long, ms: what the probes' and
 * the drained queue's rules, and the age of a packet worth re-sending, are measured against.
 */
export const PATH_RTT_WINDOW_MS = 10_000;
/**
 * The wait before a probe (the link looked good and the last move is past), ms; doubled per failed
 * probe up to {@link LAYER_PROBE_HOLD_MAX_MS}; after one that held, the next layer up is probed after
 * {@link LAYER_PROBE_NEXT_MS}. Shorter than a try without a probe: a probe
 * that fails costs the viewer little. Its cap is what a viewer may wait, once its link is back,
 * before it is offered more.
 */
export const LAYER_PROBE_HOLD_MS = 3000;
/**
 * The longest wait between probes, ms. Since NACKs end a failed probe within a round trip (200–400 ms
 * on S4 instead of 600–750), a failed probe is cheap; 6 s here kept S7's viewer from being offered
 * more for up to 6 s after its link was back (up in 8–12 s; with 4 s: 7–10 s).
 */
export const LAYER_PROBE_HOLD_MAX_MS = 4000;
/**
 * The wait before the next probe after one that held, or after the link's queue drained, ms: the link
 * just showed it has room. Past the move's keyframe (a few hundred ms on a link that carries the
 * layer), not past {@link LAYER_MOVE_SETTLE_MS}: a probe asks the link, not the estimate.
 */
export const LAYER_PROBE_NEXT_MS = 1000;
/**
 * A round trip under this share of the least of the last {@link PATH_RTT_WINDOW_MS}, and at
 * least {@link LAYER_QUEUE_DRAINED_MS} under it: the queue that the link kept all that while has
 * drained, the link carries more than it did.
 */
export const LAYER_QUEUE_DRAINED_SHARE = 0.7;
/** …and at least this much under it, ms (a short path's round trip varies by a few ms). */
export const LAYER_QUEUE_DRAINED_MS = 15;
/** The longest wait between tries up, ms. */
export const LAYER_UP_HOLD_MAX_MS = 16_000;
/**
 * For this long after a probe failed, loss and keyframe requests are its own, not the layer's, ms. The
 * padding filled the link's queue, and at the layer's own rate it drains slowly (bench/network S4, the
 * 600 kbit/s link: with the 250 kbit/s layer, "loss 12 %" right after a failed probe moved the viewer
 * down; with a 400 kbit/s layer tried, which left about 100 kbit/s to drain 200 ms of queue, the loss
 * went on for 1–2 s after the probe).
 */
export const LAYER_PROBE_FAILED_QUIET_MS = 3000;
/** A move down this soon after a try up means the try failed, ms. */
export const LAYER_PROBE_FAILED_WITHIN_MS = 6000;
/**
 * An estimate under this share of the highest one of the last {@link LAYER_ESTIMATE_WINDOW_MS} is a
 * fall: congestion. GCC cuts its estimate to 85 % of what arrives on overuse (a REMB that falls by 3 %
 * or more is sent at once); smaller dips come and go on a link with room.
 */
export const LAYER_ESTIMATE_FALL = 0.8;
/**
 * After a move, the receiver's estimate is not read for this long, ms: the new layer's keyframe is a
 * burst that its delay-based detector may take for congestion (measured: a move down on a 2 Mbit/s link
 * was followed by a REMB of 210 kbit/s within a second, and a second move down).
 */
export const LAYER_MOVE_SETTLE_MS = 2000;
/** The window in which a fall of the estimate is looked for, ms (REMB comes about once a second). */
export const LAYER_ESTIMATE_WINDOW_MS = 3000;
/** An estimate under half of what the current layer and the audio need is congestion whatever its trend. */
export const LAYER_ESTIMATE_FAR_UNDER = 0.5;

// ---- Answering NACKs (src/device/RetransmissionBudget.ts) ----

/**
 * A NACK for a packet re-sent less than this share of a round trip ago is a duplicate. Less than a
 * whole one: a receive-only browser cannot measure the round trip and asks again every 100 ms
 * (libwebrtc's default), so on a 100 ms path its second request for a lost re-send came just inside
 * one round trip and was refused, and the frame waited a round trip more.
 */
export const NACK_DUPLICATE_RTT_SHARE = 0.75;
/** The round trip assumed until one is measured, ms: a LAN with Wi-Fi. */
export const NACK_DEFAULT_RTT_MS = 50;
/**
 * A packet older than this many of the path's round trips is no longer re-sent. Six: a receiver asks
 * again every round trip, and on a lossy path (bench/network S3, 100 ms round trip, 5 % loss each way)
 * a packet whose re-send or NACK was lost too is asked for a third time 300–450 ms on — refused at
 * four round trips, each cost the viewer a keyframe (five to seven in 20 s), where the re-send repairs
 * the frame at once.
 */
export const NACK_MAX_AGE_RTTS = 6;
/**
 * …but a packet is re-sent for at least this long, ms (a receiver's jitter buffer holds a frame that
 * long for a repair on a short path)…
 */
export const NACK_MIN_AGE_WINDOW_MS = 250;
/** …and never one older than this, ms: a picture that late is frozen anyway; a keyframe is the cure. */
export const NACK_MAX_AGE_MS = 1000;
/**
 * A re-send goes out twice, this long apart, ms, while the path shows no queue: on a lossy path the
 * first copy is lost as often as any packet, and the receiver asks again only a round trip later
 * (bench/network S3: one repair in ten took a second round trip, 210–330 ms, and each froze the
 * picture). Apart, so that one burst of loss does not take both.
 */
export const NACK_SECOND_COPY_DELAY_MS = 20;
/** Share of the viewer's estimated bandwidth that repairs may take (libwebrtc caps them similarly). */
export const NACK_BUDGET_SHARE = 0.25;
/** The repair budget when there is no estimate (or a tiny one), bit/s. */
export const NACK_MIN_BUDGET_BPS = 100_000;
/**
 * How much repair budget may build up, ms of it: a burst of losses is repaired at once. A second, as
 * libwebrtc's retransmission rate limiter; at 250 ms the budget held two or three packets, and the
 * losses of one keyframe on a 5 % loss link were refused and asked for again a round trip later.
 */
export const NACK_BUDGET_BURST_MS = 1000;

// ---- A viewer's keyframe requests ----

/**
 * A viewer's keyframe requests are served at most this often, ms: its layer's next keyframe is on its
 * way, and every viewer of the layer pays for each one.
 */
export const VIEWER_KEYFRAME_MIN_INTERVAL_MS = 1000;
/** More requests than this within {@link VIEWER_KEYFRAME_WINDOW_MS} move the viewer down a layer instead. */
export const VIEWER_KEYFRAME_REQUESTS_MAX = 4;
export const VIEWER_KEYFRAME_WINDOW_MS = 5000;

/**
 * Receiver-reported loss (fraction) from which a viewer's video is protected by FEC (RED + ULPFEC,
 * src/device/FecSender.ts). Under it, NACK alone repairs in time.
 */
export const FEC_MIN_LOSS = 0.01;
/** FEC packets per media packet for each unit of loss: 5 % loss sends one FEC packet per two media packets. */
export const FEC_PER_LOSS = 10;
/** The most FEC packets per media packet. */
export const FEC_MAX_SHARE = 0.5;
/**
 * The most FEC packets per media packet before the viewer's first bandwidth estimate, while its round
 * trip shows no queue. A browser's receive-side estimator reports nothing for its first 5 s unless it
 * sees congestion (libwebrtc's `AimdRateControl`, `kInitializationTime`): on a lossy link with room
 * (bench/network S3) the first REMB came 5.1 s after the viewer connected, and FEC with it.
 */
export const FEC_BEFORE_ESTIMATE_MAX_SHARE = 0.3;
/**
 * …and only this long after the viewer's video began, ms: a peer that never sends an estimate
 * (GStreamer's webrtcbin sends no REMB) is not sent FEC on the round trip's word alone for good.
 */
export const FEC_BEFORE_ESTIMATE_WITHIN_MS = 10_000;
