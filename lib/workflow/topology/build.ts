import { IDENTIFIER } from "../kinds/common";
import { DEFAULT_MODEL, parseDocument, type WorkflowDocument, type WorkflowEdge, type WorkflowNode } from "../schema";
import { validateWorkflow } from "../validate";
import { taskMetrics, type TaskDag, type TaskMetrics } from "./metrics";
import type { Subtask } from "./plan";
import { describeMetrics, PARALLEL_CAP, routeTopology, type RouteDecision, type Topology } from "./route";

/**
 * Builds an ordinary workflow document from a repaired plan: one LLM step per subtask whose
 * prompt references the keys of the subtasks it depends on, wired by exactly those dependencies
 * (the engine starts each step the moment its inputs are ready), laid out one column per level,
 * ending in an output node. Parallel results are merged by an aggregate that checks their
 * agreement and a synthesizer that verifies them before combining (Kim et al. 2025).
 */

export const TASK_KEY = "task";
/** How a step's prompt introduces the whole task, after its own instructions. */
export const STEP_CONTEXT = "This is one step of a larger task:";
/** The sentence every verifying synthesis prompt carries, and the line before the results it verifies. */
export const VERIFY_INSTRUCTION = "Check the results against each other before combining them: keep what they agree on, resolve or point out contradictions, and add nothing that none of them supports.";
export const RESULTS_LINE = "The results:";
/** How the coordinator of a hierarchical workflow is told to hand out the planned subtasks. */
export const ASSIGN_MARKER = "Assign exactly these subtasks";
const COLUMN = 360;
const ROW = 250;

export type BuildRequest = {
  task: string;
  subtasks: ReadonlyArray<Subtask>;
  /** The model every step uses (default: the demo model). */
  model?: string;
  /** Build this topology instead of the router's pick (the benchmark compares all four). */
  topology?: Topology;
  /** What repairing the planner's answer changed, noted on the canvas. */
  repairs?: ReadonlyArray<string>;
};

export type BuiltWorkflow = {
  document: WorkflowDocument;
  metrics: TaskMetrics;
  /** The router's pick (the document has `topology`, which differs only when one was forced). */
  decision: RouteDecision;
  topology: Topology;
  explanation: string;
  /** Subtask id → the node that does it (the worker, for hierarchical). */
  nodeOf: Record<string, string>;
};

/** Thrown only if a built document fails validation: a bug in the builder, never a user error. */
export class TopologyBuildError extends Error {
  readonly code = "topology-build";
}

export function planDag(subtasks: ReadonlyArray<Subtask>): TaskDag {
  const index = new Map(subtasks.map((s, i) => [s.id, i]));
  const edges: Array<[number, number]> = [];
  subtasks.forEach((s, to) => {
    for (const dep of s.dependsOn) {
      const from = index.get(dep);
      if (from !== undefined) edges.push([from, to]);
    }
  });
  return { count: subtasks.length, edges, prompts: subtasks.map((s) => s.prompt) };
}

/** Planner text goes into Mustache templates: braces are broken up so it can never read a key. */
const literal = (text: string) => text.replace(/\{(?=\{)/g, "{ ").replace(/\}(?=\})/g, "} ");

/** Keys (and, as n_<key>, node ids) the builder uses for its own nodes. */
const RESERVED = new Set([TASK_KEY, "results", "answer", "agreement", "subtasks", "subtask_results", "assign", "work", "output", "about", "constructor", "prototype"]);
const isReserved = (key: string) => RESERVED.has(key) || /^stage_\d+$/.test(key);

function keyFor(subtask: Subtask, taken: Set<string>): string {
  let base = (subtask.title || subtask.id)
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 40)
    .replace(/_+$/, "");
  if (!base) base = "step";
  if (/^\d/.test(base)) base = `s_${base}`;
  let key = base;
  for (let n = 2; taken.has(key) || isReserved(key) || !IDENTIFIER.test(key); n++) key = `${base}_${n}`;
  taken.add(key);
  return key;
}

/** Subtask order for a chain: dependencies first, otherwise the planner's order. */
function topologicalOrder(dag: TaskDag): number[] {
  const indegree = new Int32Array(dag.count);
  const next: number[][] = Array.from({ length: dag.count }, () => []);
  for (const [from, to] of dag.edges) {
    next[from].push(to);
    indegree[to]++;
  }
  const order: number[] = [];
  const ready: number[] = [];
  for (let v = 0; v < dag.count; v++) if (!indegree[v]) ready.push(v);
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const v = ready.shift()!;
    order.push(v);
    for (const w of next[v]) if (--indegree[w] === 0) ready.push(w);
  }
  return order;
}

class DocumentBuilder {
  readonly nodes: WorkflowNode[] = [];
  readonly edges: WorkflowEdge[] = [];

  add(node: WorkflowNode): string {
    this.nodes.push(node);
    return node.id;
  }

  link(source: string, target: string, sourcePort = "out"): void {
    if (this.edges.some((e) => e.source === source && e.target === target && e.sourcePort === sourcePort)) return;
    this.edges.push({ id: `e${this.edges.length + 1}`, source, sourcePort, target, targetPort: "in" });
  }

