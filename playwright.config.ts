import { join } from "node:path";
import { defineConfig } from "@playwright/test";
import { serveArgs } from "./scripts/serve-command";
import { tempDir } from "./testing/temp-dirs";

/**
 * End-to-end tests in Debian's Chromium (Playwright cannot download browsers here) against the
 * production build. `npm run test:e2e` makes sure Chromium is there (scripts/ensure-chromium.sh)
 * and builds first; the server runs with its own data dir.
 */
const PORT = Number(process.env.E2E_PORT ?? 3100);
export const CANARY_KEY = "AIzaCANARY-e2e-0123456789abcdefghijkl";
/** A canary OpenAI-compatible server (never called): its base URL and key must stay on the server too. */
export const CANARY_BASE_URL = "http://127.0.0.1:9/canary-base-url/v1";
export const CANARY_COMPATIBLE_KEY = "sk-canary-compatible-0123456789";
// Each e2e run gets its own embedded database (one process per data directory).
const DATA_DIR = join(tempDir("trellis-e2e-"), "pglite");

export default defineConfig({
  testDir: "e2e",
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 10_000 },
  outputDir: "test-results",
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1440, height: 900 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    },
  },
  webServer: {
    command: `node ${serveArgs().map((arg) => JSON.stringify(arg)).join(" ")} --hostname 127.0.0.1 --port ${PORT}`,
    // Ready, not merely alive: the database is open and migrated before the first test.
    url: `http://127.0.0.1:${PORT}/api/ready`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
    env: {
      NEXT_TELEMETRY_DISABLED: "1",
      TRELLIS_DATA_DIR: DATA_DIR,
      // A canary key: e2e/security.spec.ts proves it never leaves the server.
      GOOGLE_GENERATIVE_AI_API_KEY: CANARY_KEY,
      OPENAI_COMPATIBLE_BASE_URL: CANARY_BASE_URL,
      OPENAI_COMPATIBLE_API_KEY: CANARY_COMPATIBLE_KEY,
      OPENAI_COMPATIBLE_MODELS: "canary-llm",
      DATABASE_URL: "",
      // A pace slow enough to watch text stream; a fault only for prompts that ask for it.
      TRELLIS_DEMO_FIRST_TOKEN_MS: "300",
      TRELLIS_DEMO_CHUNK_MS: "60",
      TRELLIS_DEMO_FAULTS: JSON.stringify([{ kind: "server-error", match: "FAIL-INJECTED" }]),
      // Small replay pages, so every replay in these tests also loads the rest of its run progressively.
      TRELLIS_REPLAY_PAGE_EVENTS: "10",
    },
  },
});
