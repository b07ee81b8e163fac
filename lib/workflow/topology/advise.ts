import { adjacencyOf, reach } from "../graph";
import type { AggregateConfig } from "../kinds/aggregate";
import { DEFAULT_MODEL, type WorkflowDocument, type WorkflowEdge, type WorkflowNode } from "../schema";
import { compileWorkflow, keysReadBy, kindOf, validateWorkflow, type CompiledWorkflow } from "../validate";
import { RESULTS_LINE, STEP_CONTEXT, VERIFY_INSTRUCTION } from "./build";
import { simulateLatency } from "./latency";
import { taskMetrics, type TaskMetrics } from "./metrics";
import { describeMetrics, routeTopology, type Topology } from "./route";
import { contentWords, cosine, termVector } from "./text";

/**
 * The advisor: reads a document (and, when there is one, its last run's node durations) and
 * says where its shape works against it. It compares the data-dependency graph (who reads whose
 * `{{key}}`) with the drawn edges, looks for parallel merges nobody verifies and for fan-outs
 * of near-identical prompts. Every piece of advice names its nodes, its evidence and its source;
 * a fix is a new document offered for review. Nothing here changes the document it is given.
 */

export type AdviceKind = "parallelisable" | "unchecked-merge" | "redundant-fanout";
export type AdviceSource = { title: string; url: string; finding: string };
export type AdviceFix = { label: string; changes: string[]; document: WorkflowDocument };
export type Advice = {
  id: string;
  kind: AdviceKind;
  title: string;
  /** The nodes it is about (clicking selects them). */
  nodes: string[];
  evidence: string;
  source: AdviceSource;
  fix?: AdviceFix;
};

export type DependencyAnalysis = {
  /** The nodes that call a model, in document order. */
  steps: string[];
  /** [dependency, dependent] pairs between steps, from what each reads (through non-model nodes). */
  dependencies: Array<[string, string]>;
  metrics: TaskMetrics;
  topology: Topology;
  explanation: string;
};

export type AdviceReport = { analysis: DependencyAnalysis | null; advice: Advice[]; blocked?: string };

export type AdviseOptions = {
  /** Milliseconds each node took in the last run (loop iterations summed); absent nodes took 0. */
  durations?: Readonly<Record<string, number>>;
};

export const SOURCES = {
  adaptorch: {
    title: "Yu, AdaptOrch: Task-Adaptive Multi-Agent Orchestration in the Era of LLM Performance Convergence (Feb 2026)",
    url: "https://arxiv.org/abs/2602.16873",
    finding: "Routing a task's dependency DAG to the topology it fits (sequential, parallel, hierarchical, hybrid) beat every fixed topology by 12–23% with the same models; a run's latency is the critical path of that DAG.",
  },
  kimAmplification: {
    title: "Kim et al., Towards a Science of Scaling Agent Systems (2025)",
    url: "https://arxiv.org/abs/2512.08296",
    finding: "Over 180 configurations, independent agents whose outputs were merged unchecked amplified errors about 17×; a central coordinator that verifies kept it to about 4×.",
  },
  kimRedundancy: {
    title: "Kim et al., Towards a Science of Scaling Agent Systems (2025)",
    url: "https://arxiv.org/abs/2512.08296",
    finding: "Redundancy between agents is one of the coordination measures behind the paper's predictive model: overlapping work adds cost without adding coverage, and gains fade once one agent already does well.",
  },
} as const satisfies Record<string, AdviceSource>;

/**
 * Two sibling prompts to the same model are redundant when they are this alike (lexical cosine)
 * and differ in at most REDUNDANT_MAX_DIFFERENT_WORDS content words: one swapped word is a
 * different item ("Research Paris" / "Research Rome"), not a repeat.
 */
export const REDUNDANT_PROMPT_SIMILARITY = 0.85;
export const REDUNDANT_MAX_DIFFERENT_WORDS = 1;
const COLUMN = 360;

