import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The cluster suite (`npm run test:cluster`, needs TEST_DATABASE_URL): worker processes
 * (`npm run worker`) on a fresh PostgreSQL database, driven through the run service and the events
 * route of this process, which enqueues, follows and cancels without executing runs itself.
 */
export default defineConfig({
  resolve: {
    alias: {
      "@": fileURLToPath(new URL("..", import.meta.url)),
      "server-only": fileURLToPath(new URL("../scripts/server-only-stub.ts", import.meta.url)),
    },
  },
  test: {
    include: ["e2e-cluster/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
  },
});
