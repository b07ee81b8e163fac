/**
 * `npm run load`: N runs at once (default 50) through a production Trellis server on 127.0.0.1,
 * driven over HTTP like browsers drive them, on the demo model with 10% of runs meeting an
 * injected fault (429 with Retry-After, 500, a cut stream, a hung call that the first-token
 * timeout ends). It reports runs/s, time to first event, delta-to-client latency, the server's
 * RSS before / at peak / after, and /api/ready latency while loaded; it exits non-zero when a run
 * does not reach a terminal state in time, an unhandled rejection is logged, or the server's
 * memory is not back within 20% of where it started.
 *
 * By default it starts its own server (`npm start`'s scripts/serve.ts on the build in this directory, a fresh
 * PGlite data dir, or DATABASE_URL when set) with the fault settings; `--url` with `--pid` uses a
 * server that is already running (its own fault settings apply then). A tool, not a test.
 *
 * Before measuring it sends a warm-up round of the same size (`--warmup`), so "before" is a warm
 * server whose heap has grown to what this load needs.
 *
 *   npm run load -- [--runs 50] [--warmup 50] [--timeout-s 120] [--settle-s 15] [--fault-share 0.1] [--url http://127.0.0.1:3000 --pid 1234]
 */
import { readFileSync, readdirSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { ActionClient } from "../e2e-faults/client";
import { APP_DIR, newDataDir, startServer, type Server } from "../e2e-faults/server";
import { findTemplate, parseDocument, type RunEvent, type WorkflowDocument } from "../lib/workflow";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "50" },
    "timeout-s": { type: "string", default: "120" },
    "settle-s": { type: "string", default: "15" },
    "fault-share": { type: "string", default: "0.1" },
    warmup: { type: "string" },
    url: { type: "string" },
    pid: { type: "string" },
  },
});

const RUNS = Number(args.runs);
const TIMEOUT_MS = Number(args["timeout-s"]) * 1000;
const SETTLE_MS = Number(args["settle-s"]) * 1000;
const FAULT_SHARE = Number(args["fault-share"]);
const WARMUP = args.warmup === undefined ? RUNS : Number(args.warmup);
/** Memory after the load may be at most this much above where it started. */
const MEMORY_SLACK = 0.2;

const FAULT_KINDS = ["rate-limit", "server-error", "cut", "hang"] as const;
const FAULTS = JSON.stringify(
  FAULT_KINDS.map((kind) => ({ kind, match: `LOAD-FAULT-${kind}`, ...(kind === "rate-limit" ? { retryAfterSeconds: 0.5 } : {}) })),
);

let unhandled = 0;
process.on("unhandledRejection", (reason) => {
  unhandled++;
  console.error("load: unhandled rejection in the load tool:", reason);
});

// ── the server's memory ─────────────────────────────────────────────────────────

