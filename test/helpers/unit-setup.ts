/**
 * The unit layer's temporary directory: the tests that write files (recording limits, names, TURN
 * secrets, source files) make their directories under it, and it is removed when the run ends — also
 * when the unit tests run on their own, without scripts/run-tests (which gives a whole run its own).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "device-rtc-unit-"));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
