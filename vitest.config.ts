import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Files run in parallel processes; tests that drive dpkg/apt take a machine-wide lock (test/helpers/dpkg-lock.ts).
    pool: "forks",
  },
});