/** A document and its compiled form, with the per-node facts every rule needs. */
class Graph {
  readonly n: number;
  readonly forward: number[][];
  readonly reverse: number[][];
  readonly inLoop = new Set<number>();
  readonly conditional = new Set<number>();
  private readonly ancestorsCache = new Map<number, Set<number>>();
  readonly writers = new Map<string, number[]>();

  constructor(
    readonly doc: WorkflowDocument,
    readonly compiled: CompiledWorkflow,
  ) {
    const { nodes, edges } = compiled;
    this.n = nodes.length;
    const fwd = edges.filter((e) => !e.back);
    this.forward = adjacencyOf(this.n, fwd);
    this.reverse = adjacencyOf(this.n, fwd, true);
    for (const body of compiled.loopBodies.values()) for (const v of body) this.inLoop.add(v);
    nodes.forEach((node, v) => {
      if (this.branching(v)) for (const w of reach(v, this.forward)) if (w !== v) this.conditional.add(w);
      for (const key of kindOf(node).writes(node.config)) this.writers.set(key, [...(this.writers.get(key) ?? []), v]);
    });
  }

  node(v: number): WorkflowNode {
    return this.compiled.nodes[v];
  }

  label(v: number): string {
    return `“${this.node(v).label || this.node(v).id}”`;
  }

  branching(v: number): boolean {
    const node = this.node(v);
    return kindOf(node).outputs(node.config).length > 1;
  }

  callsModel(v: number): boolean {
    const node = this.node(v);
    return kindOf(node).models(node.config, this.compiled.defaultModel).length > 0;
  }

  ancestors(v: number): Set<number> {
    let found = this.ancestorsCache.get(v);
    if (!found) this.ancestorsCache.set(v, (found = reach(v, this.reverse)));
    return found;
  }

  /** The state keys a node reads: its templates' references and its direct reads. */
  reads(v: number): string[] {
    return keysReadBy(this.node(v));
  }

  /**
   * The nodes v needs to have finished: the writers of what it reads (when upstream: a loop's
   * `{{feedback}}` comes later), the branching nodes that decide whether it runs, and for an
   * aggregate without a template every branch it joins.
   */
  needs(v: number): Set<number> {
    const node = this.node(v);
    const ancestors = this.ancestors(v);
    const needed = new Set<number>();
    for (const key of this.reads(v)) for (const w of this.writers.get(key) ?? []) if (w !== v && ancestors.has(w)) needed.add(w);
    for (const u of this.reverse[v]) if (this.branching(u) || (node.kind === "aggregate" && !node.config.template)) needed.add(u);
    return needed;
  }

  needsAll(v: number): Set<number> {
    const seen = new Set<number>();
    const stack = [...this.needs(v)];
    while (stack.length) {
      const w = stack.pop()!;
      if (seen.has(w)) continue;
      seen.add(w);
      stack.push(...this.needs(w));
    }
    return seen;
  }
}

