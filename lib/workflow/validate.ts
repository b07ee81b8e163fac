import { issue, type ValidationIssue } from "./issues";
import { KINDS } from "./kinds";
import type { KindDefinition } from "./kinds/common";
import { DEFAULT_LIMITS, DOCUMENT_LIMIT_KEYS, type RunLimits } from "./limits";
import { DEFAULT_MODEL, type WorkflowDocument, type WorkflowNode } from "./schema";
import { adjacencyOf, backEdges, findCycle, loopBody, nodesOnCycles, reach } from "./graph";
import { MAX_SECTION_DEPTH, sectionDepth, templateReferences } from "./template";

/**
 * Graph rules over a parsed document (docs/architecture.md §2.2) and the compiled form the engine runs:
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
  /** For each forward edge that leaves one or more loop bodies: those loops (by back-edge index). */
  loopExits: Map<number, number[]>;
  /** For each back-edge: the forward edges that leave its body. */
  exitsOfLoop: Map<number, number[]>;
  /** For each node: the back-edges it closes (it is their source). */
  loopsClosedBy: number[][];
  inputIndex: number;
  /** Keys written by each node's direct forward predecessors, in edge order. */
  upstreamKeys: string[][];
  defaultModel: string;
};

export type CompileResult = { ok: true; workflow: CompiledWorkflow; warnings: ValidationIssue[] } | { ok: false; issues: ValidationIssue[] };

/** Two writers of one key are allowed only on exclusive branches: each fed solely by a different port of one router or gate. */
function exclusiveBranches(doc: WorkflowDocument, a: WorkflowNode, b: WorkflowNode): boolean {
  const feeds = (node: WorkflowNode) => doc.edges.filter((e) => e.target === node.id);
  const [ea, eb] = [feeds(a), feeds(b)];
  if (ea.length !== 1 || eb.length !== 1 || ea[0].source !== eb[0].source || ea[0].sourcePort === eb[0].sourcePort) return false;
  const branch = doc.nodes.find((n) => n.id === ea[0].source);
  return branch?.kind === "router" || branch?.kind === "gate";
}

/** What the rules share while one document is compiled: the runnable nodes by index, and the issues found. */
class Compilation {
  readonly issues: ValidationIssue[] = [];
  readonly warnings: ValidationIssue[] = [];
  readonly nodes: WorkflowNode[] = [];
  readonly index = new Map<string, number>();
  readonly inputKeys = new Set<string>();
  /** Document position of each runnable node, for JSON paths. */
  private readonly docPathOf: number[] = [];
  edges: CompiledEdge[] = [];
  /** Document position of each compiled edge. */
  edgePath: number[] = [];
  forward: number[][] = [];
  outgoing: number[][] = [];
  incoming: number[][] = [];

  constructor(
    readonly doc: WorkflowDocument,
    readonly limits: RunLimits,
  ) {
    doc.nodes.forEach((node, i) => {
      if (node.kind === "note" || this.index.has(node.id)) return;
      this.index.set(node.id, this.nodes.length);
      this.nodes.push(node);
      this.docPathOf.push(i);
    });
    for (const input of doc.inputs) this.inputKeys.add(input.key);
  }

  at(n: number): string {
    return `nodes[${this.docPathOf[n]}]`;
  }
}

function checkUniqueIds(c: Compilation): void {
  const seen = new Set<string>();
  c.doc.nodes.forEach((node, i) => {
    if (seen.has(node.id)) c.issues.push(issue("duplicate-id", `nodes[${i}].id`, `node id "${node.id}" is used by another node`, { nodeId: node.id }));
    seen.add(node.id);
  });
  const edgeIds = new Set<string>();
  c.doc.edges.forEach((edge, i) => {
    if (edgeIds.has(edge.id)) c.issues.push(issue("duplicate-id", `edges[${i}].id`, `edge id "${edge.id}" is used by another edge`, { edgeId: edge.id }));
    edgeIds.add(edge.id);
  });
  const inputKeys = new Set<string>();
  c.doc.inputs.forEach((input, i) => {
    if (inputKeys.has(input.key)) c.issues.push(issue("duplicate-key", `inputs[${i}].key`, `input key "${input.key}" appears twice`));
    inputKeys.add(input.key);
  });
}

/** False when the document is too large to look at further. */
function checkSize(c: Compilation): boolean {
  if (c.nodes.length > c.limits.maxNodes) {
    c.issues.push(issue("limit:nodes", "nodes", `the workflow has ${c.nodes.length} nodes; the limit is ${c.limits.maxNodes}`));
    return false;
  }
  return true;
}

