/**
 * Golden argv of every pipeline the device runs: per source, per codec and encoder, per sink. A change
 * to a pipeline shows up here as a readable diff (`npx vitest run --project unit -u` rewrites the
 * snapshot; review it like code).
 */
import { describe, expect, it } from "vitest";
import { audioPipeline, echoPipeline, type VideoSettings, videoPipeline } from "../../src/media/pipelines.ts";
import { recorderPipeline } from "../../src/media/Recorder.ts";
import { type SpeakerSink, speakerPipeline } from "../../src/media/SpeakerMixer.ts";
import type { AudioSource, VideoSource } from "../../src/media/sources.ts";

/** argv as a shell would show it, one element per line. */
function render(argv: string[]): string {
  const quoted = argv.map((token) => (/^[\w.,:=/%+@-]+$|^!$/.test(token) ? token : `'${token}'`));
  return quoted.join(" ").replaceAll(" ! ", " !\n  ");
}

const TARGET = { rtpPort: 40000, sourcePort: 40003, rtcpPort: 40001, ssrc: 1234 };
const SETTINGS: VideoSettings = {
  codec: "vp8",
  width: 640,
  height: 480,
  framerate: 30,
  bitrateKbps: 1000,
  keyframeIntervalSeconds: 3,
};

const VIDEO_SOURCES: VideoSource[] = [
  { kind: "test" },
  { kind: "camera", device: "/dev/video0" },
  { kind: "libcamera" },
  { kind: "libcamera", name: "imx219" },
  { kind: "file", path: "/srv/clip.mp4" },
  { kind: "image", path: "/srv/still.png" },
];

const AUDIO_SOURCES: AudioSource[] = [
  { kind: "test" },
  { kind: "mic", backend: "alsa" },
  { kind: "mic", backend: "alsa", device: "hw:1,0" },
  { kind: "mic", backend: "pulse", device: "speaker.monitor" },
  { kind: "file", path: "/srv/song.ogg" },
  { kind: "tts", text: "Hello from the device" },
];

describe("video pipelines", () => {
  it.each(VIDEO_SOURCES)("source %o (VP8)", (source) => {
    expect(render(videoPipeline(source, SETTINGS, TARGET))).toMatchSnapshot();
  });

  it("the stand-in: the test picture with a notice drawn on it (SourceFailover)", () => {
    expect(
      render(videoPipeline({ kind: "test" }, SETTINGS, TARGET, "Camera <unavailable>")),
    ).toMatchSnapshot();
  });

  it("the ladder: one capture, one encoder per rung (scaled below the top, one thread), one rtpbin session each", () => {
    const ladder = [
      { width: 640, height: 480, bitrateKbps: 1000 },
      { width: 320, height: 240, bitrateKbps: 250 },
      { width: 160, height: 120, bitrateKbps: 150 },
    ];
    const targets = [0, 1, 2].map((i) => ({
      rtpPort: 40000 + i,
      sourcePort: 40010 + i,
      rtcpPort: 40020 + i,
      ssrc: 1000 + i,
    }));
    const argv = videoPipeline({ kind: "camera", device: "/dev/video0" }, { ...SETTINGS, ladder }, targets);
    expect(render(argv)).toMatchSnapshot();
    // One capture: the camera is opened once, whatever the number of rungs.
    expect(argv.filter((token) => token === "v4l2src")).toHaveLength(1);
    expect(argv.filter((token) => token === "vp8enc")).toHaveLength(3);
    expect(argv).toContain("target-bitrate=250000");
    // Two threads on a small picture cost ten times the CPU of one (src/media/constants.ts).
    expect(argv.filter((token) => token === "threads=1")).toHaveLength(2);
  });

  it("the ladder in H.264 on a Pi: the hardware encoder takes the top rung, x264 or OpenH264 the others", () => {
    const ladder = [
      { width: 640, height: 480, bitrateKbps: 1000 },
      { width: 320, height: 240, bitrateKbps: 250 },
    ];
    const targets = [0, 1].map((i) => ({
      rtpPort: 40000 + i,
      sourcePort: 40010 + i,
      rtcpPort: 40020 + i,
      ssrc: 1000 + i,
    }));
    const argv = videoPipeline(
      { kind: "test" },
      { ...SETTINGS, codec: "h264", h264Encoder: "v4l2h264enc", ladder },
      targets,
    );
    expect(argv.filter((token) => token === "v4l2h264enc")).toHaveLength(1);
    expect(argv.filter((token) => token === "x264enc" || token === "openh264enc")).toHaveLength(1);
  });

  it.each(["x264enc", "openh264enc", "v4l2h264enc"] as const)("H.264 with %s", (h264Encoder) => {
    expect(
      render(videoPipeline({ kind: "test" }, { ...SETTINGS, codec: "h264", h264Encoder }, TARGET)),
    ).toMatchSnapshot();
  });
});

describe("audio pipelines", () => {
  it.each(AUDIO_SOURCES)("source %o", (source) => {
    expect(render(audioPipeline(source, TARGET))).toMatchSnapshot();
  });

  it("microphone with echo cancellation (the speaker branch in the same process)", () => {
    const aec = { speakerTokens: ["<speaker", "branch>"], probe: "echoprobe" };
    expect(render(audioPipeline({ kind: "mic", backend: "alsa" }, TARGET, aec))).toMatchSnapshot();
  });
});

describe("echo pipeline", () => {
  it.each(["vp8", "h264"] as const)(
    "decodes the sender's %s, draws its name and a clock, encodes VP8",
    (codec) => {
      expect(
        render(echoPipeline({ port: 40002, codec, label: "phone" }, SETTINGS, TARGET)),
      ).toMatchSnapshot();
    },
  );
});

describe("recorder pipeline", () => {
  it.each([
    ["VP8 and Opus into WebM", { port: 40010, codec: "vp8" as const }, { port: 40011 }],
    ["H.264 and Opus into Matroska", { port: 40010, codec: "h264" as const }, { port: 40011 }],
    ["Opus alone into WebM", undefined, { port: 40011 }],
    ["VP8 alone into WebM", { port: 40010, codec: "vp8" as const }, undefined],
  ])("%s", (_what, video, audio) => {
    expect(
      render(recorderPipeline({ path: "/srv/rec/2026-01-01T00-00-00Z-phone.webm", video, audio })),
    ).toMatchSnapshot();
  });
});

describe("speaker pipeline", () => {
  const sinks: SpeakerSink[] = [
    { kind: "auto" },
    { kind: "alsa", device: "hw:0,0" },
    { kind: "pulse" },
    { kind: "pulse", device: "speaker" },
    { kind: "file", path: "/tmp/speaker.wav" },
    { kind: "meter" },
    { kind: "none" },
  ];
  it.each(sinks)("two slots to %o", (sink) => {
    expect(render(speakerPipeline({ sink, ports: [40020, 40021], echoProbe: false }))).toMatchSnapshot();
  });

  it("with the echo canceller's probe", () => {
    expect(
      render(speakerPipeline({ sink: { kind: "alsa", device: "hw:0,0" }, ports: [40020], echoProbe: true })),
    ).toMatchSnapshot();
  });
});

describe("values that are not ours are quoted for gst-launch", () => {
  it("a path with spaces and quotes, a device name, a text", () => {
    expect(render(videoPipeline({ kind: "file", path: '/srv/my "clip".mp4' }, SETTINGS, TARGET))).toContain(
      'location=\\"/srv/my\\\\040\\\\042clip\\\\042.mp4\\"',
    );
  });
});
