import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * The cluster suites (`npm run test:cluster`, needs TEST_DATABASE_URL), each on a fresh PostgreSQL
 * database: `cluster.test.ts` drives worker processes (`npm run worker`) through the run service
 * and the events route of this process, which enqueues, follows and cancels without executing runs;
 * `production.test.ts` starts two web instances from the production build and two workers and
 * drives them over HTTP. One file at a time: each starts several processes.
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
