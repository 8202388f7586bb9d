import { defineConfig } from "vitest/config";

/**
 * Two layers. `unit` is pure Node (no GStreamer, no browser, no network namespace) and runs in
 * seconds; `scripts/run-tests` runs it first and stops there when it fails. `media` runs real
 * gst-launch-1.0 pipelines, real werift peers and real headless browsers.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 10_000,
          globalSetup: ["test/helpers/unit-setup.ts"],
        },
      },
      {
        test: {
          name: "media",
          include: ["test/**/*.test.ts"],
          exclude: ["test/unit/**"],
          // Real processes, real browsers: generous per-test time, but no timed assertions (see bench/).
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: "forks",
          // One test file at a time: each runs real encoders and a real browser, and two at once on a
          // 2-core machine starve each other (frames late, recordings not yet started) — flaky, not faster.
          maxWorkers: 1,
          fileParallelism: false,
          globalSetup: ["test/helpers/global-setup.ts"],
        },
      },
    ],
    reporters: ["default"],
  },
});