function checkLoweredLimits(c: Compilation): void {
  for (const key of DOCUMENT_LIMIT_KEYS) {
    const wanted = c.doc.settings?.limits?.[key];
    if (wanted !== undefined && wanted > c.limits[key]) {
      c.warnings.push(
        issue("limits-lowered", `settings.limits.${key}`, `asks for ${wanted} but this server allows ${c.limits[key]}; ${c.limits[key]} applies`, {
          severity: "warning",
        }),
      );
    }
  }
}

/** The index of the one input node, or -1. */
function checkInputNode(c: Compilation): number {
  const inputNodes = c.nodes.flatMap((n, i) => (n.kind === "input" ? [i] : []));
  if (c.nodes.length > 0 && inputNodes.length === 0) c.issues.push(issue("no-input", "nodes", "the workflow needs an input node to start from"));
  for (const extra of inputNodes.slice(1)) {
    c.issues.push(issue("duplicate-input", c.at(extra), "a workflow has exactly one input node", { nodeId: c.nodes[extra].id }));
  }
  return inputNodes[0] ?? -1;
}

/** Endpoints and ports of every edge; the valid ones become compiled edges. */
function checkEdges(c: Compilation): void {
  const seenLinks = new Set<string>();
  c.doc.edges.forEach((edge, i) => {
    const path = `edges[${i}]`;
    const s = c.index.get(edge.source);
    const t = c.index.get(edge.target);
    const problem = (code: string, where: string, message: string) => c.issues.push(issue(code, `${path}${where}`, message, { edgeId: edge.id }));
    if (s === undefined) return problem("missing-node", ".source", `edge "${edge.id}" starts at "${edge.source}", which is not a node that can connect`);
    if (t === undefined) return problem("missing-node", ".target", `edge "${edge.id}" ends at "${edge.target}", which is not a node that can connect`);
    const outPorts = kindOf(c.nodes[s]).outputs(c.nodes[s].config);
    const inPorts = kindOf(c.nodes[t]).inputs(c.nodes[t].config);
    if (!outPorts.includes(edge.sourcePort)) {
      return problem(
        "unknown-port",
        ".sourcePort",
        `${c.nodes[s].kind} node "${edge.source}" has no out-port "${edge.sourcePort}"${outPorts.length ? ` (it has ${outPorts.join(", ")})` : " (it has none)"}`,
      );
    }
    if (!inPorts.includes(edge.targetPort)) {
      return problem(
        "unknown-port",
        ".targetPort",
        `${c.nodes[t].kind} node "${edge.target}" has no in-port "${edge.targetPort}"${inPorts.length ? ` (it has ${inPorts.join(", ")})` : " (it takes no input)"}`,
      );
    }
    if (s === t) return problem("self-loop", "", `edge "${edge.id}" connects node "${edge.source}" to itself`);
    const link = `${s}:${edge.sourcePort}->${t}:${edge.targetPort}`;
    if (seenLinks.has(link)) return problem("duplicate-edge", "", `edge "${edge.id}" repeats another edge between the same ports`);
    seenLinks.add(link);
    c.edges.push({ id: edge.id, source: s, sourcePort: edge.sourcePort, target: t, back: false });
    c.edgePath.push(i);
  });
}

/** Marks the back-edges and builds the adjacency the other rules use. */
function findLoops(c: Compilation): void {
  const back = backEdges(c.nodes.length, c.edges, (e) => kindOf(c.nodes[e.source]).loopPorts.includes(e.sourcePort));
  c.edges.forEach((e, i) => (e.back = back[i]));
  c.forward = c.nodes.map(() => []);
  c.outgoing = c.nodes.map(() => []);
  c.incoming = c.nodes.map(() => []);
  c.edges.forEach((e, i) => {
    c.outgoing[e.source].push(i);
    if (!e.back) {
      c.forward[e.source].push(e.target);
      c.incoming[e.target].push(i);
    }
  });
}

