/**
 * Engine benchmark (docs/architecture.md §10):
 *   npm run bench -- [--quick] [--filter REGEX] [--out FILE] [--compare FILE] [--full-gc] [--no-server] [--no-browser]
 *   (--filter eval-1000: the evaluation of 1,000 recorded rows, scripts/bench-eval.ts)
 * Measures the engine alone with a fake model that waits a given number of milliseconds.
 * `npm run bench` bundles this file with esbuild first, so the engine runs as it ships, without
 * a TypeScript loader's wrappers around every function.
 *
 * GC before each timed run: a minor GC (the young generation, where the previous run's garbage
 * is) by default. A forced full GC in V8 also throws away type feedback and optimised code, so
 * the run after it measures re-warm-up rather than the engine; `--full-gc` measures that anyway.
 */
import { randomUUID } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  compileWorkflow,
  runCompiled,
  type CompiledWorkflow,
  type ModelCall,
  type ModelPort,
  type RunEvent,
  type RunLimits,
  type WorkflowDocument,
  type WorkflowEdge,
  type WorkflowNode,
} from "@/lib/workflow";
import type { Db } from "@/lib/server/db/connect";
import { hostileBudgets, measureHostile, type HostileResult } from "./bench-hostile";
import { benchEval, evalBenchChild, evalBudgets, printEvalBench, type EvalBenchResult } from "./bench-eval";
import { benchTopology } from "./bench-topology";

const LIMITS: Partial<RunLimits> = {
  maxNodes: 5_000,
  maxMapItems: 1_000,
  maxConcurrency: 100_000,
  maxModelCalls: 1_000_000,
  maxLoopIterations: 10,
};

// ── Seeded latencies ──────────────────────────────────────────────────────────

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const LATENCIES = (() => {
  const r = mulberry32(42);
  return Array.from({ length: 1_000 }, () => 10 + Math.floor(r() * 91));
})();

function checkLatencies() {
  const expected = [64, 50, 87, 70, 25, 57, 34, 66, 88, 52];
  const max = (n: number) => Math.max(...LATENCIES.slice(0, n));
  const sum500 = LATENCIES.slice(0, 500).reduce((a, b) => a + b, 0);
  const ok =
    LATENCIES.slice(0, 10).every((v, i) => v === expected[i]) &&
    [max(5), max(50), max(100), max(500)].join() === "87,90,100,100" &&
    sum500 === 27457;
  if (!ok) throw new Error("mulberry32 latencies do not match the spec's check values");
}

// ── Fake model: completes after `ms` on the platform timer; 0 ms yields once, never through a timer ──

type Latency = (call: ModelCall) => number;

function fakeModel(latency: Latency, answer: (call: ModelCall) => unknown, onReturn?: (call: ModelCall) => void): ModelPort {
  return {
    async *stream(call) {
      const ms = latency(call);
      if (ms === 0) await Promise.resolve();
      else await new Promise((resolve) => setTimeout(resolve, ms));
      onReturn?.(call);
      const object = call.schema ? answer(call) : undefined;
      if (!call.schema) yield { type: "text", delta: call.prompt };
      yield { type: "finish", finishReason: "stop", object };
    },
  };
}

// ── Documents ─────────────────────────────────────────────────────────────────

function doc(nodes: WorkflowNode[], links: Array<[string, string, string?]>, inputs = true): WorkflowDocument {
  const edges: WorkflowEdge[] = links.map(([source, target, port = "out"], i) => ({ id: `e${i}`, source, sourcePort: port, target, targetPort: "in" }));
  return {
    format: "trellis.workflow",
    version: 1,
    name: "bench",
    inputs: inputs ? [{ key: "topic", label: "Topic", type: "text", default: "bench" }] : [],
    nodes: [{ id: "in", kind: "input", label: "in", position: { x: 0, y: 0 }, config: {} }, ...nodes],
    edges,
  };
}

