/**
 * Server cost per streamed token, end to end (docs/architecture.md §10.2), part of `npm run bench`:
 * the production server (`npm start`: scripts/serve.ts, PGlite, every event recorded) driven over HTTP through the
 * run route the editor uses (`POST /api/runs`, events as JSON lines), with the demo model.
 *   - sequential runs (100, from 100 browsers in turn) and concurrent runs (100, 20 at once, from
 *     as many new browsers) of the orchestrator-worker and parallelization templates on
 *     `demo:fast`, on a warm server: output tokens per server CPU-second (the server process's own
 *     CPU time, all its threads), events per run, time to the first event;
 *   - 100 concurrent runs on `demo:default`: time to the first event, p50/p95;
 *   - the floors in this process: the provider's raw stream and the AI SDK's streamText.
 *   npm run bench:server -- [--quick]
 */
import type { ChildProcess } from "node:child_process";
import { parseArgs } from "node:util";
import { eventLines } from "@/lib/editor/run-request";
import { findTemplate, parseDocument, withModel, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import { measure, rawStream, sdkStream } from "./bench-tokens";
import { processCpuMs, SERVER_BENCH_ENV, startBenchServer, stopServer } from "./serve-command";

const PORT = Number(process.env.BENCH_SERVER_PORT ?? 3310);
/** Browsers sending the sequential runs in turn: at most 14 runs each in the whole bench, under the default 30 a minute. */
const BROWSERS = 100;
const BASE = `http://127.0.0.1:${PORT}`;

function template(id: string, model: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error(`invalid template ${id}`);
  return withModel(parsed.document, model);
}

type RunResult = { firstEventMs: number; totalMs: number; events: number; outputTokens: number; status: string; error?: string; setCookie: string };

/** One run through the run route, read as the browser reads it (one JSON event a line). */
async function runOnce(cookie: string, document: WorkflowDocument): Promise<RunResult> {
  const started = performance.now();
  const response = await fetch(`${BASE}/api/runs`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: BASE, ...(cookie ? { Cookie: cookie } : {}) },
    body: JSON.stringify({ runId: globalThis.crypto.randomUUID(), document, inputs: {} }),
  });
  if (!response.ok || !response.body) throw new Error(`the run route answered ${response.status}`);
  let firstEventMs = -1;
  let events = 0;
  let finished: RunEvent | undefined;
  for await (const event of eventLines(response.body)) {
    if (firstEventMs < 0) firstEventMs = performance.now() - started;
    events++;
    if (event.type === "run-finished") finished = event;
  }
  const setCookie = response.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  if (finished?.type !== "run-finished") return { firstEventMs, totalMs: performance.now() - started, events, outputTokens: 0, status: "unknown", setCookie };
  return { firstEventMs, totalMs: performance.now() - started, events, outputTokens: finished.usage.outputTokens, status: finished.status, ...(finished.error ? { error: finished.error.code } : {}), setCookie };
}

const percentile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] * 10) / 10;
};

/**
 * The browsers whose runs the sequential cases send, in turn: each has its identity cookie from its
 * first run. A server is used by many browsers, each within its per-minute limit (30 by default);
 * one browser starting a thousand runs a minute is not what a run costs (admission counts the
 * identity's runs of the last minute, up to its limit: about 0.8 ms more a run when one browser sent
 * every run of this bench at a limit of 100,000).
 */
class Browsers {
  private cookies: string[] = [];
  private turn = 0;
  constructor(readonly count: number) {}

  async run(document: WorkflowDocument): Promise<RunResult> {
    const slot = this.turn++ % this.count;
    const result = await runOnce(this.cookies[slot] ?? "", document);
    this.cookies[slot] ||= result.setCookie;
    return result;
  }
}

async function batch(label: string, server: ChildProcess, browsers: Browsers, document: WorkflowDocument, count: number, concurrent: number | false) {
  const cpuBefore = processCpuMs(server.pid!);
  const results: RunResult[] = [];
  // Concurrent runs come in waves, from as many browsers, each on its first run (one identity may
  // have only a few runs in progress).
  if (concurrent) {
    for (let left = count; left > 0; left -= concurrent) results.push(...(await Promise.all(Array.from({ length: Math.min(left, concurrent) }, () => runOnce("", document)))));
  } else for (let i = 0; i < count; i++) results.push(await browsers.run(document));
  const cpu = processCpuMs(server.pid!) - cpuBefore;
  const tokens = results.reduce((sum, r) => sum + r.outputTokens, 0);
  const failed = results.filter((r) => r.status !== "succeeded").length;
  const reasons = [...new Set(results.flatMap((r) => (r.error ? [r.error] : [])))];
  return {
    label: reasons.length ? `${label} (${reasons.join(", ")})` : label,
    runs: count,
    failed,
    outputTokens: tokens,
    eventsPerRun: Math.round(results.reduce((sum, r) => sum + r.events, 0) / count),
    serverCpuMs: Math.round(cpu),
    tokensPerCpuSecond: Math.round(tokens / (cpu / 1000)),
    firstEventP50: percentile(results.map((r) => r.firstEventMs), 0.5),
    firstEventP95: percentile(results.map((r) => r.firstEventMs), 0.95),
  };
}

/**
 * Runs both templates in rounds of `round` runs each until the server's CPU per run settles (two
 * rounds in a row no cheaper, by 5%, than the cheapest before them; four rounds at least) or `most` rounds: the first runs load
 * and compile everything, and V8 goes on optimising the hot paths for a few hundred runs. Returns
 * the server CPU per run of each round, which the report prints.
 */