/** The data-dependency graph between the model-calling steps, routed like a plan. */
function analyse(g: Graph): DependencyAnalysis {
  const steps = g.compiled.nodes.flatMap((_, v) => (g.callsModel(v) ? [v] : []));
  const stepIndex = new Map(steps.map((v, i) => [v, i]));
  const edges: Array<[number, number]> = [];
  steps.forEach((v, to) => {
    // Follow needs through non-model nodes (an aggregate, a gate) to the steps behind them.
    const seen = new Set<number>();
    const stack = [...g.needs(v)];
    while (stack.length) {
      const w = stack.pop()!;
      if (seen.has(w)) continue;
      seen.add(w);
      const from = stepIndex.get(w);
      if (from !== undefined) edges.push([from, to]);
      else stack.push(...g.needs(w));
    }
  });
  // The branches of one router (each fed solely by a different port of it) never run together.
  const exclusiveGroup = steps.map((v, i) => {
    const inbound = g.compiled.incoming[v];
    if (inbound.length !== 1) return -1 - i;
    const edge = g.compiled.edges[inbound[0]];
    if (!g.branching(edge.source)) return -1 - i;
    const samePort = steps.filter((w) => {
      const other = g.compiled.incoming[w];
      return other.length === 1 && g.compiled.edges[other[0]].source === edge.source && g.compiled.edges[other[0]].sourcePort === edge.sourcePort;
    });
    return samePort.length === 1 ? edge.source : -1 - i;
  });
  const prompts = steps.map((v) => {
    const config = g.node(v).config as { prompt?: unknown };
    if (typeof config.prompt !== "string") return "";
    // A planned step quotes the whole task after its own instructions; the instructions tell items apart.
    const context = config.prompt.indexOf(STEP_CONTEXT);
    return context >= 0 ? config.prompt.slice(0, context) : config.prompt;
  });
  const metrics = taskMetrics({ count: steps.length, edges, prompts, exclusiveGroup });
  const routed = routeTopology(metrics);
  // A map worker is a coordinator handing out items, whatever the step graph looks like.
  const mapped = steps.some((v) => g.node(v).kind === "worker");
  const topology = mapped ? "hierarchical" : routed.topology;
  const detail = mapped ? "an orchestrator hands items to a map worker" : routed.detail;
  return {
    steps: steps.map((v) => g.node(v).id),
    dependencies: edges.map(([a, b]) => [g.node(steps[a]).id, g.node(steps[b]).id]),
    metrics,
    topology,
    explanation: `${describeMetrics(metrics).replace(/subtasks?/, (w) => (w.endsWith("s") ? "model steps" : "model step"))} by data dependency → ${topology}: ${detail}`,
  };
}

