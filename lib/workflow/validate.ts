import { issue, type ValidationIssue } from "./issues";
import { KINDS } from "./kinds";
import type { KindDefinition } from "./kinds/common";
import { DEFAULT_LIMITS, DOCUMENT_LIMIT_KEYS, type RunLimits } from "./limits";
import { DEFAULT_MODEL, type WorkflowDocument, type WorkflowNode } from "./schema";
import { templateReferences } from "./template";

/**
 * Graph rules over a parsed document (DESIGN §3–§5) and the compiled form the engine runs:
 * back-edges found, loop bodies computed, adjacency by index.
 */

type AnyKind = KindDefinition<string, unknown>;
export function kindOf(node: WorkflowNode): AnyKind {
  return KINDS[node.kind] as unknown as AnyKind;
}

export type CompiledEdge = {
  id: string;
  /** Index into `nodes`. */
  source: number;
  sourcePort: string;
  target: number;
  /** Closes a loop: from an evaluator `revise` / gate `fail` port back to an upstream node. */
  back: boolean;
};

export type CompiledWorkflow = {
  document: WorkflowDocument;
  /** Runnable nodes (notes excluded). */
  nodes: WorkflowNode[];
  edges: CompiledEdge[];
  /** Edge indices leaving each node (forward and back). */
  outgoing: number[][];
  /** Forward edge indices entering each node. */
  incoming: number[][];
  /** For each back-edge index: the node indices of the loop body it re-runs (target … source). */
  loopBodies: Map<number, number[]>;
  inputIndex: number;
  /** Keys written by each node's direct forward predecessors, in edge order. */
  upstreamKeys: string[][];
  defaultModel: string;
};

export type CompileResult = { ok: true; workflow: CompiledWorkflow; warnings: ValidationIssue[] } | { ok: false; issues: ValidationIssue[] };

function reach(start: number, adjacency: number[][], into = new Set<number>()): Set<number> {
  const stack = [start];
  into.add(start);
  while (stack.length) {
    const node = stack.pop()!;
    for (const next of adjacency[node]) {
      if (!into.has(next)) {
        into.add(next);
        stack.push(next);
      }
    }
  }
  return into;
}

/** Finds one cycle among `candidates` in a directed graph, as a node index path that starts and ends on the same node. */
function findCycle(candidates: Set<number>, adjacency: number[][]): number[] | null {
  const color = new Map<number, 1 | 2>();
  const parent = new Map<number, number>();
  for (const start of candidates) {
    if (color.has(start)) continue;
    const stack: Array<[number, number]> = [[start, 0]];
    color.set(start, 1);
    while (stack.length) {
      const frame = stack[stack.length - 1];
      const [node, i] = frame;
      const next = adjacency[node][i];
      if (next === undefined) {
        color.set(node, 2);
        stack.pop();
        continue;
      }
      frame[1]++;
      if (!candidates.has(next)) continue;
      if (color.get(next) === 1) {
        const cycle = [next];
        for (let at = node; at !== next; at = parent.get(at)!) cycle.push(at);
        cycle.push(next);
        return cycle.reverse();
      }
      if (!color.has(next)) {
        color.set(next, 1);
        parent.set(next, node);
        stack.push([next, 0]);
      }
    }
  }
  return null;
}

/** Two writers of one key are allowed only on exclusive branches: each fed solely by a different port of one router or gate. */
function exclusiveBranches(doc: WorkflowDocument, a: WorkflowNode, b: WorkflowNode): boolean {
  const feeds = (node: WorkflowNode) => doc.edges.filter((e) => e.target === node.id);
  const [ea, eb] = [feeds(a), feeds(b)];
  if (ea.length !== 1 || eb.length !== 1 || ea[0].source !== eb[0].source || ea[0].sourcePort === eb[0].sourcePort) return false;
  const branch = doc.nodes.find((n) => n.id === ea[0].source);
  return branch?.kind === "router" || branch?.kind === "gate";
}