const llm = (id: string): WorkflowNode => ({ id, kind: "llm", label: id, position: { x: 0, y: 0 }, config: { outputKey: id, prompt: id } });

type Case = {
  id: string;
  idealMs: number;
  nodeExecutions: number;
  document: WorkflowDocument;
  latency: Latency;
  answer?: (call: ModelCall) => unknown;
  /** Checks the final state once before timing. */
  check(state: Record<string, unknown>): string | null;
  zeroLatency: boolean;
  /** The same latencies with bare timers and promises, no engine: what this machine's timers allow. */
  floor?: () => Promise<unknown>;
};

const wait = (ms: number) => (ms === 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms)));

/** Runs a DAG of latencies with plain promises: each node waits for its predecessors, then its own latency. */
function dagFloor(latencies: Record<string, number>, links: Array<[string, string]>) {
  return () => {
    const done = new Map<string, Promise<unknown>>([["in", Promise.resolve()]]);
    const resolve = (id: string): Promise<unknown> => {
      let promise = done.get(id);
      if (!promise) {
        const preds = links.filter(([, to]) => to === id).map(([from]) => resolve(from));
        promise = Promise.all(preds).then(() => wait(latencies[id]));
        done.set(id, promise);
      }
      return promise;
    };
    return Promise.all(Object.keys(latencies).map(resolve));
  };
}

function chain(n: number): Case {
  const nodes = Array.from({ length: n }, (_, i) => llm(`n${i}`));
  return {
    id: `chain-${n}`,
    idealMs: 0,
    nodeExecutions: n,
    zeroLatency: true,
    document: doc(nodes, nodes.map((node, i) => [i ? `n${i - 1}` : "in", node.id])),
    latency: () => 0,
    check: (state) => (nodes.every((node) => state[node.id] === node.id) ? null : "not every chain node ran"),
  };
}

function fanout(w: number, latency: Latency = () => 0, id = `fanout-${w}`): Case {
  const nodes = Array.from({ length: w }, (_, i) => llm(`w${i}`));
  return {
    id,
    idealMs: Math.max(0, ...nodes.map((node) => latency({ model: "", prompt: node.id }))),
    nodeExecutions: w + 1,
    zeroLatency: true,
    document: doc([...nodes, llm("join")], [...nodes.map((node): [string, string] => ["in", node.id]), ...nodes.map((node): [string, string] => [node.id, "join"])]),
    latency,
    check: (state) => (nodes.filter((node) => state[node.id] === node.id).length === w && state.join === "join" ? null : "fan-out results missing"),
  };
}

function uneven(id: string, latencies: Record<string, number>, links: Array<[string, string]>, ideal: number): Case {
  const nodes = Object.keys(latencies).map(llm);
  return {
    id,
    idealMs: ideal,
    nodeExecutions: nodes.length,
    zeroLatency: false,
    document: doc(nodes, links),
    latency: (call) => latencies[call.prompt] ?? 0,
    floor: dagFloor(latencies, links),
    check: (state) => (nodes.every((node) => state[node.id] === node.id) ? null : "not every node ran"),
  };
}

function uneven3x3(): Case {
  const latencies: Record<string, number> = {};
  const links: Array<[string, string]> = [];
  for (let b = 0; b < 3; b++) {
    for (let l = 0; l < 3; l++) {
      latencies[`b${b}l${l}`] = b === l ? 100 : 10;
      links.push([l ? `b${b}l${l - 1}` : "in", `b${b}l${l}`]);
    }
    links.push([`b${b}l2`, "E"]);
  }
  latencies.E = 0;
  return uneven("uneven-3x3", latencies, links, 120);
}