function uniqueEdgeId(edges: ReadonlyArray<WorkflowEdge>, base: string): string {
  const ids = new Set(edges.map((e) => e.id));
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}_${n}`;
  return id;
}

function isValid(doc: WorkflowDocument): boolean {
  return !validateWorkflow(doc).some((i) => i.severity === "error");
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Edges between steps that do not use each other's results: removed, and each step wired to what it reads. */
function parallelisable(g: Graph, options: AdviseOptions): Advice | null {
  const { doc, compiled } = g;
  const inputId = g.node(compiled.inputIndex).id;
  const removed: Array<{ edge: WorkflowEdge; u: number; v: number }> = [];
  for (const edge of compiled.edges) {
    if (edge.back) continue;
    const { source: u, target: v } = edge;
    // Only the unconditional, loop-free part is rewired: there every edge is a plain "wait for".
    if (u === compiled.inputIndex || g.branching(u) || g.inLoop.has(u) || g.inLoop.has(v) || g.conditional.has(u) || g.conditional.has(v)) continue;
    if (g.needsAll(v).has(u)) continue;
    removed.push({ edge: doc.edges.find((e) => e.id === edge.id)!, u, v });
  }
  if (!removed.length) return null;
  const gone = new Set(removed.map((r) => r.edge.id));
  let edges = doc.edges.filter((e) => !gone.has(e.id));
  const added: string[] = [];
  const index = new Map(compiled.nodes.map((n, i) => [n.id, i]));
  const ancestorsIn = (v: number) => {
    const reverse = adjacencyOf(g.n, edges.flatMap((e) => (index.has(e.source) && index.has(e.target) ? [{ source: index.get(e.source)!, target: index.get(e.target)! }] : [])), true);
    return reach(v, reverse);
  };
  for (let v = 0; v < g.n; v++) {
    if (v === compiled.inputIndex || g.inLoop.has(v) || g.conditional.has(v)) continue;
    const ancestors = ancestorsIn(v);
    for (const w of g.needs(v)) {
      if (ancestors.has(w)) continue;
      const ports = kindOf(g.node(w)).outputs(g.node(w).config);
      if (ports.length !== 1 || g.conditional.has(w) || g.inLoop.has(w)) return null;
      edges = [...edges, { id: uniqueEdgeId(edges, `e_${g.node(w).id}_${g.node(v).id}`.slice(0, 60)), source: g.node(w).id, sourcePort: ports[0], target: g.node(v).id, targetPort: "in" }];
      added.push(`connect ${g.label(w)} → ${g.label(v)}`);
      for (const a of ancestorsIn(w)) ancestors.add(a);
    }
    if (!edges.some((e) => e.target === g.node(v).id)) {
      edges = [...edges, { id: uniqueEdgeId(edges, `e_${inputId}_${g.node(v).id}`.slice(0, 60)), source: inputId, sourcePort: "out", target: g.node(v).id, targetPort: "in" }];
      added.push(`connect ${g.label(compiled.inputIndex)} → ${g.label(v)}`);
    }
  }
  const restructured: WorkflowDocument = { ...doc, edges };
  if (!isValid(restructured)) return null;

  const cap = doc.settings?.limits?.maxConcurrency ?? 8;
  const measured = options.durations;
  const latency = (document: WorkflowDocument, weight: (node: WorkflowNode) => number) => simulateLatency(document, { ms: weight }, cap);
  const stepsOf = (node: WorkflowNode) => (kindOf(node).models(node.config, compiled.defaultModel).length ? 1 : 0);
  const before = latency(doc, stepsOf);
  const after = latency(restructured, stepsOf);
  let timing: string;
  if (measured) {
    const msOf = (node: WorkflowNode) => measured[node.id] ?? 0;
    const was = latency(doc, msOf);
    const would = latency(restructured, msOf);
    if (would >= was) return null;
    timing = `With the last run's node durations it would have taken ${seconds(would)} instead of ${seconds(was)} (critical path ${Math.round((1 - would / was) * 100)}% shorter).`;
  } else {
    if (after >= before) return null;
    timing = `The longest chain of model calls drops from ${before} to ${after}; run the workflow once to see the time it saves.`;
  }
  const waits = removed.map(({ u, v }) => {
    const reads = g.reads(v);
    return `${g.label(v)} waits for ${g.label(u)} but reads ${reads.length ? reads.map((k) => `{{${k}}}`).join(", ") : "none of its keys"}`;
  });
  const nodes = [...new Set(removed.flatMap(({ u, v }) => [g.node(u).id, g.node(v).id]))];
  return {
    id: `parallelisable:${nodes.join(",")}`,
    kind: "parallelisable",
    title: "Steps that do not use each other's results could run in parallel",
    nodes,
    evidence: `${waits.join("; ")}. ${timing}`,
    source: SOURCES.adaptorch,
    fix: {
      label: "Rewire by data dependency",
      changes: [...removed.map(({ u, v }) => `remove ${g.label(u)} → ${g.label(v)}`), ...added],
      document: restructured,
    },
  };
}

function uniqueKey(doc: WorkflowDocument, base: string): string {
  const taken = new Set(doc.inputs.map((i) => i.key));
  for (const node of doc.nodes) for (const key of kindOf(node).writes(node.config)) taken.add(key);
  let key = base.slice(0, 60);
  for (let n = 2; taken.has(key); n++) key = `${base.slice(0, 56)}_${n}`;
  return key;
}

