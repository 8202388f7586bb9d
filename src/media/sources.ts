/**
 * What the device sends: video and audio sources, written on the command line as `KIND[:ARGUMENT]`
 * (`camera:/dev/video2`, `file:clip.mp4`, `tts:Hello`), parsed, described and checked here.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { open } from "node:fs/promises";

export type VideoSource =
  | { kind: "test" }
  | { kind: "camera"; device: string }
  | { kind: "libcamera"; name?: string | undefined }
  | { kind: "file"; path: string }
  | { kind: "image"; path: string }
  | { kind: "none" };

export type AudioSource =
  | { kind: "test" }
  /** alsasrc with an ALSA device, or pulsesrc (`pulse`, `pulse:SOURCE`); no device: the system default. */
  | { kind: "mic"; backend: "alsa" | "pulse"; device?: string | undefined }
  | { kind: "file"; path: string }
  | { kind: "tts"; text: string }
  | { kind: "none" };

/** A source that cannot be used. The message names the source and says why. */
export class SourceError extends Error {
  override readonly name = "SourceError";
}

export const VIDEO_SOURCE_HELP = `Video sources (--video):
  test                 moving colour bars with a running clock, also burnt in as binary blocks
  camera[:DEVICE]      a V4L2 camera (default /dev/video0), e.g. camera:/dev/video2
  libcamera[:NAME]     a libcamera camera (Raspberry Pi camera modules), e.g. libcamera
  file:PATH            any video file GStreamer can decode; loops, e.g. file:/srv/clip.mp4
  image:PATH           a PNG or JPEG shown as live video, e.g. image:/srv/still.png
  none                 no video`;

export const AUDIO_SOURCE_HELP = `Audio sources (--audio):
  test                 a 440 Hz tone
  mic[:DEVICE]         an ALSA capture device, e.g. mic:sysdefault:CARD=Device or mic:hw:1,0;
                       mic:pulse[:SOURCE] records from PulseAudio/PipeWire; plain mic takes the default
  file:PATH            any audio (or video) file GStreamer can decode; loops, e.g. file:/srv/song.ogg
  tts:TEXT             text spoken by espeak, repeated after a pause, e.g. "tts:Hello from the device"
  none                 no audio`;

function splitSpec(spec: string): [string, string | undefined] {
  const colon = spec.indexOf(":");
  return colon < 0 ? [spec, undefined] : [spec.slice(0, colon), spec.slice(colon + 1)];
}

/** `test` and `none` take no argument. */
function withoutArgument<K extends "test" | "none">(what: string, kind: K, argument: string | undefined) {
  if (argument !== undefined) throw new SourceError(`${what}: "${kind}" takes no argument`);
  return { kind };
}

/** The path of a `file:` or `image:` source, which must be given. */
function pathArgument(what: string, kind: string, argument: string | undefined): string {
  if (!argument) throw new SourceError(`${what}: give a path, e.g. ${kind}:/path/to/file`);
  return argument;
}

export function parseVideoSource(spec: string): VideoSource {
  const [kind, argument] = splitSpec(spec.trim());
  const what = `video source ${spec}`;
  switch (kind) {
    case "test":
    case "none":
      return withoutArgument(what, kind, argument);
    case "camera":
      return { kind, device: argument || "/dev/video0" };
    case "libcamera":
      return { kind, name: argument || undefined };
    case "file":
    case "image":
      return { kind, path: pathArgument(what, kind, argument) };
    default:
      throw new SourceError(`unknown video source "${spec}"\n${VIDEO_SOURCE_HELP}`);
  }
}

export function parseAudioSource(spec: string): AudioSource {
  const [kind, argument] = splitSpec(spec.trim());
  const what = `audio source ${spec}`;
  switch (kind) {
    case "test":
    case "none":
      return withoutArgument(what, kind, argument);
    case "mic": {
      if (argument === "pulse" || argument?.startsWith("pulse:")) {
        return { kind, backend: "pulse", device: argument.slice("pulse:".length) || undefined };
      }
      return { kind, backend: "alsa", device: argument || undefined };
    }
    case "file":
      return { kind, path: pathArgument(what, kind, argument) };
    case "tts":
      if (!argument?.trim())
        throw new SourceError(`audio source ${spec}: give the text to speak, e.g. "tts:Hello"`);
      return { kind, text: argument };
    default:
      throw new SourceError(`unknown audio source "${spec}"\n${AUDIO_SOURCE_HELP}`);
  }
}

