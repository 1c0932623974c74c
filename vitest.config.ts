// Vitest configuration: unit and integration tests under test/, long timeouts for the real sidecar.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    testTimeout: 30_000,
    hookTimeout: 300_000,
    pool: "forks",
  },
});
