/**
 * Guaranteed cleanup: whatever a test starts registers its stop function here, and it runs after the
 * test (pass or fail), newest first. A stop function that fails does not keep the others from running.
 */
import { afterEach } from "vitest";

type Stop = () => unknown;
const stack: Stop[] = [];

export function onCleanup(stop: Stop): void {
  stack.push(stop);
}

export async function runCleanups(): Promise<void> {
  const errors: unknown[] = [];
  while (stack.length > 0) {
    const stop = stack.pop() as Stop;
    try {
      await stop();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, "cleanup failed");
}

// Outside Vitest (a benchmark using the test helpers) there is no afterEach: the caller runs
// runCleanups() itself.
try {
  afterEach(runCleanups);
} catch {}
