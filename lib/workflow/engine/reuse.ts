import { reach } from "../graph";
import type { WorkflowDocument, WorkflowNode } from "../schema";
import { compileWorkflow, kindOf, type CompiledWorkflow } from "../validate";
import type { RunEvent, RunReuseSummary } from "./events";

/**
 * Run from here (issue 16): which nodes of a document run again and which take their outputs from
 * an earlier run, planned from that run's record alone (its document and events). Pure: the server
 * plans before it runs, the editor plans to say what would happen.
 *
 * - The start nodes and everything downstream of them (forward edges) run again; every other node
 *   answers the output it last had in the earlier run, without a model call. Nodes of the earlier
 *   run that did not finish (failed, cancelled, never reached) cannot be reused and run again too.
 * - The run starts from the state as it was when the first start node last started, with the loop
 *   counters of that moment: starting inside a loop body re-runs that loop's current iteration
 *   (its feedback, its pass number and so its remaining bound), not a fresh loop.
 * - A worker can re-run all its instances, or only those that did not succeed (`failed-instances`).
 * - Stale: a reused node the document changed since that run (its kind, config, pin, wiring or the
 *   default model it uses) would feed old outputs downstream. The plan names them and suggests the
 *   earliest ones as start nodes instead.
 */

export type EarlierRun = { runId: string; document: WorkflowDocument; events: ReadonlyArray<RunEvent> };

export type ReuseMode = "all" | "failed-instances";

export type ReuseRequest = {
  document: WorkflowDocument;
  earlier: EarlierRun;
  /** Node ids to start from. */
  from: ReadonlyArray<string>;
  /** For a single worker start: re-run all instances (default) or only those that did not succeed. */
  mode?: ReuseMode;
};

/** A node that answers its recorded result once instead of running. */
export type ReusedNode = { output: unknown; ports: string[]; writes: Record<string, unknown>; iteration: number };

/** What the engine needs to run from given nodes (RunOptions.reuse). */
export type RunReuse = {
  summary: RunReuseSummary;
  nodes: Record<string, ReusedNode>;
  /** How many times each node had run by the start point: events keep counting from there. */
  iterations: Record<string, number>;
  /** Per worker: each instance's recorded output, or null where the instance runs again. */
  instances?: Record<string, Array<{ output: unknown } | null>>;
};

export type StaleNode = { nodeId: string; label: string; why: string };

export type ReusePlan = {
  from: string[];
  /** Runnable nodes that execute, in document order. */
  rerun: string[];
  /** Nodes answered from the earlier run, in document order. */
  reused: string[];
  /** Nodes that answer their pinned output (the document's pin wins over the earlier run). */
  pinned: string[];
  /** Nodes outside the start nodes' reach that run anyway: they did not finish in the earlier run. */
  unfinished: string[];
  stale: StaleNode[];
  /** When stale: the start nodes that would leave nothing stale (the earliest changed nodes, plus `from`). */
  suggestedFrom?: string[];
  /** The earlier run's inputs, limited to the inputs the document declares now. */
  inputs: Record<string, unknown>;
  /** For `failed-instances`: how many instances run again, of how many. */
  instances?: { rerun: number; of: number };
  reuse: RunReuse;
};

export type ReuseResult = { ok: true; plan: ReusePlan } | { ok: false; code: string; message: string; nodeId?: string };

type Lifecycle = "started" | "succeeded" | "failed" | "cancelled" | "skipped";

/** What one node did in the earlier run, folded from its events. */
type NodeRecord = {
  last: Lifecycle;
  /** Sequence number of its last (node-level) start. */
  startedAt: number;
  finished?: Extract<RunEvent, { type: "node-finished" }>;
  /** The instances of its last execution: output when it succeeded, null otherwise. */
  instances: Array<{ output: unknown } | null>;
};

/** The state keys a node's recorded output stands for (events carry what the node showed, not always what it wrote). */
export function writesOf(node: WorkflowNode, output: unknown): Record<string, unknown> {
  const keys = kindOf(node).writes(node.config);
  if (!keys.length || output === null || typeof output !== "object") return {};
  const record = output as Record<string, unknown>;
  if (node.kind === "router" && typeof record.route === "string") {
    // A router shows its decision; it writes the route it took (`default` for an unknown one).
    const known = node.config.routes.some((r) => r.name === record.route);
    return { [node.config.outputKey]: known ? record.route : "default" };
  }
  const writes: Record<string, unknown> = {};
  for (const key of keys) if (key in record) writes[key] = record[key];
  return writes;
}

const label = (node: WorkflowNode) => node.label || node.id;