function orchestrator(k: number, random: boolean): Case {
  const workerLatency = (index: number) => (random ? LATENCIES[index] : 0);
  const nodes: WorkflowNode[] = [
    { id: "plan", kind: "orchestrator", label: "plan", position: { x: 0, y: 0 }, config: { outputKey: "sections", prompt: "plan", maxItems: k } },
    { id: "work", kind: "worker", label: "work", position: { x: 0, y: 0 }, config: { forEach: "sections", outputKey: "results", prompt: "w{{index}}", concurrency: Math.max(1, k) } },
    { id: "synth", kind: "synthesizer", label: "synth", position: { x: 0, y: 0 }, config: { mode: "llm", from: "results", outputKey: "report", prompt: "synth" } },
  ];
  return {
    id: `orchestrator-${k}/${random ? "rand10-100ms" : "0ms"}`,
    idealMs: random ? Math.max(...LATENCIES.slice(0, k)) : 0,
    nodeExecutions: k + 2,
    zeroLatency: !random,
    document: doc(nodes, [["in", "plan"], ["plan", "work", "plan"], ["work", "synth"]]),
    latency: (call) => (/^w\d+$/.test(call.prompt) ? workerLatency(Number(call.prompt.slice(1)) - 1) : 0),
    answer: () => ({ items: Array.from({ length: k }, (_, i) => ({ name: `s${i}`, description: `d${i}` })) }),
    floor: random ? () => wait(0).then(() => Promise.all(LATENCIES.slice(0, k).map(wait))).then(() => wait(0)) : undefined,
    check: (state) => {
      const results = state.results as string[] | undefined;
      return results?.length === k && results.every((r, i) => r === `w${i + 1}`) && state.report === "synth" ? null : "map results missing or out of order";
    },
  };
}

function evalOpt(): Case {
  let calls = 0;
  const nodes: WorkflowNode[] = [
    llm("gen"),
    { id: "grade", kind: "evaluator", label: "grade", position: { x: 0, y: 0 }, config: { key: "gen", gradeKey: "grade_result", feedbackKey: "feedback", criteria: "good", maxIterations: 10 } },
  ];
  return {
    id: "eval-opt-5",
    idealMs: 0,
    nodeExecutions: 10,
    zeroLatency: true,
    document: doc(nodes, [["in", "gen"], ["gen", "grade"], ["grade", "gen", "revise"]]),
    latency: () => 0,
    // Accepts on every fifth grading: each run makes exactly five.
    answer: () => ({ grade: ++calls % 5 === 0 ? "pass" : "fail", feedback: "again" }),
    check: (state) => (state.grade_result === "pass" ? null : "the loop did not accept"),
  };
}

const CASES: Array<() => Case> = [
  () => chain(1),
  () => chain(10),
  () => chain(100),
  () => chain(1000),
  () => fanout(10),
  () => fanout(100),
  () => fanout(1000),
  () => uneven("uneven-2x2", { A: 100, B: 10, C: 10, D: 100, E: 0 }, [["in", "A"], ["in", "B"], ["A", "C"], ["B", "D"], ["C", "E"], ["D", "E"]], 110),
  uneven3x3,
  () => orchestrator(5, false),
  () => orchestrator(50, false),
  () => orchestrator(500, false),
  () => orchestrator(5, true),
  () => orchestrator(50, true),
  () => orchestrator(500, true),
  evalOpt,
];

// ── Measurement ───────────────────────────────────────────────────────────────

type Stats = { n: number; min: number; median: number; max: number };

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { n: sorted.length, min: sorted[0], median, max: sorted[sorted.length - 1] };
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
let fullGc = false;
const collect = (globalThis as { gc?: (options?: { type: "minor" | "major" }) => void }).gc;
const gc = () => collect?.(fullGc ? undefined : { type: "minor" });
/** Before each case: a full collection of what earlier cases left, so it is not paid during this one. */
const gcBetweenCases = () => collect?.();

function compile(c: Case): { workflow: CompiledWorkflow; compileMs: number } {
  const started = performance.now();
  const compiled = compileWorkflow(c.document, LIMITS);
  const compileMs = performance.now() - started;
  if (!compiled.ok) throw new Error(`${c.id}: ${compiled.issues[0].message}`);
  return { workflow: compiled.workflow, compileMs };
}

