import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Node.js's arguments for the production server (`npm start`: scripts/serve.ts) of the app in
 * `appDir`, for the tools and test suites that start one as a process of their own (so signals and
 * CPU time are the server's). Run with `cwd: appDir`.
 */
export function serveArgs(appDir: string = process.cwd()): string[] {
  return ["--conditions=react-server", "--import", "tsx", join(appDir, "scripts", "serve.ts")];
}

/** What `next build` reads: a build older than any of these is not the code the benches mean to measure. */
const BUILD_INPUTS = ["app", "components", "lib", "proxy.ts", "instrumentation.ts", "next.config.js", "postcss.config.mjs", "tsconfig.json", "package-lock.json"];

/** The newest modification time under `path` (files only), 0 when it does not exist. */
function newestMtime(path: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Whether `appDir` has a production build, and whether it is at least as new as every file `next build` reads. */
export function productionBuildState(appDir: string): "missing" | "stale" | "current" {
  const built = newestMtime(join(appDir, ".next", "BUILD_ID"));
  if (!built) return "missing";
  const changed = Math.max(...BUILD_INPUTS.map((input) => newestMtime(join(appDir, input))));
  return built >= changed ? "current" : "stale";
}

/**
 * Runs `next build` when there is no production build, or when a source file changed after it:
 * the database layer, pages and route handlers run from the build, so a benchmark on a stale one
 * measures old code (issue 12: a build older than a change to the PGlite client hid it from
 * `bench:server` for a session). The build is remade in place: not while a server of this checkout runs.
 */
export function ensureProductionBuild(appDir: string = process.cwd()): void {
  const state = productionBuildState(appDir);
  if (state === "current") return;
  console.error(state === "stale" ? "the production build is older than the sources: running next build…" : "no production build: running next build…");
  const result = spawnSync("npx", ["next", "build"], { cwd: appDir, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (result.status !== 0) throw new Error("next build failed");
}
