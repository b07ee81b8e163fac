import {
  backEdgeIds,
  compileWorkflow,
  KINDS,
  NodeSchema,
  type NodeKind,
  type ValidationIssue,
  type WorkflowDocument,
  type WorkflowEdge,
  type WorkflowNode,
} from "@/lib/workflow";
import { kindOf } from "@/lib/workflow/validate";
import { nextEdgeId, nextNodeId, nextOutputKey, outputKeyBase } from "./ids";

/**
 * Pure document edits behind the editor's actions. Every function takes a document and returns
 * a new one (or a refusal that says why), so the store stays thin and everything here is
 * testable without React.
 */

export type Position = { x: number; y: number };
export type Size = { width: number; height: number };
export const DEFAULT_NODE_SIZE: Size = { width: 280, height: 140 };

/** Config fields that name a state key the node writes. */
const WRITE_FIELDS = ["outputKey", "gradeKey", "feedbackKey"] as const;

export function writtenKeys(doc: WorkflowDocument, except?: Set<string>): Set<string> {
  const keys = new Set(doc.inputs.map((input) => input.key));
  for (const node of doc.nodes) {
    if (except?.has(node.id)) continue;
    for (const key of kindOf(node).writes(node.config)) keys.add(key);
  }
  return keys;
}

/** Renames a node's written keys that clash with `taken`, keeping the rest of its config. */
function withUniqueWrites(node: WorkflowNode, taken: Set<string>): WorkflowNode {
  const config = { ...(node.config as Record<string, unknown>) };
  for (const field of WRITE_FIELDS) {
    const key = config[field];
    if (typeof key !== "string") continue;
    if (taken.has(key)) config[field] = nextOutputKey(taken, key.replace(/_\d+$/, ""));
    taken.add(config[field] as string);
  }
  return { ...node, config } as WorkflowNode;
}

export function createNode(doc: WorkflowDocument, kind: NodeKind, position: Position): WorkflowNode {
  const taken = writtenKeys(doc);
  const definition = KINDS[kind];
  const node = {
    id: nextNodeId(doc, kind),
    kind,
    label: definition.title,
    position: { x: Math.round(position.x), y: Math.round(position.y) },
    config: definition.defaultConfig(nextOutputKey(taken, outputKeyBase(kind))),
  } as WorkflowNode;
  return withUniqueWrites(node, taken);
}

export function addNode(doc: WorkflowDocument, node: WorkflowNode): WorkflowDocument {
  return { ...doc, nodes: [...doc.nodes, node] };
}

/** A free spot near `center`: nudged down-right until it overlaps no node. */
export function freePosition(doc: WorkflowDocument, center: Position, size: Size = DEFAULT_NODE_SIZE): Position {
  const overlaps = (p: Position) =>
    doc.nodes.some((n) => Math.abs(n.position.x - p.x) < size.width + 20 && Math.abs(n.position.y - p.y) < size.height + 20);
  let p = { x: Math.round(center.x - size.width / 2), y: Math.round(center.y - size.height / 2) };
  for (let i = 0; i < 200 && overlaps(p); i++) p = { x: p.x + 40, y: p.y + 40 };
  return p;
}

export type Connection = { source: string; sourcePort: string; target: string; targetPort: string };
export type ConnectResult = { ok: true; document: WorkflowDocument; edge: WorkflowEdge } | { ok: false; reason: string };

const EDGE_CODES = new Set(["unknown-port", "self-loop", "duplicate-edge", "cycle", "missing-node"]);

function explain(found: ValidationIssue): string {
  switch (found.code) {
    case "cycle":
      return "That would make a loop. Only an evaluator's revise port or a gate's fail port can loop back upstream.";
    case "self-loop":
      return "A node cannot feed itself.";
    case "duplicate-edge":
      return "These ports are already connected.";
    default:
      return found.message.charAt(0).toUpperCase() + found.message.slice(1) + ".";
  }
}

/**
 * Adds an edge if the core's graph rules allow it: the same validation that runs before a run
 * decides here, so the canvas never accepts what the engine would refuse.
 */
export function connect(doc: WorkflowDocument, connection: Connection): ConnectResult {
  // React Flow asks again on every pointer move over a handle: answer from the document's cache.
  let cached = connectCache.get(doc);
  if (!cached) {
    cached = { before: compileWorkflow(doc), results: new Map() };
    connectCache.set(doc, cached);
  }
  const key = `${connection.source}\u0000${connection.sourcePort}\u0000${connection.target}\u0000${connection.targetPort}`;
  let result = cached.results.get(key);
  if (!result) {
    result = tryConnect(doc, connection, cached.before);
    cached.results.set(key, result);
  }
  return result;
}

const connectCache = new WeakMap<WorkflowDocument, { before: ReturnType<typeof compileWorkflow>; results: Map<string, ConnectResult> }>();

