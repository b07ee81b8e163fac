/**
 * `npm run bench:cluster` — the `cluster-stream` benchmark (docs/cluster.md, "Performance"): what
 * cluster mode costs a streamed token, against in-process mode on the same PostgreSQL, both
 * through the production build's run action over HTTP (React's stream serialisation included).
 *
 * - Latency: the parallelization template on `demo:default` (three nodes streaming at once, the
 *   demo model's default pace). For each delta, the time from its emission by the engine
 *   (`run-started.at` + the delta's `t`, on this machine's clock) to its arrival here. In cluster
 *   mode a delta goes engine (worker) → durable stream (PostgreSQL) → web instance → client.
 * - Cost: the orchestrator-worker template on `demo:fast`, runs one after another: output tokens
 *   per CPU-second of every Trellis process (the web instance, plus the worker in cluster mode).
 *
 *   npm run bench:cluster -- [--runs N]
 *
 * Needs a production build (TRELLIS_CLUSTER_APP_DIR, default the working directory) and a
 * PostgreSQL role that may create databases (BENCH_DATABASE_URL, else TEST_DATABASE_URL).
 * Uses ports 3316 and 3317.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { findTemplate, parseDocument, withModel, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import { ActionClient } from "../e2e-faults/client";
import { APP_DIR, freshDatabase, requireBuild, startWeb, startWorker, stopAll, type Proc } from "../e2e-cluster/processes";

/** Budgets (docs/cluster.md): live means under 100 ms at p95 from the model to the client; the durable stream may add at most 50 ms at the median. */
const BUDGET = { clusterP95Ms: 100, addedP50Ms: 50, tokensPerCpuSecond: 5_000 };

const { values } = parseArgs({ options: { runs: { type: "string", default: "6" } } });
const RUNS = Math.max(2, Number(values.runs));
const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;

function template(id: string, model: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error(`invalid template ${id}`);
  return withModel(parsed.document, model);
}

/** CPU time (user + system) of a process so far, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

type Measured = { latencies: number[]; tokens: number; cpuMs: number; runs: number };

async function measure(mode: "in-process" | "cluster", port: number): Promise<Measured> {
  const databaseUrl = await freshDatabase(base!, `trellis_bench_${mode.replace("-", "_")}`);
  const env = { TRELLIS_EXECUTOR: mode, TRELLIS_DEMO_FIRST_TOKEN_MS: "350", TRELLIS_DEMO_CHUNK_MS: "40", TRELLIS_MAX_RUNS_PER_IDENTITY: "20", TRELLIS_RUNS_PER_MINUTE: "1000" };
  const web = await startWeb({ port, databaseUrl, env });
  const processes: Proc[] = [web];
  if (mode === "cluster") processes.push(await startWorker({ databaseUrl, env }));
  const client = new ActionClient(web.url, APP_DIR);
  const latencies: number[] = [];
  const run = async (document: WorkflowDocument, onDelta?: (latencyMs: number) => void) => {
    let at = 0;
    let finished: RunEventOf<"run-finished"> | undefined;
    for await (const event of client.run(document) as AsyncIterable<RunEvent>) {
      if (event.type === "run-started") at = event.at ?? 0;
      else if (event.type === "node-delta") onDelta?.(Date.now() - (at + event.t));
      else if (event.type === "run-finished") finished = event;
    }
    if (finished?.status !== "succeeded") throw new Error(`a ${mode} run ended ${finished?.status ?? "without run-finished"}: ${finished?.error?.message ?? ""}`);
    return finished;
  };
  try {
    // Warm-up: the first run of each template compiles routes and fills caches.
    await run(template("parallelization", "demo:default"));
    await run(template("orchestrator-worker", "demo:fast"));
    for (let i = 0; i < RUNS; i++) await run(template("parallelization", "demo:default"), (ms) => latencies.push(ms));
    const pids = processes.map((proc) => proc.child.pid!);
    const before = pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
    let tokens = 0;
    for (let i = 0; i < RUNS; i++) tokens += (await run(template("orchestrator-worker", "demo:fast"))).usage.outputTokens;
    const cpu = pids.reduce((sum, pid) => sum + cpuMs(pid), 0) - before;
    return { latencies: latencies.sort((a, b) => a - b), tokens, cpuMs: cpu, runs: RUNS };
  } finally {
    await stopAll();
  }
}

async function main(): Promise<void> {
  if (!base) {
    console.error("bench:cluster needs BENCH_DATABASE_URL or TEST_DATABASE_URL: a PostgreSQL role that may create databases");
    process.exit(1);
  }
  requireBuild();
  const local = await measure("in-process", 3316);
  const cluster = await measure("cluster", 3317);
  const row = (name: string, a: string, b: string, added: string, budget: string, pass: boolean | null) =>
    console.log(`${name.padEnd(28)}${a.padStart(12)}${b.padStart(12)}${added.padStart(10)}   ${budget.padEnd(36)}${pass === null ? "" : pass ? "PASS" : "FAIL"}`);
  const p = (m: Measured, q: number) => percentile(m.latencies, q);
  const tps = (m: Measured) => Math.round(m.tokens / (m.cpuMs / 1000));
  console.log(`\ncluster-stream: ${RUNS} runs of parallelization on demo:default (latency), ${RUNS} of orchestrator-worker on demo:fast (cost); PostgreSQL, production build\n`);
  row("", "in-process", "cluster", "added", "budget", null);
  row("delta → client p50 (ms)", p(local, 50).toFixed(1), p(cluster, 50).toFixed(1), (p(cluster, 50) - p(local, 50)).toFixed(1), `added ≤ ${BUDGET.addedP50Ms} ms`, p(cluster, 50) - p(local, 50) <= BUDGET.addedP50Ms);
  row("delta → client p95 (ms)", p(local, 95).toFixed(1), p(cluster, 95).toFixed(1), (p(cluster, 95) - p(local, 95)).toFixed(1), `cluster ≤ ${BUDGET.clusterP95Ms} ms`, p(cluster, 95) <= BUDGET.clusterP95Ms);
  row("deltas measured", String(local.latencies.length), String(cluster.latencies.length), "", "", null);
  row("output tokens / CPU-second", tps(local).toLocaleString("en"), tps(cluster).toLocaleString("en"), "", `cluster ≥ ${BUDGET.tokensPerCpuSecond.toLocaleString("en")} (web + worker)`, tps(cluster) >= BUDGET.tokensPerCpuSecond);
  row("CPU ms (all processes)", String(Math.round(local.cpuMs)), String(Math.round(cluster.cpuMs)), "", "", null);
}

main().catch(async (error: unknown) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
