import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { serveArgs } from "../scripts/serve-command";

/**
 * A cluster of real processes on one PostgreSQL database, for the production suite and the
 * Playwright test: web instances (`npm start`'s server on the build in TRELLIS_CLUSTER_APP_DIR, default
 * the working directory) and workers (`npm run worker`'s script, run by Node itself so a signal
 * reaches the worker and not a wrapper).
 */

export const APP_DIR = process.env.TRELLIS_CLUSTER_APP_DIR ?? process.cwd();

/** The demo model at a pace slow enough to act mid-stream; every process beats often, so a silent one is noticed within a test. */
export const CLUSTER_ENV = {
  NEXT_TELEMETRY_DISABLED: "1",
  TRELLIS_EXECUTOR: "cluster",
  TRELLIS_DEMO_FIRST_TOKEN_MS: "100",
  TRELLIS_DEMO_CHUNK_MS: "15",
  TRELLIS_HEARTBEAT_MS: "500",
  TRELLIS_PROCESS_STALE_MS: "2000",
};

export function requireBuild(): void {
  if (!existsSync(join(APP_DIR, ".next", "BUILD_ID"))) throw new Error(`no production build in ${APP_DIR}: run \`npm run build\` first (or set TRELLIS_CLUSTER_APP_DIR)`);
}

/** A new, empty database `name` beside the one `base` names; its URL. */
export async function freshDatabase(base: string, name: string): Promise<string> {
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return Object.assign(new URL(base), { pathname: `/${name}` }).toString();
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type Proc = {
  child: ChildProcess;
  output(): string;
  exited: Promise<Exit>;
  alive(): boolean;
};

export type Web = Proc & { url: string };
export type Worker = Proc & { id: string };

const started = new Set<Proc>();

function spawnProcess(command: string[], env: Record<string, string>): Proc {
  const child = spawn(command[0], command.slice(1), { cwd: APP_DIR, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk));
  let gone = false;
  const exited = new Promise<Exit>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const proc: Proc = { child, output: () => output, exited, alive: () => !gone };
  started.add(proc);
  void exited.then(() => {
    gone = true;
    started.delete(proc);
  });
  return proc;
}

/** A web instance on `port`, resolved once /api/ready answers 200. */
export async function startWeb({ port, databaseUrl, env = {} }: { port: number; databaseUrl: string; env?: Record<string, string> }): Promise<Web> {
  const proc = spawnProcess([process.execPath, ...(process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []), ...serveArgs(APP_DIR), "--hostname", "127.0.0.1", "--port", String(port)], { ...CLUSTER_ENV, DATABASE_URL: databaseUrl, ...env });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!proc.alive()) throw new Error(`the web instance on ${port} exited before it was ready:\n${proc.output()}`);
    const response = await fetch(`${url}/api/ready`).catch(() => null);
    if (response?.ok) break;
    if (Date.now() > deadline) throw new Error(`the web instance on ${port} was not ready within 90 s:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { ...proc, url };
}

/** A worker, resolved with its process id once it takes runs. At SIGTERM it hands over what is still running after `drainMs`. */
export async function startWorker({ databaseUrl, drainMs = 300, env = {} }: { databaseUrl: string; drainMs?: number; env?: Record<string, string> }): Promise<Worker> {
  const proc = spawnProcess([process.execPath, ...(process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []), "--conditions=react-server", "--import", "tsx", "scripts/worker.ts", "--drain-ms", String(drainMs)], { ...CLUSTER_ENV, DATABASE_URL: databaseUrl, ...env });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = /trellis worker ([0-9a-f-]{36}): taking runs/.exec(proc.output());
    if (ready) return { ...proc, id: ready[1] };
    if (!proc.alive()) throw new Error(`the worker exited before taking runs:\n${proc.output()}`);
    if (Date.now() > deadline) throw new Error(`the worker took no runs within 60 s:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Every process started here and still alive, killed (for afterAll). */
export async function stopAll(): Promise<void> {
  const left = [...started];
  // A profiled process (BENCH_PROFILE) writes its profile when it exits on its own: SIGTERM.
  for (const proc of left) proc.child.kill(process.env.BENCH_PROFILE ? "SIGTERM" : "SIGKILL");
  await Promise.all(left.map((proc) => proc.exited));
}

async function workflowRow(databaseUrl: string, runId: string): Promise<{ executor_id: string; status: string } | null> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ executor_id: string; status: string }>("SELECT executor_id, status FROM trellis_dbos.workflow_status WHERE workflow_uuid = $1", [runId]);
    return result.rows[0] ?? null;
  } finally {
    await client.end();
  }
}

/** The process DBOS says holds a run's workflow (its executor id), read from the database. */
export async function holderId(databaseUrl: string, runId: string): Promise<string | null> {
  return (await workflowRow(databaseUrl, runId))?.executor_id ?? null;
}

/** The DBOS status of a run's workflow (PENDING while a process runs it, ENQUEUED while it waits). */
export async function workflowStatus(databaseUrl: string, runId: string): Promise<string | null> {
  return (await workflowRow(databaseUrl, runId))?.status ?? null;
}

/** Reads a Server-Sent Events body: each event with its id, until the stream ends or `stop` says so. */
export async function readEventStream<T>(response: Response, stop?: (event: T) => boolean): Promise<T[]> {
  const events: T[] = [];
  const decoder = new TextDecoder();
  const reader = response.body!.getReader();
  let buffer = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffer += decoder.decode(chunk.value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = message.split("\n").find((line) => line.startsWith("data: "));
      if (!data || message.split("\n").some((line) => line.startsWith("event: "))) continue;
      const event = JSON.parse(data.slice(6)) as T;
      events.push(event);
      if (stop?.(event)) {
        await reader.cancel();
        return events;
      }
    }
  }
  return events;
}