function tryConnect(doc: WorkflowDocument, connection: Connection, before: ReturnType<typeof compileWorkflow>): ConnectResult {
  const edge: WorkflowEdge = { id: nextEdgeId(doc, connection.source, connection.target), ...connection };
  const candidate = { ...doc, edges: [...doc.edges, edge] };
  const after = compileWorkflow(candidate);
  if (!after.ok) {
    const known = new Set(before.ok ? [] : before.issues.map((i) => `${i.code}:${i.message}`));
    const introduced = after.issues.find(
      (i) => EDGE_CODES.has(i.code) && (i.edgeId === edge.id || !known.has(`${i.code}:${i.message}`)),
    );
    if (introduced) return { ok: false, reason: explain(introduced) };
  }
  return { ok: true, document: candidate, edge };
}

/** Back-edges of the document (evaluator revise / gate fail loops), for drawing them apart: the core's rule. */
export { backEdgeIds };

export function removeElements(doc: WorkflowDocument, nodeIds: Iterable<string>, edgeIds: Iterable<string> = []): WorkflowDocument {
  const nodes = new Set(nodeIds);
  const edges = new Set(edgeIds);
  return {
    ...doc,
    nodes: doc.nodes.filter((n) => !nodes.has(n.id)),
    edges: doc.edges.filter((e) => !edges.has(e.id) && !nodes.has(e.source) && !nodes.has(e.target)),
  };
}

export function updateNode(doc: WorkflowDocument, id: string, patch: { label?: string; config?: unknown; position?: Position }): WorkflowDocument {
  return { ...doc, nodes: doc.nodes.map((n) => (n.id === id ? ({ ...n, ...patch } as WorkflowNode) : n)) };
}

/** When a router's routes change, edges from ports that no longer exist are dropped. */
export function dropDanglingEdges(doc: WorkflowDocument): WorkflowDocument {
  const byId = new Map(doc.nodes.map((n) => [n.id, n]));
  const edges = doc.edges.filter((e) => {
    const source = byId.get(e.source);
    const target = byId.get(e.target);
    return source && target && kindOf(source).outputs(source.config).includes(e.sourcePort) && kindOf(target).inputs(target.config).includes(e.targetPort);
  });
  return edges.length === doc.edges.length ? doc : { ...doc, edges };
}

// ── Copy and paste: a fragment of document JSON on the clipboard ─────────────────

export const FRAGMENT_FORMAT = "trellis.fragment";

export function copyFragment(doc: WorkflowDocument, nodeIds: Iterable<string>): string {
  const ids = new Set(nodeIds);
  const nodes = doc.nodes.filter((n) => ids.has(n.id));
  const edges = doc.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  return JSON.stringify({ format: FRAGMENT_FORMAT, version: 1, nodes, edges }, null, 2);
}

export type PasteResult = { ok: true; document: WorkflowDocument; nodeIds: string[] } | { ok: false; reason: string };

/**
 * Pastes a fragment (from this or another tab or workflow): nodes get fresh ids and unique
 * output keys, and land offset from where they were; only edges between pasted nodes come along.
 */
export function pasteFragment(doc: WorkflowDocument, text: string, offset: Position = { x: 40, y: 40 }): PasteResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "The clipboard does not hold Trellis nodes." };
  }
  const fragment = value as { format?: unknown; nodes?: unknown; edges?: unknown };
  if (!fragment || fragment.format !== FRAGMENT_FORMAT || !Array.isArray(fragment.nodes) || !Array.isArray(fragment.edges)) {
    return { ok: false, reason: "The clipboard does not hold Trellis nodes." };
  }
  let next = doc;
  const rename = new Map<string, string>();
  const taken = writtenKeys(doc);
  const pasted: string[] = [];
  for (const [i, raw] of fragment.nodes.entries()) {
    const parsed = NodeSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, reason: `Pasted node ${i + 1} is not valid: ${parsed.error.issues[0]?.message ?? "unknown problem"}.` };
    const node = parsed.data as WorkflowNode;
    if (node.kind === "input" && next.nodes.some((n) => n.kind === "input")) continue;
    const id = nextNodeId(next, node.kind);
    rename.set(node.id, id);
    const copy = withUniqueWrites({ ...node, id, position: { x: node.position.x + offset.x, y: node.position.y + offset.y } }, taken);
    next = addNode(next, copy);
    pasted.push(id);
  }
  for (const raw of fragment.edges as WorkflowEdge[]) {
    const source = rename.get(raw?.source);
    const target = rename.get(raw?.target);
    if (!source || !target || typeof raw.sourcePort !== "string" || typeof raw.targetPort !== "string") continue;
    next = { ...next, edges: [...next.edges, { id: nextEdgeId(next, source, target), source, sourcePort: raw.sourcePort, target, targetPort: raw.targetPort }] };
  }
  return { ok: true, document: next, nodeIds: pasted };
}

export function blankDocument(): WorkflowDocument {
  return {
    format: "trellis.workflow",
    version: 1,
    name: "Untitled workflow",
    inputs: [{ key: "topic", label: "Topic", type: "text", default: "cats", required: true }],
    nodes: [],
    edges: [],
    settings: { defaultModel: "demo:default" },
  };
}