export function compileWorkflow(doc: WorkflowDocument, operatorLimits: Partial<RunLimits> = {}): CompileResult {
  const limits: RunLimits = { ...DEFAULT_LIMITS, ...operatorLimits };
  const issues: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  const docIndex = new Map<string, number>();
  doc.nodes.forEach((node, i) => {
    if (docIndex.has(node.id)) {
      issues.push(issue("duplicate-id", `nodes[${i}].id`, `node id "${node.id}" is used by another node`, { nodeId: node.id }));
    } else docIndex.set(node.id, i);
  });
  const edgeIds = new Set<string>();
  doc.edges.forEach((edge, i) => {
    if (edgeIds.has(edge.id)) issues.push(issue("duplicate-id", `edges[${i}].id`, `edge id "${edge.id}" is used by another edge`, { edgeId: edge.id }));
    edgeIds.add(edge.id);
  });
  const inputKeys = new Set<string>();
  doc.inputs.forEach((input, i) => {
    if (inputKeys.has(input.key)) issues.push(issue("duplicate-key", `inputs[${i}].key`, `input key "${input.key}" appears twice`));
    inputKeys.add(input.key);
  });

  // Runnable nodes, by index.
  const nodes: WorkflowNode[] = [];
  const docPathOf: number[] = [];
  const index = new Map<string, number>();
  doc.nodes.forEach((node, i) => {
    if (node.kind === "note" || index.has(node.id)) return;
    index.set(node.id, nodes.length);
    nodes.push(node);
    docPathOf.push(i);
  });
  const at = (n: number) => `nodes[${docPathOf[n]}]`;

  if (nodes.length > limits.maxNodes) {
    issues.push(issue("limit:nodes", "nodes", `the workflow has ${nodes.length} nodes; the limit is ${limits.maxNodes}`));
    return { ok: false, issues };
  }
  for (const key of DOCUMENT_LIMIT_KEYS) {
    const wanted = doc.settings?.limits?.[key];
    if (wanted !== undefined && wanted > limits[key]) {
      warnings.push(
        issue("limits-lowered", `settings.limits.${key}`, `asks for ${wanted} but this server allows ${limits[key]}; ${limits[key]} applies`, {
          severity: "warning",
        }),
      );
    }
  }

  const inputNodes = nodes.map((n, i) => (n.kind === "input" ? i : -1)).filter((i) => i >= 0);
  if (nodes.length > 0 && inputNodes.length === 0) issues.push(issue("no-input", "nodes", "the workflow needs an input node to start from"));
  for (const extra of inputNodes.slice(1)) {
    issues.push(issue("duplicate-input", at(extra), "a workflow has exactly one input node", { nodeId: nodes[extra].id }));
  }

  // Edges: endpoints and ports.
  const edges: CompiledEdge[] = [];
  const edgePath: number[] = [];
  const seenLinks = new Set<string>();
  doc.edges.forEach((edge, i) => {
    const path = `edges[${i}]`;
    const s = index.get(edge.source);
    const t = index.get(edge.target);
    const problem = (code: string, where: string, message: string) => issues.push(issue(code, `${path}${where}`, message, { edgeId: edge.id }));
    if (s === undefined) return problem("missing-node", ".source", `edge "${edge.id}" starts at "${edge.source}", which is not a node that can connect`);
    if (t === undefined) return problem("missing-node", ".target", `edge "${edge.id}" ends at "${edge.target}", which is not a node that can connect`);
    const outPorts = kindOf(nodes[s]).outputs(nodes[s].config);
    const inPorts = kindOf(nodes[t]).inputs(nodes[t].config);
    if (!outPorts.includes(edge.sourcePort)) {
      return problem(
        "unknown-port",
        ".sourcePort",
        `${nodes[s].kind} node "${edge.source}" has no out-port "${edge.sourcePort}"${outPorts.length ? ` (it has ${outPorts.join(", ")})` : " (it has none)"}`,
      );
    }
    if (!inPorts.includes(edge.targetPort)) {
      return problem(
        "unknown-port",
        ".targetPort",
        `${nodes[t].kind} node "${edge.target}" has no in-port "${edge.targetPort}"${inPorts.length ? ` (it has ${inPorts.join(", ")})` : " (it takes no input)"}`,
      );
    }
    if (s === t) return problem("self-loop", "", `edge "${edge.id}" connects node "${edge.source}" to itself`);
    const link = `${s}:${edge.sourcePort}->${t}:${edge.targetPort}`;
    if (seenLinks.has(link)) return problem("duplicate-edge", "", `edge "${edge.id}" repeats another edge between the same ports`);
    seenLinks.add(link);
    edges.push({ id: edge.id, source: s, sourcePort: edge.sourcePort, target: t, back: false });
    edgePath.push(i);
  });

  // Back-edges: a loop port whose target reaches its source along the other edges.
  const isLoopCandidate = (e: CompiledEdge) => kindOf(nodes[e.source]).loopPorts.includes(e.sourcePort);
  const plain: number[][] = nodes.map(() => []);
  for (const e of edges) if (!isLoopCandidate(e)) plain[e.source].push(e.target);
  for (const e of edges) if (isLoopCandidate(e)) e.back = reach(e.target, plain).has(e.source);

  const forward: number[][] = nodes.map(() => []);
  const outgoing: number[][] = nodes.map(() => []);
  const incoming: number[][] = nodes.map(() => []);
  edges.forEach((e, i) => {
    outgoing[e.source].push(i);
    if (!e.back) {
      forward[e.source].push(e.target);
      incoming[e.target].push(i);
    }
  });

  // Any other cycle is an error that names it.
  const indegree = nodes.map((_, n) => incoming[n].length);
  const queue = nodes.map((_, n) => n).filter((n) => indegree[n] === 0);
  for (let q = 0; q < queue.length; q++) {
    for (const next of forward[queue[q]]) if (--indegree[next] === 0) queue.push(next);
  }
  if (queue.length < nodes.length) {
    const stuck = new Set(nodes.map((_, n) => n).filter((n) => indegree[n] > 0));
    const cycle = findCycle(stuck, forward);
    if (cycle) {
      const names = cycle.map((n) => nodes[n].id).join(" → ");
      const closing = edges.findIndex((e) => !e.back && e.source === cycle[cycle.length - 2] && e.target === cycle[cycle.length - 1]);
      issues.push(
        issue(
          "cycle",
          closing >= 0 ? `edges[${edgePath[closing]}]` : "edges",
          `cycle ${names} is not closed by an evaluator "revise" or a gate "fail" edge back to an upstream node`,
          { edgeId: closing >= 0 ? edges[closing].id : undefined, nodeId: nodes[cycle[0]].id },
        ),
      );
    }
  }

  // Reachability from the input, over every edge.
  const inputIndex = inputNodes[0] ?? -1;
  if (inputIndex >= 0) {
    const all: number[][] = nodes.map(() => []);
    for (const e of edges) all[e.source].push(e.target);
    const reached = reach(inputIndex, all);
    nodes.forEach((node, n) => {
      if (!reached.has(n)) issues.push(issue("unreachable", at(n), `node "${node.id}" is not connected to the input`, { nodeId: node.id }));
    });
  }

  // Output keys: identifiers, unique, not shadowing inputs.
  const writers = new Map<string, number[]>();
  nodes.forEach((node, n) => {
    for (const key of kindOf(node).writes(node.config)) {
      if (inputKeys.has(key)) {
        issues.push(issue("duplicate-key", `${at(n)}.config`, `"${key}" is already a workflow input; pick another output key`, { nodeId: node.id }));
      }
      writers.set(key, [...(writers.get(key) ?? []), n]);
    }
  });
  for (const [key, list] of writers) {
    for (let i = 1; i < list.length; i++) {
      const clash = list.slice(0, i).find((other) => !exclusiveBranches(doc, nodes[other], nodes[list[i]]));
      if (clash !== undefined) {
        issues.push(
          issue("duplicate-key", `${at(list[i])}.config`, `output key "${key}" is also written by node "${nodes[clash].id}"`, { nodeId: nodes[list[i]].id }),
        );
      }
    }
  }

  // Every key a node reads must come from the inputs or an upstream node (back-edges count: `{{feedback}}`).
  const reverse: number[][] = nodes.map(() => []);
  for (const e of edges) reverse[e.target].push(e.source);
  nodes.forEach((node, n) => {
    const kind = kindOf(node);
    const sites = kind.templates(node.config);
    const reads = kind.reads(node.config);
    if (!sites.length && !reads.length) return;
    const available = new Set(inputKeys);
    for (const ancestor of reach(n, reverse)) {
      if (ancestor !== n) for (const key of kindOf(nodes[ancestor]).writes(nodes[ancestor].config)) available.add(key);
    }
    const listAvailable = () => [...available].sort().join(", ") || "none";
    for (const site of sites) {
      const refs = templateReferences(site.template);
      if (refs instanceof Error) {
        issues.push(issue("template-syntax", `${at(n)}.config.${site.path}`, `the template cannot be read: ${refs.message}`, { nodeId: node.id }));
        continue;
      }
      for (const ref of refs) {
        if (available.has(ref.key) || site.scope?.includes(ref.key)) continue;
        issues.push(
          issue(
            "unknown-key-reference",
            `${at(n)}.config.${site.path}`,
            `{{${ref.key}}} refers to a key that no upstream node produces (available: ${listAvailable()})`,
            { nodeId: node.id },
          ),
        );
      }
    }
    for (const read of reads) {
      if (!available.has(read.key)) {
        issues.push(
          issue("unknown-key-reference", `${at(n)}.config.${read.path}`, `"${read.key}" is not produced upstream (available: ${listAvailable()})`, {
            nodeId: node.id,
          }),
        );
      }
    }
  });

  // Limits that a config can exceed.
  nodes.forEach((node, n) => {
    if (node.kind === "orchestrator" && node.config.maxItems > limits.maxMapItems) {
      issues.push(
        issue("limit:map-items", `${at(n)}.config.maxItems`, `maxItems ${node.config.maxItems} exceeds the limit of ${limits.maxMapItems} items`, { nodeId: node.id }),
      );
    }
    const iterations = node.kind === "evaluator" || node.kind === "gate" ? node.config.maxIterations : undefined;
    if (iterations !== undefined && iterations > limits.maxLoopIterations) {
      issues.push(
        issue("limit:loop-iterations", `${at(n)}.config.maxIterations`, `maxIterations ${iterations} exceeds the limit of ${limits.maxLoopIterations}`, {
          nodeId: node.id,
        }),
      );
    }
  });

  if (issues.length) return { ok: false, issues };

  const loopBodies = new Map<number, number[]>();
  edges.forEach((e, i) => {
    if (!e.back) return;
    const fromTarget = reach(e.target, forward);
    const toSource = reach(e.source, nodes.map(() => [] as number[]).map((_, n) => incoming[n].map((k) => edges[k].source)));
    loopBodies.set(i, [...fromTarget].filter((n) => toSource.has(n)).sort((a, b) => a - b));
  });
  const upstreamKeys = nodes.map((_, n) =>
    incoming[n].flatMap((k) => kindOf(nodes[edges[k].source]).writes(nodes[edges[k].source].config)),
  );
  return {
    ok: true,
    warnings,
    workflow: {
      document: doc,
      nodes,
      edges,
      outgoing,
      incoming,
      loopBodies,
      inputIndex,
      upstreamKeys,
      defaultModel: doc.settings?.defaultModel ?? DEFAULT_MODEL,
    },
  };
}

