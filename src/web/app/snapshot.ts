/**
 * The snapshot button: the device's current frame, at the video's own size, as a PNG the browser
 * downloads. The picture comes from the page's own WebRTC stream, so the canvas is never tainted.
 */

export interface Snapshot {
  name: string;
  blob: Blob;
  width: number;
  height: number;
}

/** The current frame of `video`; undefined while it has none. */
export async function snapshotOf(video: HTMLVideoElement, deviceName: string): Promise<Snapshot | undefined> {
  const width = video.videoWidth;
  const height = video.videoHeight;
  if (!width || !height) return undefined;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  if (!context) return undefined;
  context.drawImage(video, 0, 0, width, height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, "image/png"));
  if (!blob) return undefined;
  const time = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replaceAll(":", "-");
  // A file name from a peer's string: letters, digits, dot, dash and underscore only.
  const base =
    deviceName
      .replace(/[^\p{L}\p{N}._-]+/gu, "_")
      .replace(/^[._]+/, "")
      .slice(0, 40) || "device";
  return { name: `${base}-${time}.png`, blob, width, height };
}

/** Makes the browser save `blob` as `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