/** Every node's record, the state and loop counters just before event `until` (by seq), and the inputs. */
function foldEvents(earlier: EarlierRun, compiled: CompiledWorkflow | null, until: number) {
  const byId = new Map(earlier.document.nodes.map((node) => [node.id, node]));
  const index = new Map(compiled?.nodes.map((node, n) => [node.id, n]) ?? []);
  const records = new Map<string, NodeRecord>();
  const state: Record<string, unknown> = {};
  const passes: Record<string, number> = {};
  const iterations: Record<string, number> = {};
  let inputs: Record<string, unknown> = {};
  const recordOf = (nodeId: string) => {
    let record = records.get(nodeId);
    if (!record) records.set(nodeId, (record = { last: "started", startedAt: -1, instances: [] }));
    return record;
  };
  for (const event of earlier.events) {
    const before = event.seq < until;
    switch (event.type) {
      case "run-started":
        inputs = { ...event.inputs };
        Object.assign(state, event.inputs, event.reuse?.state);
        Object.assign(passes, event.reuse?.passes);
        break;
      case "node-started": {
        if (event.instance !== undefined) {
          recordOf(event.nodeId).instances[event.instance] = null;
          break;
        }
        const record = recordOf(event.nodeId);
        record.last = "started";
        record.startedAt = event.seq;
        record.instances = [];
        if (before) {
          iterations[event.nodeId] = event.iteration;
          passes[event.nodeId] = (passes[event.nodeId] ?? 0) + 1;
        }
        break;
      }
      case "node-instances":
        recordOf(event.nodeId).instances = event.labels.map(() => null);
        break;
      case "node-finished": {
        const record = recordOf(event.nodeId);
        if (event.instance !== undefined) {
          record.instances[event.instance] = { output: event.output };
          break;
        }
        record.last = "succeeded";
        record.finished = event;
        const node = byId.get(event.nodeId);
        if (before && node) Object.assign(state, writesOf(node, event.output));
        break;
      }
      case "node-failed":
      case "node-cancelled":
        if (event.instance === undefined) recordOf(event.nodeId).last = event.type === "node-failed" ? "failed" : "cancelled";
        break;
      case "node-skipped":
        recordOf(event.nodeId).last = "skipped";
        break;
      case "loop-iteration": {
        // The scheduler's rule: loops nested in the body start counting their passes afresh.
        if (!before || !compiled) break;
        const source = index.get(event.nodeId);
        const head = index.get(event.targetId);
        const back = compiled.edges.findIndex((e) => e.back && e.source === source && e.target === head);
        for (const b of compiled.loopBodies.get(back) ?? []) {
          if (b !== source && compiled.loopsClosedBy[b].length) passes[compiled.nodes[b].id] = 0;
        }
        break;
      }
      default:
        break;
    }
  }
  return { records, state, passes, iterations, inputs };
}

/** What makes a node compute what it computes: not its label or position. */
function semantics(node: WorkflowNode): string {
  return JSON.stringify({ kind: node.kind, config: node.config, pinned: node.pinned ?? null });
}

function inboundOf(document: WorkflowDocument, nodeId: string): string {
  return document.edges
    .filter((e) => e.target === nodeId)
    .map((e) => `${e.source}:${e.sourcePort}->${e.targetPort}`)
    .sort()
    .join(",");
}

/** Why a reused node's recorded output may no longer be what the document would compute, or null. */
function staleness(now: WorkflowDocument, then: WorkflowDocument, node: WorkflowNode): string | null {
  const old = then.nodes.find((n) => n.id === node.id)!;
  if (old.kind !== node.kind) return `its kind changed (${old.kind} → ${node.kind})`;
  if (semantics(old) !== semantics(node)) {
    const before = old.config as Record<string, unknown>;
    const after = node.config as Record<string, unknown>;
    const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    if (fields.length) return `its ${fields.join(", ")} changed`;
    return "its pin changed";
  }
  if (inboundOf(now, node.id) !== inboundOf(then, node.id)) return "its inputs were rewired";
  const nowModels = kindOf(node).models(node.config, now.settings?.defaultModel ?? "demo:default");
  const thenModels = kindOf(old).models(old.config, then.settings?.defaultModel ?? "demo:default");
  if (nowModels.join() !== thenModels.join()) return `its model changed (${thenModels.join()} → ${nowModels.join()})`;
  return null;
}

