import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../testing/temp-dirs";

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

/**
 * The server bench:server and bench:ab measure: production, at the default per-minute limit (their
 * runs come from browsers in turn, each under it), the server-wide caps raised for a burst of 100.
 */
export const SERVER_BENCH_ENV: Record<string, string> = {
  NODE_ENV: "production",
  TRELLIS_RUNS_PER_MINUTE: "30",
  TRELLIS_MAX_CONCURRENT_RUNS: "1000",
  TRELLIS_MAX_CONCURRENT_MODEL_CALLS: "10000",
};

/**
 * The production server of `appDir` for a bench, on loopback at `port`, once it answers: built
 * first when stale, Node.js itself (its pid is the process whose CPU time is measured), the demo
 * model, a fresh PGlite directory named after `name`, `env` on top. `detached` puts it in a
 * process group of its own (stop it with `stopServer(server, { group: true })`).
 */
export async function startBenchServer({ name, port, appDir = process.cwd(), nodeArgs = [], env = {}, detached = false }: { name: string; port: number; appDir?: string; nodeArgs?: string[]; env?: Record<string, string>; detached?: boolean }): Promise<ChildProcess> {
  ensureProductionBuild(appDir);
  const server = spawn(process.execPath, [...nodeArgs, ...serveArgs(appDir), "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: appDir,
    stdio: ["ignore", "ignore", "inherit"],
    detached,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", DATABASE_URL: "", TRELLIS_DATA_DIR: join(tempDir(`trellis-${name}-`), "pglite"), ...env },
  });
  for (let i = 0; i < 120; i++) {
    if (await fetch(`http://127.0.0.1:${port}/api/health`).then((r) => r.ok, () => false)) return server;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await stopServer(server);
  throw new Error(`the ${name} server (${appDir}) did not start on port ${port}`);
}

/** Stops a server startBenchServer started (SIGTERM, to its process group when it was started detached) and waits for it to exit. */
export function stopServer(server: ChildProcess, { group = false }: { group?: boolean } = {}): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  if (group && server.pid) process.kill(-server.pid, "SIGTERM");
  else server.kill("SIGTERM");
  return exited;
}

/** A process's CPU time so far (user + system, all its threads), in ms. */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