async function runOnce(c: Case, workflow: CompiledWorkflow, port: ModelPort, onEvent?: (event: RunEvent) => void) {
  let finished: Extract<RunEvent, { type: "run-finished" }> | undefined;
  const started = performance.now();
  for await (const event of runCompiled(workflow, { models: port, limits: LIMITS })) {
    onEvent?.(event);
    if (event.type === "run-finished") finished = event;
  }
  const wallMs = performance.now() - started;
  if (finished?.status !== "succeeded") throw new Error(`${c.id}: run ${finished?.status}: ${finished?.error?.message}`);
  return { wallMs, state: finished.state };
}

async function measure(c: Case, quick: boolean) {
  gcBetweenCases();
  const { workflow, compileMs } = compile(c);
  const port = fakeModel(c.latency, c.answer ?? (() => ({})));
  const first = await runOnce(c, workflow, port);
  const problem = c.check(first.state);
  if (problem) throw new Error(`${c.id}: ${problem}`);
  const warmStart = performance.now();
  for (let i = 0; i < 2 || performance.now() - warmStart < 600; i++) await runOnce(c, workflow, port);
  const walls: number[] = [];
  for (let i = 0; i < (quick ? 5 : 7); i++) {
    gc();
    walls.push((await runOnce(c, workflow, port)).wallMs);
  }
  const wallMs = stats(walls);
  const result: Record<string, unknown> = {
    id: c.id,
    idealMs: c.idealMs,
    nodeExecutions: c.nodeExecutions,
    compileMs: round(compileMs),
    wallMs: mapStats(wallMs, (v) => round(v)),
  };
  if (c.zeroLatency && c.idealMs === 0) result.perNodeUs = mapStats(wallMs, (v) => round(((v - c.idealMs) * 1000) / c.nodeExecutions, 2));
  if (c.floor) {
    const floors: number[] = [];
    for (let i = 0; i < (quick ? 5 : 7); i++) {
      gc();
      const started = performance.now();
      await c.floor();
      floors.push(performance.now() - started);
    }
    result.timerFloorMs = mapStats(stats(floors), (v) => round(v));
  }
  return result;
}

function mapStats(s: Stats, f: (v: number) => number): Stats {
  return { n: s.n, min: f(s.min), median: f(s.median), max: f(s.max) };
}

/**
 * The delay from a model call's return to its node-finished event reaching the consumer. With
 * `db`, every event also goes through the run recorder into that database as the app records a
 * run (PGlite runs its queries on this same thread, so its writes compete with the stream), and the
 * wait for the final write — the one the app makes before sending the last event — is reported.
 */
