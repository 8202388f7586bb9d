/**
 * Every tuning number of the media layer, named, with the reason for its value (Pion's
 * `constants.go` style). Facts that belong to one codec (payload types, clock rates, encoder tokens)
 * live in `codecs.ts`; the measurements behind these values are summarised in docs/MEDIA.md.
 */

// ---- RTP ----

/**
 * Largest RTP packet the payloaders write, in bytes. Leaves room under a 1280-byte IPv6 path MTU for
 * SRTP's tag, the TURN channel header and IP/UDP headers — the value browsers use too.
 */
export const RTP_MTU = 1200;

/** Opus bitrate, bit/s: the low end of what RFC 7587 §3.1.1 suggests for full-band stereo music. */
export const OPUS_BITRATE = 64_000;

/**
 * One Opus frame, ms, and so one RTP packet: the WebRTC default (RFC 7587 §4.2 allows 2.5–120).
 * Audio sources deliver buffers of exactly one frame: a browser's NetEq grows its delay otherwise.
 */
export const OPUS_FRAME_MS = 20;

/** Samples per buffer at 48 kHz for one Opus frame (20 ms). */
export const SAMPLES_PER_OPUS_FRAME = (48_000 * OPUS_FRAME_MS) / 1000;

// ---- Receive jitter buffers (rtpjitterbuffer latency), ms ----

/** Echo: the picture goes straight back to the sender, who compares it to its own camera. */
export const ECHO_JITTER_MS = 50;
/** Recording: nobody watches live, so wait longer for late and retransmitted packets. */
export const RECORD_JITTER_MS = 200;
/** Speaker: talk-back latency matters more than the odd late packet (PLC fills a gap). */
export const SPEAKER_JITTER_MS = 40;

// ---- Video encoding (vp8enc) ----

/** vp8enc `deadline=1`: the realtime mode (libvpx VPX_DL_REALTIME). */
export const VP8_DEADLINE_REALTIME = 1;
/** vp8enc `cpu-used=8`: the fastest speed setting — a Raspberry Pi encodes 640x480@30 in real time. */
export const VP8_CPU_USED = 8;
/**
 * Encoder threads (vp8enc, x264enc): two, so that on a 4-core Pi the audio encoder, the Node process
 * and the speaker keep a core each.
 */
export const VIDEO_ENCODER_THREADS = 2;
/**
 * vp8enc rate-control buffer (ms): 1 s in all, starting half full, aiming at 600 ms — the libvpx
 * real-time example's values, which keep frame sizes even enough for a congested Wi-Fi link.
 */
export const VP8_BUFFER_MS = { size: 1000, initial: 500, optimal: 600 } as const;

/**
 * Encoder threads for the ladder's smaller encodings: one. libvpx with two threads on a 320x240 or
 * 160x120 picture spent ten times the CPU of one thread (3.7 s vs 0.4 s of CPU per 10 s, measured with
 * gst-launch on this project's 2-core VM) — more than the 640x480 encoding itself.
 */
export const LADDER_RUNG_ENCODER_THREADS = 1;

/** The only level v4l2h264enc needs to be told: 3.1 covers 1280x720@30 (profile-level-id 42e01f). */
export const H264_LEVEL = "3.1";

/**
 * Frames that may wait between capture and encoder: two, so a slow encoder drops old frames instead
 * of adding latency.
 */
export const ENCODER_QUEUE_FRAMES = 2;

// ---- Keyframes ----

/**
 * Minimum time between two keyframe requests to a shared encoder, ms. One keyframe serves every
 * viewer; several viewers joining (or losing packets) at once must not turn into a keyframe storm.
 */
export const KEYFRAME_DEBOUNCE_MS = 200;

// ---- Starting and stopping processes ----

/**
 * How long a codec's ladder is kept after its last viewer left, ms: a page reloaded, or a viewer that
 * comes straight back, finds it still encoded (dropping it costs the other viewers a process restart).
 */
export const CODEC_IDLE_MS = 5_000;
/** How long an encoder may take to send its first packet before its source is declared broken, ms. */
export const ENCODER_START_TIMEOUT_MS = 15_000;
/**
 * The echo's encoder sends its first packet only once the sender's first keyframe went through its
 * decoder, after the sender's ICE and DTLS are up: more than a local source needs.
 */
