/**
 * `npm run bench -- --filter topology`: does the router pick well? 1,000 random task DAGs with
 * random per-subtask latencies; for each, all four topologies are built as real workflow documents
 * and their latency simulated the way the engine runs them (dataflow, 8 model calls at once, a
 * worker's items under its own cap). Reported: how often the router's pick is the fastest of the
 * four, and its mean gain over always-sequential and always-parallel.
 */
import { performance } from "node:perf_hooks";
import {
  buildWorkflow,
  HIERARCHICAL_MAX_DEPTH,
  routeTopology,
  simulateLatency,
  taskMetrics,
  TOPOLOGIES,
  type Subtask,
  type Topology,
  type WorkflowNode,
} from "@/lib/workflow";

const DAGS = 1_000;
const MAX_CONCURRENCY = 8;

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = "pricing team market risks budget timeline security hiring design testing launch support legal data audit growth".split(" ");

type Case = { subtasks: Subtask[]; ms: Map<string, number>; synthesisMs: number; coordinatorMs: number };

/** A random plan: 1–14 subtasks, dependencies on earlier ones with a per-DAG density, sometimes items of one kind. */
function randomCase(random: () => number): Case {
  const n = 1 + Math.floor(random() * 14);
  const density = random() * 0.5;
  const items = random() < 0.2;
  const subtasks: Subtask[] = [];
  for (let i = 0; i < n; i++) {
    const dependsOn = subtasks.filter(() => random() < density).map((s) => s.id);
    const topic = WORDS[Math.floor(random() * WORDS.length)];
    const prompt = items && !dependsOn.length ? `Research option ${i} in depth: its costs, its risks and the evidence for it.` : `Work out the ${topic} ${WORDS[i % WORDS.length]} part.`;
    subtasks.push({ id: `s${i}`, title: `Step ${i}`, prompt, dependsOn });
  }
  // Model calls of 1–10 s; a synthesis reads everything (2–8 s); a coordinator's assignment is short (1–3 s).
  const ms = new Map(subtasks.map((s) => [s.id, 1_000 + random() * 9_000]));
  return { subtasks, ms, synthesisMs: 2_000 + random() * 6_000, coordinatorMs: 1_000 + random() * 2_000 };
}

/** The latency of the topology built for a case; `merge` false leaves out the final synthesis (time to every subtask's result). */
function latencyOf(c: Case, topology: Topology, merge: boolean): number {
  const built = buildWorkflow({ task: "bench", subtasks: c.subtasks, topology });
  const subtaskOfNode = new Map(Object.entries(built.nodeOf).map(([subtask, node]) => [node, subtask]));
  const ms = (node: WorkflowNode): number => {
    if (node.kind === "llm") return c.ms.get(subtaskOfNode.get(node.id) ?? "") ?? 0;
    if (node.kind === "synthesizer") return node.config.mode === "llm" && merge ? c.synthesisMs : 0;
    if (node.kind === "orchestrator") return c.coordinatorMs;
    return 0;
  };
  const items = (node: WorkflowNode) => (node.kind === "worker" ? c.subtasks.map((s) => ({ ms: c.ms.get(s.id)!, after: s.dependsOn.length > 0 })) : undefined);
  return simulateLatency(built.document, { ms, items }, MAX_CONCURRENCY);
}

type Tally = { best: number; nearBest: number; excess: number; gainSequential: number; gainParallel: number; fastest: Record<Topology, number> };
const tally = (): Tally => ({ best: 0, nearBest: 0, excess: 0, gainSequential: 0, gainParallel: 0, fastest: { sequential: 0, parallel: 0, hierarchical: 0, hybrid: 0 } });

function score(t: Tally, pick: Topology, latency: Record<Topology, number>, feasible: Topology[]) {
  const fastest = Math.min(...feasible.map((f) => latency[f]));
  for (const f of feasible) if (latency[f] <= fastest + 1e-6) t.fastest[f]++;
  if (latency[pick] <= fastest + 1e-6) t.best++;
  if (latency[pick] <= fastest * 1.05) t.nearBest++;
  t.excess += latency[pick] / fastest - 1;
  t.gainSequential += 1 - latency[pick] / latency.sequential;
  t.gainParallel += 1 - latency[pick] / latency.parallel;
}

export function benchTopology(quick = false) {
  const random = rng(20260214);
  const count = quick ? 200 : DAGS;
  const results = tally();
  const endToEnd = tally();
  const picked: Record<Topology, number> = { sequential: 0, parallel: 0, hierarchical: 0, hybrid: 0 };
  let routeMs = 0;
  for (let i = 0; i < count; i++) {
    const c = randomCase(random);
    const started = performance.now();
    const metrics = taskMetrics({ count: c.subtasks.length, edges: c.subtasks.flatMap((s, to) => s.dependsOn.map((d) => [Number(d.slice(1)), to] as const)), prompts: c.subtasks.map((s) => s.prompt) });
    const pick = routeTopology(metrics).topology;
    routeMs += performance.now() - started;
    picked[pick]++;
    // A coordinator with workers only expresses "items, then what needs them all": deeper plans it would get wrong.
    const feasible = TOPOLOGIES.filter((t) => t !== "hierarchical" || metrics.depth <= HIERARCHICAL_MAX_DEPTH);
    for (const [t, merge] of [[results, false], [endToEnd, true]] as const) {
      score(t, pick, Object.fromEntries(TOPOLOGIES.map((topology) => [topology, latencyOf(c, topology, merge)])) as Record<Topology, number>, feasible);
    }
  }
  // The router on one large plan: a linear pass (the unit test only asserts that it completes).
  const big = 10_000;
  const edges = Array.from({ length: big - 1 }, (_, i) => [Math.floor(i / 3), i + 1] as const);
  const prompts = Array.from({ length: big }, (_, i) => `Summarise chapter ${i} and list its open questions.`);
  const t0 = performance.now();
  routeTopology(taskMetrics({ count: big, edges, prompts }));
  const bigMs = performance.now() - t0;

  const pct = (x: number) => `${((100 * x) / count).toFixed(1)}%`;
  const line = (name: string, t: Tally) => {
    console.log(`  ${name}`);
    console.log(`    fastest of four:  ${TOPOLOGIES.map((f) => `${f} ${t.fastest[f]}`).join(", ")} (ties count for each)`);
    console.log(`    pick is fastest:  ${pct(t.best)}; within 5%: ${pct(t.nearBest)}; mean excess over the fastest ${pct(t.excess)}`);
    console.log(`    mean gain of the pick: ${pct(t.gainSequential)} over always-sequential, ${pct(t.gainParallel)} over always-parallel`);
  };
  console.log(`\nTopology router — ${count} random task DAGs (1–14 subtasks of 1–10 s; synthesis 2–8 s; coordinator 1–3 s; ${MAX_CONCURRENCY} calls at once; hierarchical only where it respects the dependencies)`);
  console.log(`  picks: ${TOPOLOGIES.map((t) => `${t} ${picked[t]}`).join(", ")}`);
  line("until every subtask's result is in:", results);
  line("end to end, with the verifying synthesis the builder adds to parallel merges:", endToEnd);
  console.log(`  routing: ${((1000 * routeMs) / count).toFixed(1)} µs per DAG; 10,000 subtasks in ${bigMs.toFixed(1)} ms`);
  return { count, picked, results, endToEnd, bigMs };
}