/** Every issue of a parsed document, for the editor's validation panel and the CLI's `validate`. */
export function validateWorkflow(doc: WorkflowDocument, operatorLimits?: Partial<RunLimits>): ValidationIssue[] {
  const result = compileWorkflow(doc, operatorLimits);
  return result.ok ? result.warnings : result.issues;
}

/** Which model each node calls, for the server's "is it configured?" check before a run. */
export function modelsUsed(doc: WorkflowDocument): Array<{ nodeId: string; model: string }> {
  const fallback = doc.settings?.defaultModel ?? DEFAULT_MODEL;
  return doc.nodes.flatMap((node) => kindOf(node).models(node.config, fallback).map((model) => ({ nodeId: node.id, model })));
}

/**
 * The state keys a node's templates may use: workflow inputs plus every key written by a node
 * upstream of it (back-edges count, so a generator sees its evaluator's `feedback`).
 */
export function availableKeys(doc: WorkflowDocument, nodeId: string): string[] {
  const keys = new Set(doc.inputs.map((input) => input.key));
  const byId = new Map(doc.nodes.map((node) => [node.id, node]));
  const seen = new Set([nodeId]);
  const stack = [nodeId];
  while (stack.length) {
    const current = stack.pop()!;
    for (const edge of doc.edges) {
      if (edge.target !== current || seen.has(edge.source)) continue;
      seen.add(edge.source);
      stack.push(edge.source);
      const source = byId.get(edge.source);
      if (source) for (const key of kindOf(source).writes(source.config)) keys.add(key);
    }
  }
  return [...keys].sort();
}

/** The same document with every node on one model ("run with the demo model", the CLI's --model). */
export function withModel(doc: WorkflowDocument, model: string): WorkflowDocument {
  return {
    ...doc,
    settings: { ...doc.settings, defaultModel: model },
    nodes: doc.nodes.map((node) => ("model" in node.config ? ({ ...node, config: { ...node.config, model } } as WorkflowNode) : node)),
  };
}