async function measureStreaming(id: string, random: boolean, quick: boolean, db?: Db) {
  const base = fanout(100, random ? (call) => (call.prompt.startsWith("w") ? LATENCIES[Number(call.prompt.slice(1))] : 0) : () => 0, id);
  gcBetweenCases();
  const { workflow } = compile(base);
  const returned = new Map<string, number>();
  const port = fakeModel(base.latency, () => ({}), (call) => returned.set(call.prompt, performance.now()));
  const runStats: Array<{ median: number; p95: number; max: number; finalWriteMs: number; writes: number }> = [];
  const runs = Math.max(5, quick ? 5 : 7);
  for (let i = 0; i < 2 + runs; i++) {
    returned.clear();
    const delays: number[] = [];
    let recorder: InstanceType<typeof import("@/lib/server/recorder").RunRecorder> | undefined;
    if (db) {
      // Loaded only for this case, so the other cases (and their memory figures) do not carry a database.
      const { createRun, runRecordSink } = await import("@/lib/server/db/queries");
      const { RunRecorder } = await import("@/lib/server/recorder");
      const runId = randomUUID();
      await createRun(db, { id: runId, owner: "bench", document: base.document, inputs: {}, processId: "bench" });
      recorder = new RunRecorder(runRecordSink(db, runId));
    }
    let last: RunEvent | undefined;
    gc();
    await runOnce(base, workflow, port, (event) => {
      recorder?.push(event);
      last = event;
      if (event.type === "node-finished" && /^w\d+$/.test(event.nodeId)) delays.push(performance.now() - returned.get(event.nodeId)!);
    });
    const writeStarted = performance.now();
    if (recorder && last?.type === "run-finished") await recorder.finish(last);
    const finalWriteMs = performance.now() - writeStarted;
    if (i < 2) continue;
    delays.sort((a, b) => a - b);
    runStats.push({ median: delays[delays.length >> 1], p95: delays[Math.floor(delays.length * 0.95)], max: delays[delays.length - 1], finalWriteMs, writes: recorder?.writes ?? 0 });
  }
  const medianOf = (key: "median" | "p95" | "max" | "finalWriteMs" | "writes") => ({ median: round(stats(runStats.map((r) => r[key])).median) });
  const result: Record<string, unknown> = { id, idealMs: base.idealMs, updates: { medianMs: medianOf("median"), p95Ms: medianOf("p95"), maxMs: medianOf("max") } };
  if (db) Object.assign(result, { finalWriteMs: medianOf("finalWriteMs"), batches: medianOf("writes") });
  return result;
}

/** Runs a case three times in this (fresh) process and reports peak memory. */
async function rssChild(id: string) {
  const baseline = process.memoryUsage().rss;
  const make = CASES.find((f) => f().id === id)!;
  const c = make();
  const { workflow } = compile(c);
  const port = fakeModel(c.latency, c.answer ?? (() => ({})));
  for (let i = 0; i < 3; i++) await runOnce(c, workflow, port);
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ peakRssMB: round(peak / 2 ** 20, 1), peakRssDeltaMB: round((peak - baseline) / 2 ** 20, 1) }));
}

function measureRss(id: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", ...process.execArgv.filter((a) => a !== "--expose-gc"), process.argv[1], "--rss-child", id], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.on("close", (code) => (code === 0 ? resolve({ id: `peak-rss:${id}`, ...JSON.parse(out) }) : reject(new Error(`peak-rss:${id} exited ${code}`))));
  });
}

// ── Report ────────────────────────────────────────────────────────────────────

type Report = {
  engine: string;
  node: string;
  at: string;
  gc: "full" | "minor";
  results: Array<Record<string, unknown>>;
  streaming: Array<Record<string, unknown>>;
  memory: Array<Record<string, unknown>>;
  hostile: HostileResult[];
  evaluation?: EvalBenchResult;
};

function budgets(report: Report): string[] {
  const lines: string[] = [];
  const find = (id: string) => report.results.find((r) => r.id === id) as { wallMs: Stats; perNodeUs?: Stats; idealMs: number; timerFloorMs?: Stats } | undefined;
  const floorNote = (r: { timerFloorMs?: Stats }) => (r.timerFloorMs ? `; bare timers alone: ${r.timerFloorMs.median} ms` : "");
  for (const id of ["chain-1000", "fanout-1000"]) {
    const r = find(id);
    if (r?.perNodeUs) lines.push(`${r.perNodeUs.median <= 50 ? "PASS" : "FAIL"}  ${id}: ${r.perNodeUs.median} µs/node (budget ≤ 50)`);
  }
  for (const id of ["uneven-2x2", "uneven-3x3"]) {
    const r = find(id);
    if (r) lines.push(`${r.wallMs.median <= r.idealMs * 1.05 ? "PASS" : "FAIL"}  ${id}: ${r.wallMs.median} ms = ${round(r.wallMs.median / r.idealMs, 3)} × critical path (budget ≤ 1.05${floorNote(r)})`);
  }
  const map = find("orchestrator-500/rand10-100ms");
  if (map) lines.push(`${map.wallMs.median <= map.idealMs * 1.1 ? "PASS" : "FAIL"}  orchestrator-500/rand10-100ms: ${map.wallMs.median} ms = ${round(map.wallMs.median / map.idealMs, 3)} × slowest worker (budget ≤ 1.10${floorNote(map)})`);
  const loop = find("eval-opt-5");
  if (loop?.perNodeUs) lines.push(`${loop.perNodeUs.median * 2 <= 100 ? "PASS" : "FAIL"}  eval-opt-5: ${round(loop.perNodeUs.median * 2, 2)} µs per loop iteration (budget ≤ 100)`);
  return lines;
}