export function describeVideoSource(source: VideoSource): string {
  switch (source.kind) {
    case "camera":
      return `camera:${source.device}`;
    case "libcamera":
      return source.name ? `libcamera:${source.name}` : "libcamera";
    case "file":
    case "image":
      return `${source.kind}:${source.path}`;
    default:
      return source.kind;
  }
}

export function describeAudioSource(source: AudioSource): string {
  switch (source.kind) {
    case "mic":
      if (source.backend === "pulse") return source.device ? `mic:pulse:${source.device}` : "mic:pulse";
      return source.device ? `mic:${source.device}` : "mic";
    case "file":
      return `file:${source.path}`;
    case "tts":
      return `tts:${source.text}`;
    default:
      return source.kind;
  }
}

function readableFile(path: string, what: string): void {
  if (!existsSync(path)) throw new SourceError(`${what}: ${path} does not exist`);
  if (!statSync(path).isFile()) throw new SourceError(`${what}: ${path} is not a file`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new SourceError(`${what}: ${path} is not readable`);
  }
}

/** Checks what can be checked before starting GStreamer (files and devices exist). */
export function checkVideoSource(source: VideoSource): void {
  const what = `video source ${describeVideoSource(source)}`;
  switch (source.kind) {
    case "camera":
      if (!existsSync(source.device))
        throw new SourceError(`${what}: camera ${source.device} does not exist`);
      try {
        accessSync(source.device, constants.R_OK | constants.W_OK);
      } catch {
        throw new SourceError(
          `${what}: no permission to open ${source.device} (is this user in the "video" group?)`,
        );
      }
      return;
    case "file":
    case "image":
      readableFile(source.path, what);
      return;
  }
}

/**
 * Why the video source cannot be used right now, or undefined when it looks usable — asked while a
 * stand-in is sent (SourceFailover). A camera's node must exist and open (it is gone while unplugged;
 * udev creates it again when the camera is back); a file must be readable. A libcamera camera has no
 * node of its own to look at: undefined, so its pipeline is tried.
 */
export async function videoSourceProblem(source: VideoSource): Promise<string | undefined> {
  try {
    checkVideoSource(source);
  } catch (error) {
    // Not only a SourceError: a file removed between two checks fails statSync.
    return error instanceof SourceError
      ? error.message
      : `video source ${describeVideoSource(source)}: ${(error as Error).message}`;
  }
  if (source.kind !== "camera") return undefined;
  try {
    // Non-blocking, as v4l2src opens it: an open must not wait on a device that is going away.
    const handle = await open(source.device, constants.O_RDWR | constants.O_NONBLOCK);
    await handle.close();
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return `video source ${describeVideoSource(source)}: cannot open ${source.device} (${code})`;
  }
}

export function checkAudioSource(source: AudioSource): void {
  const what = `audio source ${describeAudioSource(source)}`;
  if (source.kind === "file") readableFile(source.path, what);
  if (source.kind === "mic" && source.backend === "alsa" && !hasAlsaCapture()) {
    throw new SourceError(`${what}: this machine has no ALSA capture device`);
  }
}

/** True when ALSA lists a capture device (`/proc/asound/pcm` lines such as `00-00: … : capture 1`). */
function hasAlsaCapture(): boolean {
  try {
    return /capture \d+/.test(readFileSync("/proc/asound/pcm", "utf8"));
  } catch {
    return false;
  }
}

/** The camera if /dev/video0 exists, else the test pattern. */
export function defaultVideoSource(): VideoSource {
  return existsSync("/dev/video0") ? { kind: "camera", device: "/dev/video0" } : { kind: "test" };
}

/** The microphone (ALSA's default capture device) if the machine has one, else the tone. */
export function defaultAudioSource(): AudioSource {
  return hasAlsaCapture() ? { kind: "mic", backend: "alsa" } : { kind: "test" };
}