export function planReuse(request: ReuseRequest): ReuseResult {
  const { document, earlier } = request;
  const compiled = compileWorkflow(document);
  if (!compiled.ok) return { ok: false, code: "invalid-document", message: "the workflow has issues to fix before it can run" };
  const workflow = compiled.workflow;
  const earlierCompiled = compileWorkflow(earlier.document);
  const index = new Map(workflow.nodes.map((node, n) => [node.id, n]));
  const from = [...new Set(request.from)];
  if (!from.length) return { ok: false, code: "no-start", message: "name a node to run from" };
  for (const id of from) {
    if (!index.has(id)) return { ok: false, code: "unknown-node", message: `"${id}" is not a node that runs`, nodeId: id };
  }
  if (!earlier.events.some((e) => e.type === "run-finished") && earlier.events.length) {
    return { ok: false, code: "run-in-progress", message: "that run has not finished yet" };
  }

  // A first look at the records (to the end), to find where the run starts and what did not finish.
  const whole = foldEvents(earlier, earlierCompiled.ok ? earlierCompiled.workflow : null, Infinity);
  for (const id of from) {
    const record = whole.records.get(id);
    if (record?.last === "skipped" && earlier.document.nodes.some((n) => n.id === id)) {
      return {
        ok: false,
        code: "not-reached",
        message: `"${label(workflow.nodes[index.get(id)!])}" was skipped in that run (its branch was not taken), so running from it would skip it again; run from the branch before it`,
        nodeId: id,
      };
    }
  }

  const forward = workflow.nodes.map((_, n) => workflow.outgoing[n].filter((e) => !workflow.edges[e].back).map((e) => workflow.edges[e].target));
  const rerun = new Set<number>();
  for (const id of from) reach(index.get(id)!, forward, rerun);
  const pinned = workflow.nodes.flatMap((node, n) => (node.pinned && !rerun.has(n) ? [n] : []));
  // Nodes that did not finish cannot be reused: they run again, and so does what depends on them.
  const unfinished: number[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    workflow.nodes.forEach((node, n) => {
      if (rerun.has(n) || node.pinned) return;
      // A node added since that run has no record: it runs like one that did not finish.
      const record = earlier.document.nodes.some((old) => old.id === node.id) ? whole.records.get(node.id) : undefined;
      if (record?.last === "succeeded" || record?.last === "skipped") return;
      unfinished.push(n);
      reach(n, forward, rerun);
      changed = true;
    });
  }

  // The moment the run resumes: the earliest last start among the nodes that run again.
  const starts = [...rerun].map((n) => whole.records.get(workflow.nodes[n].id)?.startedAt ?? -1).filter((seq) => seq >= 0);
  const resumeAt = starts.length ? Math.min(...starts) : Infinity;
  const at = foldEvents(earlier, earlierCompiled.ok ? earlierCompiled.workflow : null, resumeAt);

  const reusedNodes: Record<string, ReusedNode> = {};
  const reused: string[] = [];
  const stale: StaleNode[] = [];
  workflow.nodes.forEach((node, n) => {
    if (rerun.has(n) || node.pinned) return;
    const finished = whole.records.get(node.id)?.finished;
    const old = earlier.document.nodes.find((o) => o.id === node.id);
    // Skipped nodes are skipped again by dead-path elimination: only finished ones are reused.
    if (!finished || !old || whole.records.get(node.id)?.last !== "succeeded") return;
    const why = staleness(document, earlier.document, node);
    if (why) stale.push({ nodeId: node.id, label: label(node), why });
    reused.push(node.id);
    reusedNodes[node.id] = {
      output: finished.output,
      ports: finished.ports ?? kindOf(old).outputs(old.config),
      writes: writesOf(old, finished.output),
      iteration: finished.iteration,
    };
  });

  let instances: ReusePlan["instances"];
  let instanceReuse: RunReuse["instances"];
  if (request.mode === "failed-instances") {
    const worker = from.length === 1 ? workflow.nodes[index.get(from[0])!] : undefined;
    const recorded = worker ? whole.records.get(worker.id)?.instances : undefined;
    if (!worker || worker.kind !== "worker" || !recorded?.length) {
      return { ok: false, code: "no-instances", message: "retrying failed instances needs one worker that ran instances in that run", nodeId: from[0] };
    }
    const outputs = recorded.map((instance) => instance ?? null);
    instanceReuse = { [worker.id]: outputs };
    instances = { rerun: outputs.filter((o) => o === null).length, of: outputs.length };
  }

  const suggestedFrom = stale.length ? earliest(workflow, stale.map((s) => index.get(s.nodeId)!), from) : undefined;
  const declared = new Set(document.inputs.map((input) => input.key));
  const inputs = Object.fromEntries(Object.entries(whole.inputs).filter(([key]) => declared.has(key)));
  const seededState = Object.fromEntries(Object.entries(at.state).filter(([key]) => !declared.has(key)));
  const passes = Object.fromEntries(Object.entries(at.passes).filter(([, count]) => count > 0));
  const ids = (set: Iterable<number>) => [...set].sort((a, b) => a - b).map((n) => workflow.nodes[n].id);
  return {
    ok: true,
    plan: {
      from,
      rerun: ids(rerun),
      reused,
      pinned: ids(pinned),
      unfinished: ids(unfinished),
      stale,
      ...(suggestedFrom ? { suggestedFrom } : {}),
      inputs,
      ...(instances ? { instances } : {}),
      reuse: {
        summary: {
          runId: earlier.runId,
          from,
          reused,
          ...(stale.length ? { stale: stale.map((s) => s.nodeId) } : {}),
          state: seededState,
          passes,
        },
        nodes: reusedNodes,
        iterations: at.iterations,
        ...(instanceReuse ? { instances: instanceReuse } : {}),
      },
    },
  };
}

/** The stale nodes no other stale node is upstream of (the earliest changes), with the original start nodes. */
function earliest(workflow: CompiledWorkflow, stale: number[], from: ReadonlyArray<string>): string[] {
  const forward = workflow.nodes.map((_, n) => workflow.outgoing[n].filter((e) => !workflow.edges[e].back).map((e) => workflow.edges[e].target));
  const covered = new Set<number>();
  for (const s of stale) for (const d of reach(s, forward)) if (d !== s) covered.add(d);
  const first = stale.filter((s) => !covered.has(s)).sort((a, b) => a - b);
  return [...new Set([...first.map((n) => workflow.nodes[n].id), ...from])];
}
