import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real processes, real browsers: generous per-test time, but no timed assertions (see bench/).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One test file at a time: each runs real encoders and a real browser, and two at once on a
    // 2-core machine starve each other (frames late, recordings not yet started) — flaky, not faster.
    maxWorkers: 1,
    fileParallelism: false,
    globalSetup: ["test/helpers/global-setup.ts"],
    reporters: ["default"],
  },
});
