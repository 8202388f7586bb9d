/**
 * The ladder: the encodings the device's video is made in at once, from one capture — the configured
 * size and bitrate on top, smaller and cheaper ones under it — so that each viewer can be given the
 * best one its link carries (docs/MEDIA.md "Adapting to each viewer"). Each rung is encoded once and
 * shared by every viewer on it.
 */

/** One encoding of the ladder. */
export interface Rung {
  width: number;
  height: number;
  bitrateKbps: number;
}

/**
 * The floor's bitrate, kbit/s: what a link that carries almost nothing still gets a moving picture
 * from (a quarter-size picture at 30 fps), beside 64 kbit/s of Opus.
 */
export const FLOOR_BITRATE_KBPS = 150;

/** The label of a rung in logs, status and metrics: its size. */
export function rungLabel(rung: Rung): string {
  return `${rung.width}x${rung.height}`;
}

/** Sizes are rounded down to a multiple of 8 (encoders want even sizes; macroblocks are 16). */
function evenSize(value: number): number {
  return Math.max(16, Math.floor(value / 8) * 8);
}

/**
 * The default ladder under `top`: half size at a quarter of its bitrate, and a quarter-size floor at
 * {@link FLOOR_BITRATE_KBPS} — each rung a step a congested link can fall to without a freeze. Rungs
 * that would not be cheaper than the one above are left out.
 */
export function defaultLadder(top: Rung): Rung[] {
  const ladder: Rung[] = [top];
  const half = {
    width: evenSize(top.width / 2),
    height: evenSize(top.height / 2),
    bitrateKbps: Math.max(FLOOR_BITRATE_KBPS, Math.round(top.bitrateKbps / 4)),
  };
  const floor = {
    width: evenSize(top.width / 4),
    height: evenSize(top.height / 4),
    bitrateKbps: FLOOR_BITRATE_KBPS,
  };
  for (const rung of [half, floor]) {
    const above = ladder[ladder.length - 1] as Rung;
    if (rung.bitrateKbps < above.bitrateKbps && rung.width < above.width) ladder.push(rung);
  }
  return ladder;
}

/** A `--ladder` value that cannot be used. */
export class LadderError extends Error {
  override readonly name = "LadderError";
}

/**
 * `--ladder`: `auto` (the default ladder), `off` (the top encoding only), or the rungs under the top
 * one as `WxH@KBPS` separated by commas, e.g. `320x240@250,160x120@150`. Each rung must be smaller (in
 * width and height: a rung is known by its size) and cheaper than the one above it.
 */
export function parseLadder(spec: string, top: Rung): Rung[] {
  const value = spec.trim().toLowerCase();
  if (value === "auto" || value === "") return defaultLadder(top);
  if (value === "off" || value === "none") return [top];
  const ladder: Rung[] = [top];
  for (const part of value.split(",")) {
    const match = part.trim().match(/^(\d{2,5})x(\d{2,5})@(\d{2,6})$/);
    if (!match) throw new LadderError(`--ladder: "${part.trim()}" is not WxH@KBPS (e.g. 320x240@250)`);
    const rung = { width: Number(match[1]), height: Number(match[2]), bitrateKbps: Number(match[3]) };
    const above = ladder[ladder.length - 1] as Rung;
    if (rung.width % 2 || rung.height % 2)
      throw new LadderError(`--ladder: ${part.trim()} needs an even size`);
    if (rung.width >= above.width || rung.height >= above.height || rung.bitrateKbps >= above.bitrateKbps) {
      throw new LadderError(
        `--ladder: ${part.trim()} must be smaller and cheaper than the rung above it (${rungLabel(above)}@${above.bitrateKbps})`,
      );
    }
    ladder.push(rung);
  }
  return ladder;
}
