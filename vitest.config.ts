import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    alias: {
      "@": fileURLToPath(new URL(".", import.meta.url)),
      // `server-only` throws outside the react-server condition; unit tests run the server modules directly.
      "server-only": fileURLToPath(new URL("./scripts/server-only-stub.ts", import.meta.url)),
    },
  },
  test: {
    include: ["lib/**/*.test.ts", "scripts/**/*.test.ts"],
    setupFiles: ["testing/vitest-setup.ts"],
    environment: "node",
    testTimeout: 20_000,
    pool: "forks",
  },
});