function printTable(report: Report, previous?: Report) {
  const pad = (text: unknown, width: number) => String(text).padStart(width);
  console.log(`\nTrellis engine benchmark — node ${report.node}, ${report.at}, ${report.gc} GC before each run\n`);
  console.log(`${"case".padEnd(32)}${pad("runs", 6)}${pad("ideal ms", 10)}${pad("min ms", 10)}${pad("median ms", 11)}${pad("max ms", 10)}${pad("µs/node", 10)}${pad("compile ms", 12)}${pad("timer floor", 13)}${previous ? pad("vs prev", 10) : ""}`);
  for (const r of report.results as Array<{ id: string; idealMs: number; nodeExecutions: number; wallMs: Stats; perNodeUs?: Stats; compileMs: number; timerFloorMs?: Stats }>) {
    const before = previous?.results.find((p) => p.id === r.id) as { wallMs: Stats } | undefined;
    const ratio = before ? `${round(r.wallMs.median / before.wallMs.median, 2)}×` : "";
    console.log(
      `${r.id.padEnd(32)}${pad(r.wallMs.n, 6)}${pad(r.idealMs, 10)}${pad(r.wallMs.min, 10)}${pad(r.wallMs.median, 11)}${pad(r.wallMs.max, 10)}${pad(r.perNodeUs?.median ?? "", 10)}${pad(r.compileMs, 12)}${pad(r.timerFloorMs?.median ?? "", 13)}${previous ? pad(ratio, 10) : ""}`,
    );
  }
  if (report.streaming.length) {
    console.log(`\n${"streaming (finished-event delay)".padEnd(42)}${pad("median ms", 11)}${pad("p95 ms", 10)}${pad("max ms", 10)}${pad("final write ms", 16)}${pad("batches", 9)}`);
    for (const s of report.streaming as Array<{ id: string; updates: Record<string, { median: number }>; finalWriteMs?: { median: number }; batches?: { median: number } }>) {
      console.log(
        `${s.id.padEnd(42)}${pad(s.updates.medianMs.median, 11)}${pad(s.updates.p95Ms.median, 10)}${pad(s.updates.maxMs.median, 10)}${pad(s.finalWriteMs?.median ?? "", 16)}${pad(s.batches?.median ?? "", 9)}`,
      );
    }
  }
  if (report.memory.length) {
    console.log(`\n${"memory".padEnd(44)}${pad("peak RSS MB", 13)}${pad("Δ MB", 8)}`);
    for (const m of report.memory as Array<{ id: string; peakRssMB: number; peakRssDeltaMB: number }>) console.log(`${m.id.padEnd(44)}${pad(m.peakRssMB, 13)}${pad(m.peakRssDeltaMB, 8)}`);
  }
  if (report.evaluation) printEvalBench(report.evaluation);
  const lines = [...budgets(report), ...hostileBudgets(report.hostile), ...(report.evaluation ? evalBudgets(report.evaluation) : [])];
  if (lines.length) console.log(`\nBudgets (docs/architecture.md §10)\n${lines.join("\n")}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      filter: { type: "string" },
      out: { type: "string" },
      compare: { type: "string" },
      "full-gc": { type: "boolean" },
      "rss-child": { type: "string" },
      "eval-child": { type: "boolean" },
      "no-server": { type: "boolean" },
      "no-browser": { type: "boolean" },
    },
  });
  fullGc = Boolean(values["full-gc"]);
  if (values["rss-child"]) return rssChild(values["rss-child"]);
  if (values["eval-child"]) return evalBenchChild();
  checkLatencies();
  if (!(globalThis as { gc?: unknown }).gc) console.warn("(no --expose-gc: runs are not preceded by a GC)");
  const filter = new RegExp(values.filter ?? ".");
  const quick = Boolean(values.quick);
  const report: Report = { engine: "trellis", node: process.version, at: new Date().toISOString(), gc: fullGc ? "full" : "minor", results: [], streaming: [], memory: [], hostile: [] };
  for (const make of CASES) {
    const c = make();
    if (!filter.test(c.id)) continue;
    process.stderr.write(`${c.id}…\n`);
    report.results.push(await measure(c, quick));
  }
  for (const [id, random] of [["stream-fanout-100/0ms", false], ["stream-fanout-100/rand10-100ms", true]] as const) {
    if (!filter.test(id)) continue;
    process.stderr.write(`${id}…\n`);
    report.streaming.push(await measureStreaming(id, random, quick));
  }
  for (const id of ["chain-1000", "fanout-1000", "orchestrator-500/0ms", "orchestrator-500/rand10-100ms"]) {
    if (!filter.test(`peak-rss:${id}`)) continue;
    process.stderr.write(`peak-rss:${id}…\n`);
    report.memory.push(await measureRss(id));
  }
  if (filter.test("hostile")) {
    process.stderr.write("hostile…\n");
    gcBetweenCases();
    report.hostile = await measureHostile();
  }
  // An evaluation of 1,000 rows with every run recorded, in a child process (scripts/bench-eval.ts).
  if (filter.test("eval-1000")) {
    process.stderr.write("eval-1000…\n");
    report.evaluation = await benchEval(["--expose-gc", ...process.execArgv.filter((a) => a !== "--expose-gc"), process.argv[1], "--eval-child"]);
  }
  // Does the topology router pick the fastest of the four? (scripts/bench-topology.ts)
  if (filter.test("topology")) benchTopology(quick);
  // The same stream while the app's recorder writes every event to embedded PGlite. Last: its
  // database stays in this process's memory, and a child started after it would inherit that peak.
  if (filter.test("stream-fanout-100/rand10-100ms+recorded")) {
    process.stderr.write("stream-fanout-100/rand10-100ms+recorded…\n");
    const { openDatabase } = await import("@/lib/server/db/connect");
    const database = await openDatabase({});
    report.streaming.push(await measureStreaming("stream-fanout-100/rand10-100ms+recorded", true, quick, database.db));
    await database.close();
  }
  const previous = values.compare ? (JSON.parse(readFileSync(values.compare, "utf8")) as Report) : undefined;
  printTable(report, previous);
  if (values.out) {
    writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${values.out}`);
  }
  // The server budgets: the production server driven over HTTP (scripts/bench-server.ts).
  if (filter.test("server-stream") && !values["no-server"]) {
    const args = ["tsx", "--conditions=react-server", "--tsconfig", "tsconfig.json", "scripts/bench-server.ts", ...(quick ? ["--quick"] : [])];
    const server = spawnSync("npx", args, { stdio: "inherit" });
    if (server.status !== 0) process.exitCode = server.status ?? 1;
  }
  // The browser budgets: the production build in Chromium (scripts/bench-browser.ts).
  if (filter.test("browser:") && !values["no-browser"]) {
    const args = ["tsx", "--tsconfig", "tsconfig.json", "scripts/bench-browser.ts", ...(quick ? ["--quick"] : []), ...(values.out ? ["--out", values.out.replace(/(\.json)?$/, ".browser.json")] : [])];
    const browser = spawnSync("npx", args, { stdio: "inherit" });
    if (browser.status !== 0) process.exitCode = browser.status ?? 1;
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