export const ECHO_START_TIMEOUT_MS = 30_000;
/** Pause between two repetitions of a text-to-speech source, ms. */
export const TTS_PAUSE_MS = 1500;
/** How long a process may take to finish (EOS after SIGINT: muxers write their index) before SIGKILL, ms. */
export const STOP_GRACE_MS = 3000;
/** Restart backoff after a crash: 250 ms doubling to 5 s. */
export const RESTART_BACKOFF_FIRST_MS = 250;
export const RESTART_BACKOFF_MAX_MS = 5000;
/** A process that ran this long is healthy again: its next crash restarts after the first backoff, ms. */
export const RESTART_STABLE_AFTER_MS = 10_000;
/**
 * A video source whose process failed this many times in a row without delivering a frame is given up
 * for the stand-in (SourceFailover), even when it still looks usable: with the backoff above that is
 * about 2 s of a frozen picture — long enough to ride out a busy device, short enough for a viewer.
 */
export const SOURCE_FAILURES_BEFORE_STANDIN = 3;
/**
 * While the stand-in is sent, the source is checked this often, ms: a camera plugged back in is
 * picked up within a couple of seconds (udev has created its node by then), and a check — one stat
 * and one open — costs nothing at that rate.
 */
export const SOURCE_POLL_MS = 2000;
/**
 * A source that looked usable but failed its try again (libcamera, which has no node to check; a file
 * that exists but cannot be decoded) is tried half as often each time, down to once per this, ms: each
 * try costs the viewers a second of frozen stand-in and the log a few lines.
 */
export const SOURCE_POLL_MAX_MS = 30_000;

/** Receive buffer of a socket taking an encoder's RTP: a keyframe's burst while Node is busy, bytes. */
export const RTP_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

// ---- Recording ----

/**
 * How often a recording's size and the record directory's free space are looked at, ms. At 1 s a
 * recording overshoots its size cap by at most a second of media (about 125 KiB at 1 Mbit/s), and the
 * two `stat` calls cost nothing.
 */
export const RECORDING_CHECK_MS = 1000;

// ---- Speaker ----

/** audiomixer `latency`, ns: how long the mixer waits for a late input — one Opus frame. */
export const SPEAKER_MIXER_LATENCY_NS = OPUS_FRAME_MS * 1_000_000;
/** The silent input's buffers: 10 ms, so the mixer produces output at least that often. */
export const SPEAKER_SILENCE_SAMPLES = 480;
/**
 * Audio device buffer (alsasink/pulsesink `buffer-time`, µs): short, for talk-back latency and a short,
 * steady echo path for the canceller; and its period (`latency-time`), µs.
 */
export const SPEAKER_BUFFER_US = 60_000;
export const SPEAKER_PERIOD_US = 10_000;
/** Microphone capture buffer (alsasrc/pulsesrc), µs, with one Opus frame per period. */
export const MIC_BUFFER_US = 60_000;
export const MIC_PERIOD_US = OPUS_FRAME_MS * 1000;
/** The meter sink's `level` interval, ns: 10 ms resolution for latency benchmarks. */
export const METER_INTERVAL_NS = 10_000_000;
/** Above this output level (dBFS) the meter counts sound; below it, silence. */
export const METER_ONSET_DB = -45;
/** Silence that must precede a sound for it to count as an onset, ms. */
export const METER_ONSET_SILENCE_MS = 150;

// ---- The ladder: moving a viewer between layers ----

/**
 * While a viewer waits for the target layer's keyframe, it is asked for again this often, ms: a
 * keyframe request can be debounced away or lost, and the viewer stays on a layer its link may not
 * carry until it comes.
 */
export const LAYER_SWITCH_RETRY_MS = 500;
/**
 * The target layer's packets held while the current layer finishes its frame: a frame of the top
 * layer is at most a few dozen packets; past this the current layer has stopped, and the switch goes on.
 */
export const LAYER_SWITCH_HELD_PACKETS = 256;