function uniqueNodeId(doc: WorkflowDocument, base: string): string {
  const ids = new Set(doc.nodes.map((n) => n.id));
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}_${n}`;
  return id;
}

/** Does something downstream verify what `v` (an aggregate) writes: an evaluator grading it or an LLM synthesizer over it? */
function verifiedDownstream(g: Graph, v: number, key: string): boolean {
  for (const w of reach(v, g.forward)) {
    const node = g.node(w);
    if (node.kind === "evaluator" && node.config.key === key) return true;
    if (node.kind === "synthesizer" && node.config.mode === "llm" && node.config.from === key) return true;
  }
  return false;
}

function uncheckedMerges(g: Graph): Advice[] {
  const out: Advice[] = [];
  g.compiled.nodes.forEach((node, v) => {
    if (node.kind !== "aggregate" || node.config.agreement) return;
    const branches = g.reverse[v].filter((u) => g.callsModel(u) || ["aggregate", "synthesizer", "worker"].includes(g.node(u).kind));
    // Branches of one router never run together: merging the one that ran is not a parallel merge.
    const exclusive = branches.length > 1 && branches.every((u) => g.reverse[u].length === 1 && g.branching(g.reverse[u][0]));
    if (branches.length < 2 || exclusive || verifiedDownstream(g, v, node.config.outputKey)) return;
    const fix = addVerifier(g.doc, node);
    out.push({
      id: `unchecked-merge:${node.id}`,
      kind: "unchecked-merge",
      title: "Parallel results are merged without a check",
      nodes: [node.id, ...branches.map((u) => g.node(u).id)],
      evidence: `${g.label(v)} merges ${branches.length} parallel branches (${branches.map((u) => g.label(u)).join(", ")}) with a ${node.config.template ? "template" : "plain join"}, and nothing after it compares or verifies them.`,
      source: SOURCES.kimAmplification,
      ...(fix ? { fix } : {}),
    });
  });
  return out;
}

/** Turns on the aggregate's agreement check and puts an LLM synthesizer after it that verifies and combines. */
function addVerifier(doc: WorkflowDocument, aggregate: Extract<WorkflowNode, { kind: "aggregate" }>): AdviceFix | null {
  const agreementKey = uniqueKey(doc, "agreement");
  const verifiedKey = uniqueKey(doc, `verified_${aggregate.config.outputKey}`);
  const verifierId = uniqueNodeId(doc, "n_verify");
  const config: AggregateConfig = { ...aggregate.config, agreement: { key: agreementKey } };
  const verifier: WorkflowNode = {
    id: verifierId,
    kind: "synthesizer",
    label: "Verify and combine",
    position: { x: aggregate.position.x + COLUMN, y: aggregate.position.y },
    config: {
      mode: "llm",
      from: aggregate.config.outputKey,
      outputKey: verifiedKey,
      prompt: [
        "Verify the parallel results below before they are used, then combine them into one answer.",
        VERIFY_INSTRUCTION,
        `{{#${agreementKey}.conflicts}}`,
        `The agreement check flagged: {{${agreementKey}.conflicts}}`,
        `{{/${agreementKey}.conflicts}}`,
        RESULTS_LINE,
        "{{joined}}",
      ].join("\n"),
    },
  };
  // Everything downstream of the aggregate moves one column right to make room.
  const index = new Map(doc.nodes.map((n, i) => [n.id, i]));
  const forward = adjacencyOf(doc.nodes.length, doc.edges.flatMap((e) => (index.has(e.source) && index.has(e.target) ? [{ source: index.get(e.source)!, target: index.get(e.target)! }] : [])));
  const downstream = new Set([...reach(index.get(aggregate.id)!, forward)].map((i) => doc.nodes[i].id));
  downstream.delete(aggregate.id);
  const outputs: string[] = [];
  const nodes = doc.nodes.map((node): WorkflowNode => {
    if (node.id === aggregate.id) return { ...node, config } as WorkflowNode;
    const moved = downstream.has(node.id) ? { ...node, position: { x: node.position.x + COLUMN, y: node.position.y } } : node;
    if (moved.kind === "output" && moved.config.keys.includes(aggregate.config.outputKey)) {
      outputs.push(moved.label || moved.id);
      return { ...moved, config: { ...moved.config, keys: moved.config.keys.map((k) => (k === aggregate.config.outputKey ? verifiedKey : k)) } };
    }
    return moved as WorkflowNode;
  });
  const edges = doc.edges.map((e) => (e.source === aggregate.id ? { ...e, source: verifierId } : e));
  edges.push({ id: uniqueEdgeId(edges, `e_${aggregate.id}_${verifierId}`.slice(0, 60)), source: aggregate.id, sourcePort: "out", target: verifierId, targetPort: "in" });
  const document: WorkflowDocument = { ...doc, nodes: [...nodes, verifier], edges };
  if (!isValid(document)) return null;
  return {
    label: "Add a verifying step",
    changes: [
      `turn on the agreement check of “${aggregate.label || aggregate.id}” (writes {{${agreementKey}}}: score, outliers, conflicts)`,
      `add “Verify and combine” after it: an LLM synthesizer that checks the branches against each other and writes {{${verifiedKey}}}`,
      ...outputs.map((name) => `“${name}” shows {{${verifiedKey}}} instead of {{${aggregate.config.outputKey}}}`),
    ],
    document,
  };
}