/** Any cycle not closed by a back-edge is an error that names it. */
function checkCycles(c: Compilation): void {
  const stuck = nodesOnCycles(c.nodes.length, c.forward);
  if (!stuck.length) return;
  const cycle = findCycle(new Set(stuck), c.forward);
  if (!cycle) return;
  const names = cycle.map((n) => c.nodes[n].id).join(" → ");
  const closing = c.edges.findIndex((e) => !e.back && e.source === cycle[cycle.length - 2] && e.target === cycle[cycle.length - 1]);
  c.issues.push(
    issue(
      "cycle",
      closing >= 0 ? `edges[${c.edgePath[closing]}]` : "edges",
      `cycle ${names} is not closed by an evaluator "revise" or a gate "fail" edge back to an upstream node`,
      { edgeId: closing >= 0 ? c.edges[closing].id : undefined, nodeId: c.nodes[cycle[0]].id },
    ),
  );
}

/** Every node must be reachable from the input, over any edge. */
function checkReachable(c: Compilation, inputIndex: number): void {
  if (inputIndex < 0) return;
  const reached = reach(inputIndex, adjacencyOf(c.nodes.length, c.edges));
  c.nodes.forEach((node, n) => {
    if (!reached.has(n)) c.issues.push(issue("unreachable", c.at(n), `node "${node.id}" is not connected to the input`, { nodeId: node.id }));
  });
}

/** Output keys: identifiers, unique (except on exclusive branches), not shadowing inputs. */
function checkOutputKeys(c: Compilation): void {
  const writers = new Map<string, number[]>();
  c.nodes.forEach((node, n) => {
    for (const key of kindOf(node).writes(node.config)) {
      if (c.inputKeys.has(key)) {
        c.issues.push(issue("duplicate-key", `${c.at(n)}.config`, `"${key}" is already a workflow input; pick another output key`, { nodeId: node.id }));
      }
      writers.set(key, [...(writers.get(key) ?? []), n]);
    }
  });
  for (const [key, list] of writers) {
    for (let i = 1; i < list.length; i++) {
      const clash = list.slice(0, i).find((other) => !exclusiveBranches(c.doc, c.nodes[other], c.nodes[list[i]]));
      if (clash !== undefined) {
        c.issues.push(
          issue("duplicate-key", `${c.at(list[i])}.config`, `output key "${key}" is also written by node "${c.nodes[clash].id}"`, { nodeId: c.nodes[list[i]].id }),
        );
      }
    }
  }
}

/**
 * Templates parse, nest sections at most MAX_SECTION_DEPTH deep, and every key a node reads
 * comes from the inputs or an upstream node (back-edges count: `{{feedback}}`).
 */
function checkReferences(c: Compilation): void {
  const reverse = adjacencyOf(c.nodes.length, c.edges, true);
  c.nodes.forEach((node, n) => {
    const kind = kindOf(node);
    const sites = kind.templates(node.config);
    const reads = kind.reads(node.config);
    if (!sites.length && !reads.length) return;
    const available = new Set(c.inputKeys);
    for (const ancestor of reach(n, reverse)) {
      if (ancestor !== n) for (const key of kindOf(c.nodes[ancestor]).writes(c.nodes[ancestor].config)) available.add(key);
    }
    const listAvailable = () => [...available].sort().join(", ") || "none";
    for (const site of sites) {
      const path = `${c.at(n)}.config.${site.path}`;
      const refs = templateReferences(site.template);
      if (refs instanceof Error) {
        c.issues.push(issue("template-syntax", path, `the template cannot be read: ${refs.message}`, { nodeId: node.id }));
        continue;
      }
      const depth = sectionDepth(site.template);
      if (typeof depth === "number" && depth > MAX_SECTION_DEPTH) {
        c.issues.push(
          issue("template-depth", path, `sections are nested ${depth} deep in node "${node.id}"'s ${site.path}; the limit is ${MAX_SECTION_DEPTH}`, { nodeId: node.id }),
        );
      }
      for (const ref of refs) {
        if (available.has(ref.key) || site.scope?.includes(ref.key)) continue;
        c.issues.push(issue("unknown-key-reference", path, `{{${ref.key}}} refers to a key that no upstream node produces (available: ${listAvailable()})`, { nodeId: node.id }));
      }
    }
    for (const read of reads) {
      if (!available.has(read.key)) {
        c.issues.push(
          issue("unknown-key-reference", `${c.at(n)}.config.${read.path}`, `"${read.key}" is not produced upstream (available: ${listAvailable()})`, { nodeId: node.id }),
        );
      }
    }
  });
}

