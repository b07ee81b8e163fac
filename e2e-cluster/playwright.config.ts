import { defineConfig } from "@playwright/test";

/**
 * The Playwright test of cluster mode (part of `npm run test:cluster`): two web instances and two
 * workers on one PostgreSQL (e2e-cluster/playwright-setup.ts starts them from the production
 * build), in Debian's Chromium like the e2e suite.
 */
export default defineConfig({
  testDir: ".",
  testMatch: "*.spec.ts",
  globalSetup: "./playwright-setup.ts",
  workers: 1,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  outputDir: "../test-results/cluster",
  reporter: [["list"]],
  use: {
    viewport: { width: 1440, height: 900 },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    },
  },
});