/** RSS of a process and its descendants (Next.js may fork workers), in bytes. */
function treeRss(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length) {
    const current = stack.pop()!;
    try {
      const status = readFileSync(`/proc/${current}/status`, "utf8");
      total += Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
      for (const task of readdirSync(`/proc/${current}/task`)) {
        const children = readFileSync(`/proc/${current}/task/${task}/children`, "utf8").trim();
        if (children) stack.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // The process ended meanwhile: it holds no memory.
    }
  }
  return total;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} ms` : "n/a");

// ── one run ─────────────────────────────────────────────────────────────────────

type RunResult = { status: string; firstEventMs: number; deltaLatencies: number[]; error?: string };

async function oneRun(baseUrl: string, document: WorkflowDocument, topic: string, deadline: AbortSignal): Promise<RunResult> {
  // One browser per run: each identity's rate limit stays out of the way.
  const client = new ActionClient(baseUrl, APP_DIR);
  const sent = performance.now();
  let firstEventMs = NaN;
  let startedAt = 0;
  const deltaLatencies: number[] = [];
  try {
    for await (const event of client.run(document, { runId: randomUUID(), inputs: { topic }, signal: deadline }) as AsyncIterable<RunEvent>) {
      if (Number.isNaN(firstEventMs)) firstEventMs = performance.now() - sent;
      if (event.type === "run-started") startedAt = event.at ?? 0;
      // Same machine, same clock: when the server emitted it (its start plus its run time) to now.
      if (event.type === "node-delta" && startedAt) deltaLatencies.push(Date.now() - (startedAt + event.t));
      if (event.type === "run-finished") return { status: event.status, firstEventMs, deltaLatencies, error: event.error?.code };
    }
    return { status: "no-end", firstEventMs, deltaLatencies };
  } catch (error) {
    return { status: deadline.aborted ? "timed-out" : "transport-error", firstEventMs, deltaLatencies, error: error instanceof Error ? error.message : String(error) };
  }
}

// ── the load ────────────────────────────────────────────────────────────────────

async function main(): Promise<number> {
  const parsed = parseDocument(findTemplate("parallelization")!.json);
  if (!parsed.ok) throw new Error("the parallelization template does not parse");
  const document = parsed.document;

  let server: Server | null = null;
  let baseUrl = args.url;
  let pid = args.pid ? Number(args.pid) : NaN;
  if (!baseUrl) {
    server = await startServer({
      env: {
        TRELLIS_DATA_DIR: newDataDir(),
        DATABASE_URL: process.env.DATABASE_URL ?? "",
        TRELLIS_DEMO_FAULTS: FAULTS,
        // A hung call becomes a failed node in 3 s instead of a minute.
        TRELLIS_FIRST_TOKEN_TIMEOUT_MS: "3000",
        TRELLIS_RUNS_PER_MINUTE: String(Math.max(30, RUNS * 2)),
        // Admission lets the whole load in (each run reserves up to 8 model-call slots), so it
        // measures running runs, not refusing them.
        TRELLIS_MAX_CONCURRENT_RUNS: String(Math.max(20, RUNS)),
        TRELLIS_MAX_CONCURRENT_MODEL_CALLS: String(Math.max(64, RUNS * 8)),
      },
    });
    await server.ready();
    baseUrl = server.url;
    pid = server.child.pid!;
  }
  const output = () => server?.output() ?? "";
  console.log(`load: ${RUNS} concurrent runs of "${document.name}" against ${baseUrl}${server ? " (started here)" : ""}, ${Math.round(FAULT_SHARE * 100)}% with an injected fault`);

  // Warm up with a round of the same load: code loaded, caches and V8's heap grown to what this
  // load needs (V8 seldom gives heap back to the system). "Before" is that warm server; memory
  // that keeps growing from one round to the next is what a leak looks like.
  const warm = AbortSignal.timeout(TIMEOUT_MS);
  await Promise.all(Array.from({ length: WARMUP }, (_, i) => oneRun(baseUrl!, document, `warm-up ${i}`, warm)));
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const rssBefore = Number.isNaN(pid) ? NaN : treeRss(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    if (!Number.isNaN(pid)) rssPeak = Math.max(rssPeak, treeRss(pid));
  }, 100);

  const readiness: number[] = [];
  let readyFailures = 0;
  let loading = true;
  const prober = (async () => {
    while (loading) {
      const start = performance.now();
      const response = await fetch(`${baseUrl}/api/ready`).catch(() => null);
      readiness.push(performance.now() - start);
      if (!response?.ok) readyFailures++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();

  const deadline = AbortSignal.timeout(TIMEOUT_MS);
  // Every tenth run (by default) carries a fault marker its model calls trip over, the kinds in turn.
  const every = FAULT_SHARE > 0 ? Math.max(1, Math.round(1 / FAULT_SHARE)) : Infinity;
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: RUNS }, (_, i) => {
      const fault = i % every === 0 ? FAULT_KINDS[(i / every) % FAULT_KINDS.length] : null;
      return oneRun(baseUrl!, document, fault ? `LOAD-FAULT-${fault} load ${i}` : `load ${i}`, deadline);
    }),
  );
  const wallMs = performance.now() - started;
  loading = false;
  await prober;

  // Settle: memory comes back as the garbage collector gets to it.
  let rssAfter = Number.isNaN(pid) ? NaN : treeRss(pid);
  const settleUntil = Date.now() + SETTLE_MS;
  while (!Number.isNaN(pid) && rssAfter > rssBefore * (1 + MEMORY_SLACK) && Date.now() < settleUntil) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    rssAfter = treeRss(pid);
  }
  clearInterval(sampler);

  const statuses = new Map<string, number>();
  for (const result of results) {
    const key = result.status === "failed" && result.error ? `failed (${result.error})` : result.status;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
  }
  const terminal = results.filter((result) => ["succeeded", "failed", "cancelled"].includes(result.status)).length;
  const firstEvents = results.map((result) => result.firstEventMs).filter(Number.isFinite);
  const deltas = results.flatMap((result) => result.deltaLatencies);
  const serverUnhandled = (output().match(/unhandledRejection|uncaughtException|Unhandled Rejection/gi) ?? []).length;

  console.log(`runs:            ${RUNS} in ${(wallMs / 1000).toFixed(1)} s = ${((terminal / wallMs) * 1000).toFixed(1)} runs/s; ${[...statuses].map(([status, n]) => `${status} ${n}`).join(", ")}`);
  console.log(`first event:     p50 ${ms(percentile(firstEvents, 50))}, p95 ${ms(percentile(firstEvents, 95))}`);
  console.log(`delta → client:  p50 ${ms(percentile(deltas, 50))}, p95 ${ms(percentile(deltas, 95))} (${deltas.length} deltas)`);
  console.log(`server RSS:      before ${mb(rssBefore)}, peak ${mb(rssPeak)}, after ${mb(rssAfter)}`);
  console.log(`/api/ready:      p95 ${ms(percentile(readiness, 95))} over ${readiness.length} probes, ${readyFailures} not ready`);

  const problems: string[] = [];
  if (terminal < RUNS) {
    const stuck = results.filter((result) => !["succeeded", "failed", "cancelled"].includes(result.status));
    problems.push(`${RUNS - terminal} runs did not reach a terminal state (${stuck.map((result) => result.error ?? result.status).slice(0, 3).join("; ")})`);
  }
  if (unhandled + serverUnhandled > 0) problems.push(`${unhandled + serverUnhandled} unhandled rejections or exceptions were logged`);
  if (rssAfter > rssBefore * (1 + MEMORY_SLACK)) problems.push(`server memory did not come back: ${mb(rssAfter)} after vs ${mb(rssBefore)} before (more than ${MEMORY_SLACK * 100}% above)`);
  const unexpected = results.filter((result) => result.status === "failed" && !result.error).length;
  if (unexpected) problems.push(`${unexpected} runs failed without an error code`);

  if (server) await server.stop("SIGTERM");
  for (const problem of problems) console.error(`load: FAIL: ${problem}`);
  if (!problems.length) console.log("load: ok");
  return problems.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error("load: could not run:", error);
    process.exit(2);
  },
);
