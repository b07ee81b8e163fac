import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The fault suite (`npm run test:faults`): real production servers (`npm start`'s server on the build in
 * TRELLIS_FAULTS_APP_DIR, default the working directory) killed, restarted, refused a disk or a
 * database. One file at a time: these start several servers each.
 */
export default defineConfig({
  // The tests build workflow documents with the app's own pure core.
  resolve: { alias: { "@": fileURLToPath(new URL("..", import.meta.url)) } },
  test: {
    include: ["e2e-faults/**/*.test.ts"],
    setupFiles: ["testing/vitest-setup.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
  },
});
