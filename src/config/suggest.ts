/** "Did you mean …?" for a mistyped key. */
import { distance } from "fastest-levenshtein";

/**
 * The candidate closest to `word`, if it is close enough to be what was meant: the same key spelled with
 * another case or separator (`dataDir`, `DATA_DIR` for `data-dir`), else within a few edits.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const squash = (text: string) => text.toLowerCase().replace(/[-_]/g, "");
  const same = candidates.find((candidate) => squash(candidate) === squash(word));
  if (same) return same;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const edits = distance(squash(word), squash(candidate));
    if (edits < bestDistance) {
      best = candidate;
      bestDistance = edits;
    }
  }
  return best;
}