async function warmUp(server: ChildProcess, browsers: Browsers, documents: WorkflowDocument[], round: number, most: number): Promise<number[]> {
  const perRun: number[] = [];
  for (let i = 0; i < most; i++) {
    const before = processCpuMs(server.pid!);
    for (const document of documents) for (let j = 0; j < round; j++) await browsers.run(document);
    perRun.push((processCpuMs(server.pid!) - before) / (round * documents.length));
    // Settled once two rounds in a row are no more than 5% below the cheapest round before them.
    const best = Math.min(...perRun.slice(0, -2));
    if (perRun.length >= 4 && perRun.slice(-2).every((ms) => ms >= 0.95 * best)) break;
  }
  return perRun;
}

async function main() {
  const { values } = parseArgs({ options: { quick: { type: "boolean" } } });
  // Enough runs a case that the server's CPU time (counted in 10 ms ticks) is read to about 1%.
  const n = values.quick ? 20 : 100;
  const round = values.quick ? 10 : 50;
  const floors = [await measure(rawStream), await measure(sdkStream)];
  // BENCH_PROFILE=dir writes a CPU profile of the server there when it stops.
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const server = await startBenchServer({ name: "bench-server", port: PORT, nodeArgs: profile, env: SERVER_BENCH_ENV });
  try {
    const orchestrator = template("orchestrator-worker", "demo:fast");
    const parallel = template("parallelization", "demo:fast");
    // Measured on a warm server, as one that has been serving is (warmUp). The sequential runs come
    // from 100 browsers in turn, each well within the default 30 runs a minute (Browsers).
    // (Fewer with --quick, whose 40 warm-up runs then give every browser its identity.)
    const browsers = new Browsers(values.quick ? 10 : BROWSERS);
    const warm = await warmUp(server, browsers, [orchestrator, parallel], round, values.quick ? 2 : 12);
    const burst = template("orchestrator-worker", "demo:default");
    const rows = [
      await batch(`orchestrator-worker × ${n} sequential`, server, browsers, orchestrator, n, false),
      await batch(`parallelization × ${n} sequential`, server, browsers, parallel, n, false),
      await batch(`orchestrator-worker × ${n} concurrent (20 at once)`, server, browsers, orchestrator, n, 20),
      await batch(`parallelization × ${n} concurrent (20 at once)`, server, browsers, parallel, n, 20),
      // The burst's model paces its stream on timers (coalescing windows, batches recorded while
      // the run goes on), which the demo:fast runs above never take: one wave of 20 first.
      await batch("demo:default × 20 concurrent (warm-up)", server, browsers, burst, 20, 20),
      await batch("demo:default × 100 concurrent", server, browsers, burst, 100, 100),
    ];

    console.log(`\nTrellis server benchmark — production server, run route over HTTP, PGlite recording every run\n`);
    console.log(`${"case".padEnd(56)}${"runs".padStart(6)}${"failed".padStart(8)}${"tokens".padStart(9)}${"events/run".padStart(12)}${"CPU ms".padStart(9)}${"tokens/CPU-s".padStart(14)}${"1st event p50".padStart(15)}${"p95".padStart(9)}`);
    for (const r of rows) {
      console.log(`${r.label.padEnd(56)}${String(r.runs).padStart(6)}${String(r.failed).padStart(8)}${String(r.outputTokens).padStart(9)}${String(r.eventsPerRun).padStart(12)}${String(r.serverCpuMs).padStart(9)}${String(r.tokensPerCpuSecond).padStart(14)}${`${r.firstEventP50} ms`.padStart(15)}${`${r.firstEventP95} ms`.padStart(9)}`);
    }
    console.log(`\nWarm-up: ${warm.length} rounds of ${round} runs of each template; server CPU per run, round by round: ${warm.map((ms) => ms.toFixed(1)).join(", ")} ms`);
    // A run's cost as a fixed part and a part per token, from the two sequential cases (702 and 244 tokens a run).
    const [long, short] = [rows[0], rows[1]].map((r) => ({ ms: r.serverCpuMs / r.runs, tokens: r.outputTokens / r.runs }));
    const perToken = (long.ms - short.ms) / (long.tokens - short.tokens);
    const perRun = short.ms - perToken * short.tokens;
    console.log(
      `\nSequential runs cost the server about ${perRun.toFixed(1)} ms a run plus ${(perToken * 1000).toFixed(1)} µs a token ` +
        `(fitted to the two templates): a run of ${short.tokens} tokens must cost at most ${(short.tokens / 50).toFixed(1)} ms for 50,000 a CPU-second.`,
    );
    console.log(`\nFloors in this process (no server): ${floors.map((f) => `${f.id} ${f.usPerToken.toFixed(1)} µs/token (${f.tokensPerCpuSecond} tokens/CPU-s)`).join("; ")}`);
    console.log(`\nBudgets (docs/architecture.md §10.2)`);
    const endToEnd = Math.min(...rows.slice(0, 4).map((r) => r.tokensPerCpuSecond));
    console.log(`${endToEnd >= 50_000 ? "PASS" : "FAIL"}  output tokens per server CPU-second, end to end: ${endToEnd} in the slowest case (budget ≥ 50,000)`);
    const hundred = rows[5];
    console.log(`${hundred.firstEventP95 <= 500 && hundred.failed === 0 ? "PASS" : "FAIL"}  100 concurrent demo:default runs: first event p95 ${hundred.firstEventP95} ms, ${hundred.failed} not succeeded (budget ≤ 500 ms)`);
  } finally {
    await stopServer(server);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