  /** Places each column's nodes centred on y = 0. */
  layout(columns: ReadonlyArray<ReadonlyArray<string>>): void {
    const at = new Map<string, { x: number; y: number }>();
    columns.forEach((column, c) => column.forEach((id, r) => at.set(id, { x: c * COLUMN, y: Math.round((r - (column.length - 1) / 2) * ROW) })));
    for (const node of this.nodes) node.position = at.get(node.id) ?? node.position;
  }
}

function llmStep(id: string, subtask: Subtask, key: string, deps: ReadonlyArray<{ title: string; key: string }>): WorkflowNode {
  const lines = [literal(subtask.prompt.trim()), "", `${STEP_CONTEXT} {{${TASK_KEY}}}`];
  for (const dep of deps) lines.push("", `Result of "${literal(dep.title)}":`, `{{${dep.key}}}`);
  return { id, kind: "llm", label: subtask.title.slice(0, 120), position: { x: 0, y: 0 }, config: { outputKey: key, prompt: lines.join("\n") } };
}

const SYNTHESIS_PROMPT = [
  `Combine the results below into one complete answer to this task: {{${TASK_KEY}}}`,
  "",
  `${VERIFY_INSTRUCTION}{{#agreement.conflicts}}`,
  "",
  "The agreement check flagged: {{agreement.conflicts}}{{/agreement.conflicts}}",
  "",
  RESULTS_LINE,
  "{{joined}}",
].join("\n");

