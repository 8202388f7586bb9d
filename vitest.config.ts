import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Real processes, real browsers: generous per-test time, but no timed assertions (see bench/).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: two test files at a time keeps browser and GStreamer tests from starving each other.
    maxWorkers: 2,
    globalSetup: ["test/helpers/global-setup.ts"],
    reporters: ["default"],
  },
});