function redundantFanouts(g: Graph): Advice[] {
  const out: Advice[] = [];
  const fallback = g.doc.settings?.defaultModel ?? DEFAULT_MODEL;
  g.compiled.nodes.forEach((_, p) => {
    const byPort = new Map<string, number[]>();
    for (const k of g.compiled.outgoing[p]) {
      const e = g.compiled.edges[k];
      if (e.back || g.node(e.target).kind !== "llm") continue;
      byPort.set(e.sourcePort, [...(byPort.get(e.sourcePort) ?? []), e.target]);
    }
    for (const siblings of byPort.values()) {
      if (siblings.length < 2) continue;
      const nodes = siblings.slice(0, 60).map((v) => g.node(v) as Extract<WorkflowNode, { kind: "llm" }>);
      const texts = nodes.map((n) => `${n.config.system ?? ""}\n${n.config.prompt}`);
      const vectors = texts.map(termVector);
      const words = texts.map((text) => new Set(contentWords(text)));
      const differing = (a: Set<string>, b: Set<string>) => [...a].filter((w) => !b.has(w)).length + [...b].filter((w) => !a.has(w)).length;
      const group = nodes.map((_, i) => i);
      const find = (i: number): number => (group[i] === i ? i : (group[i] = find(group[i])));
      let best = 0;
      for (let i = 0; i < nodes.length; i++) {
        for (let j = i + 1; j < nodes.length; j++) {
          const same = (nodes[i].config.model ?? fallback) === (nodes[j].config.model ?? fallback) && nodes[i].config.temperature === nodes[j].config.temperature;
          const similarity = cosine(vectors[i], vectors[j]);
          if (same && similarity >= REDUNDANT_PROMPT_SIMILARITY && differing(words[i], words[j]) <= REDUNDANT_MAX_DIFFERENT_WORDS) {
            group[find(i)] = find(j);
            best = Math.max(best, similarity);
          }
        }
      }
      const clusters = new Map<number, number[]>();
      nodes.forEach((_, i) => clusters.set(find(i), [...(clusters.get(find(i)) ?? []), i]));
      for (const members of clusters.values()) {
        if (members.length < 2) continue;
        const names = members.map((i) => `“${nodes[i].label || nodes[i].id}”`);
        out.push({
          id: `redundant-fanout:${members.map((i) => nodes[i].id).join(",")}`,
          kind: "redundant-fanout",
          title: "Near-duplicate branches: cost without diversity",
          nodes: members.map((i) => nodes[i].id),
          evidence: `${names.join(", ")} send prompts up to ${Math.round(best * 100)}% alike to the same model (${nodes[members[0]].config.model ?? fallback}), so their answers will largely repeat each other. Merge them, give each a different angle, or — if they are meant as votes — use different models or temperatures and check their agreement on the aggregate.`,
          source: SOURCES.kimRedundancy,
        });
      }
    }
  });
  return out;
}

export function adviseWorkflow(doc: WorkflowDocument, options: AdviseOptions = {}): AdviceReport {
  const compiled = compileWorkflow(doc);
  if (!compiled.ok) {
    const errors = compiled.issues.filter((i) => i.severity === "error").length;
    return { analysis: null, advice: [], blocked: `Fix the workflow's ${errors} issue${errors === 1 ? "" : "s"} first: advice needs a valid graph.` };
  }
  const g = new Graph(doc, compiled.workflow);
  const analysis = analyse(g);
  const advice: Advice[] = [];
  const chain = parallelisable(g, options);
  if (chain) advice.push(chain);
  advice.push(...uncheckedMerges(g), ...redundantFanouts(g));
  return { analysis, advice };
}