export function buildWorkflow(request: BuildRequest): BuiltWorkflow {
  const { task, subtasks } = request;
  const dag = planDag(subtasks);
  const metrics = taskMetrics(dag);
  const decision = routeTopology(metrics);
  const topology = request.topology ?? decision.topology;
  const taken = new Set<string>();
  const keys = subtasks.map((s) => keyFor(s, taken));
  const deps = subtasks.map((s) => s.dependsOn.map((id) => subtasks.findIndex((t) => t.id === id)).filter((i) => i >= 0));
  const hasDependents = new Set(dag.edges.map(([from]) => from));
  const sinks = subtasks.map((_, i) => i).filter((i) => !hasDependents.has(i));
  const b = new DocumentBuilder();
  const input = b.add({ id: "n_task", kind: "input", label: "Task", position: { x: 0, y: 0 }, config: {} });
  const nodeOf: Record<string, string> = {};
  const depRefs = (i: number) => deps[i].map((d) => ({ title: subtasks[d].title, key: keys[d] }));
  const stepId = (i: number) => `n_${keys[i]}`;
  const addStep = (i: number) => {
    nodeOf[subtasks[i].id] = b.add(llmStep(stepId(i), subtasks[i], keys[i], depRefs(i)));
    return nodeOf[subtasks[i].id];
  };
  const columns: string[][] = [[input]];
  let outputKeys: string[];

  /** An aggregate that checks agreement, then a synthesizer that verifies and combines. */
  const checkedMerge = (from: number[], column: number): string => {
    const template = from.map((i) => `## ${literal(subtasks[i].title)}\n{{${keys[i]}}}`).join("\n\n");
    const merge = b.add({
      id: "n_results",
      kind: "aggregate",
      label: "Merge and check agreement",
      position: { x: 0, y: 0 },
      config: { outputKey: "results", template, agreement: { key: "agreement" } },
    });
    for (const i of from) b.link(stepId(i), merge);
    const answer = b.add({
      id: "n_answer",
      kind: "synthesizer",
      label: "Verify and combine",
      position: { x: 0, y: 0 },
      config: { mode: "llm", from: "results", outputKey: "answer", prompt: SYNTHESIS_PROMPT },
    });
    b.link(merge, answer);
    columns[column] = [merge];
    columns[column + 1] = [answer];
    return answer;
  };

  let last: string[];
  if (topology === "sequential") {
    const order = topologicalOrder(dag);
    let previous = input;
    order.forEach((i, position) => {
      const id = addStep(i);
      b.link(previous, id);
      previous = id;
      columns[position + 1] = [id];
    });
    last = [previous];
    outputKeys = sinks.map((i) => keys[i]);
  } else if (topology === "hierarchical") {
    const listing = subtasks
      .map((s, i) => `${i + 1}. name: ${literal(s.title).replace(/\|/g, "/")} | instructions: ${literal(s.prompt).replace(/\s+/g, " ").replace(/\|/g, "/")}${deps[i].length ? " | after: others" : ""}`)
      .join("\n");
    const plan = b.add({
      id: "n_assign",
      kind: "orchestrator",
      label: "Assign the subtasks",
      position: { x: 0, y: 0 },
      config: {
        outputKey: "subtasks",
        prompt: `You coordinate the work on this task: {{${TASK_KEY}}}\n\n${ASSIGN_MARKER}, in this order, one item each, keeping their names and instructions. Set "after" to "others" for a subtask that needs the other results and leave it empty otherwise.\n\n${listing}`,
        fields: [
          { name: "name", type: "string", description: "The subtask's name." },
          { name: "instructions", type: "string", description: "What to do." },
          { name: "after", type: "string", description: '"others" when it needs the other results, else empty.' },
        ],
        maxItems: Math.min(50, Math.max(1, subtasks.length)),
      },
    });
    const work = b.add({
      id: "n_work",
      kind: "worker",
      label: "Do each subtask",
      position: { x: 0, y: 0 },
      config: {
        forEach: "subtasks",
        outputKey: "subtask_results",
        prompt: `Write the section "{{item.name}}" of the answer to the task below. Start with its heading (## {{item.name}}).\n\nWhat it covers: {{item.instructions}}\n\nThe task: {{${TASK_KEY}}}{{#others}}\n\nThe other sections, which this one draws on:\n\n{{others}}{{/others}}`,
        concurrency: Math.min(PARALLEL_CAP, Math.max(1, subtasks.length)),
        dependentItems: { field: "after", matches: ["others"] },
      },
    });
    const answer = b.add({
      id: "n_answer",
      kind: "synthesizer",
      label: "Verify and combine",
      position: { x: 0, y: 0 },
      config: { mode: "llm", from: "subtask_results", outputKey: "answer", prompt: SYNTHESIS_PROMPT.replace(/\{\{#agreement\.conflicts\}\}[\s\S]*?\{\{\/agreement\.conflicts\}\}/, "") },
    });
    b.link(input, plan);
    b.link(plan, work, "plan");
    b.link(work, answer);
    for (const s of subtasks) nodeOf[s.id] = work;
    columns.push([plan], [work], [answer]);
    last = [answer];
    outputKeys = ["answer"];
  } else {
    // parallel and hybrid: one column per level. A forced "parallel" over a deeper DAG runs its
    // levels as successive fan-outs joined by a barrier (the only way one parallel stage can respect order).
    const barriers = topology === "parallel" && metrics.depth > 1;
    let previousJoin = input;
    for (let level = 1; level <= metrics.depth; level++) {
      const members = subtasks.map((_, i) => i).filter((i) => metrics.levels[i] === level);
      const column: string[] = [];
      for (const i of members) {
        const id = addStep(i);
        column.push(id);
        if (barriers) b.link(previousJoin, id);
        else if (!deps[i].length) b.link(input, id);
        else for (const d of deps[i]) b.link(stepId(d), id);
      }
      columns.push(column);
      if (barriers && level < metrics.depth) {
        if (members.length === 1) previousJoin = column[0];
        else {
          const join = b.add({ id: `n_stage_${level}`, kind: "aggregate", label: `Stage ${level} done`, position: { x: 0, y: 0 }, config: { outputKey: `stage_${level}` } });
          for (const id of column) b.link(id, join);
          previousJoin = join;
          columns.push([join]);
        }
      }
    }
    if (sinks.length > 1) {
      last = [checkedMerge(sinks, columns.length)];
      outputKeys = ["answer"];
    } else {
      // One subtask already draws on all the others (a recommendation, a conclusion): it is the synthesis.
      last = [stepId(sinks[0])];
      outputKeys = [keys[sinks[0]]];
    }
  }

  const output = b.add({ id: "n_output", kind: "output", label: "Result", position: { x: 0, y: 0 }, config: { keys: outputKeys } });
  for (const id of last) b.link(id, output);
  columns.push([output]);
  b.layout(columns);

  const forced = topology !== decision.topology ? ` (built as ${topology} on request)` : "";
  const explanation = topology === decision.topology ? decision.explanation : `${describeMetrics(metrics)} → ${topology}${forced}`;
  const repairs = request.repairs?.length ? `\n\nRepaired from the planner's answer: ${request.repairs.join("; ")}.` : "";
  b.nodes.push({
    id: "n_about",
    kind: "note",
    label: "About this plan",
    position: { x: 0, y: Math.min(...b.nodes.map((n) => n.position.y)) - 170 },
    config: { text: `Planned from a task. ${explanation}.${repairs}`.slice(0, 2_000), color: "blue" },
  });

  const raw = {
    format: "trellis.workflow",
    version: 1,
    name: `Plan: ${task.replace(/\s+/g, " ").trim()}`.slice(0, 120).trim(),
    description: `${explanation}. Task: ${task}`.slice(0, 2_000),
    inputs: [{ key: TASK_KEY, label: "Task", type: "long-text", default: task.slice(0, 20_000), required: true }],
    nodes: b.nodes,
    edges: b.edges,
    settings: { defaultModel: request.model ?? DEFAULT_MODEL },
  };
  const parsed = parseDocument(raw);
  if (!parsed.ok) throw new TopologyBuildError(`the planned workflow is not a valid document: ${parsed.issues[0]?.path} ${parsed.issues[0]?.message}`);
  const errors = validateWorkflow(parsed.document).filter((i) => i.severity === "error");
  if (errors.length) throw new TopologyBuildError(`the planned workflow does not validate: ${errors[0].message}`);
  return { document: parsed.document, metrics, decision, topology, explanation, nodeOf };
}