/** Limits that a node's config can exceed. */
function checkConfigLimits(c: Compilation): void {
  c.nodes.forEach((node, n) => {
    if (node.kind === "orchestrator" && node.config.maxItems > c.limits.maxMapItems) {
      c.issues.push(
        issue("limit:map-items", `${c.at(n)}.config.maxItems`, `maxItems ${node.config.maxItems} exceeds the limit of ${c.limits.maxMapItems} items`, { nodeId: node.id }),
      );
    }
    const iterations = node.kind === "evaluator" || node.kind === "gate" ? node.config.maxIterations : undefined;
    if (iterations !== undefined && iterations > c.limits.maxLoopIterations) {
      c.issues.push(
        issue("limit:loop-iterations", `${c.at(n)}.config.maxIterations`, `maxIterations ${iterations} exceeds the limit of ${c.limits.maxLoopIterations}`, {
          nodeId: node.id,
        }),
      );
    }
  });
}

/** Loop bodies, and the edges that leave them (held back by the engine until their loops end). */
function loopStructure(c: Compilation): Pick<CompiledWorkflow, "loopBodies" | "loopExits" | "exitsOfLoop" | "loopsClosedBy"> {
  const loopBodies = new Map<number, number[]>();
  const loopExits = new Map<number, number[]>();
  const exitsOfLoop = new Map<number, number[]>();
  const loopsClosedBy: number[][] = c.nodes.map(() => []);
  if (!c.edges.some((e) => e.back)) return { loopBodies, loopExits, exitsOfLoop, loopsClosedBy };
  const reverse = adjacencyOf(c.nodes.length, c.edges.filter((e) => !e.back), true);
  c.edges.forEach((e, i) => {
    if (!e.back) return;
    const body = loopBody(e, c.forward, reverse);
    loopBodies.set(i, body);
    loopsClosedBy[e.source].push(i);
    const inBody = new Set(body);
    const exits: number[] = [];
    for (const b of body) {
      for (const k of c.outgoing[b]) {
        if (c.edges[k].back || inBody.has(c.edges[k].target)) continue;
        exits.push(k);
        loopExits.set(k, [...(loopExits.get(k) ?? []), i]);
      }
    }
    exitsOfLoop.set(i, exits);
  });
  return { loopBodies, loopExits, exitsOfLoop, loopsClosedBy };
}

export function compileWorkflow(doc: WorkflowDocument, operatorLimits: Partial<RunLimits> = {}): CompileResult {
  const c = new Compilation(doc, { ...DEFAULT_LIMITS, ...operatorLimits });
  checkUniqueIds(c);
  if (!checkSize(c)) return { ok: false, issues: c.issues };
  checkLoweredLimits(c);
  const inputIndex = checkInputNode(c);
  checkEdges(c);
  findLoops(c);
  checkCycles(c);
  checkReachable(c, inputIndex);
  checkOutputKeys(c);
  checkReferences(c);
  checkConfigLimits(c);
  if (c.issues.length) return { ok: false, issues: c.issues };

  const { nodes, edges, outgoing, incoming } = c;
  const upstreamKeys = nodes.map((_, n) => incoming[n].flatMap((k) => kindOf(nodes[edges[k].source]).writes(nodes[edges[k].source].config)));
  return {
    ok: true,
    warnings: c.warnings,
    workflow: {
      document: doc,
      nodes,
      edges,
      outgoing,
      incoming,
      ...loopStructure(c),
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

/** The state keys a node reads: its templates' top-level references (not their local scope) and its direct reads. */
export function keysReadBy(node: WorkflowNode): string[] {
  const kind = kindOf(node);
  const keys = new Set<string>();
  for (const site of kind.templates(node.config)) {
    const refs = templateReferences(site.template);
    if (refs instanceof Error) continue;
    for (const ref of refs) if (!site.scope?.includes(ref.key)) keys.add(ref.key);
  }
  for (const read of kind.reads(node.config)) keys.add(read.key);
  return [...keys];
}

/** Back-edges of a document (evaluator revise / gate fail loops) by id: the same rule compilation uses. */
export function backEdgeIds(doc: WorkflowDocument): Set<string> {
  const index = new Map(doc.nodes.map((node, i) => [node.id, i]));
  const edges = doc.edges.flatMap((edge) => {
    const source = index.get(edge.source);
    const target = index.get(edge.target);
    return source === undefined || target === undefined ? [] : [{ id: edge.id, source, target, port: edge.sourcePort }];
  });
  const back = backEdges(doc.nodes.length, edges, (e) => kindOf(doc.nodes[e.source]).loopPorts.includes(e.port));
  return new Set(edges.flatMap((edge, i) => (back[i] ? [edge.id] : [])));
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
