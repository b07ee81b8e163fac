import { PINNABLE_KINDS } from "./pin";
import type { WorkflowDocument, WorkflowEdge, WorkflowNode } from "./schema";
import { keysReadBy, kindOf } from "./validate";

/**
 * Test this node (issue 16): one node run alone, its inputs given (from the last run, or typed).
 * It runs through the same engine as a whole run: a small document with the node, fed by pinned
 * steps that answer the values given, so nothing upstream is called.
 */

/** The state keys a node reads: its templates' top-level keys, its direct reads, an aggregate's inbound keys. */
export function keysRead(document: WorkflowDocument, nodeId: string): string[] {
  const node = document.nodes.find((n) => n.id === nodeId);
  if (!node) return [];
  const keys = new Set(keysReadBy(node));
  if (node.kind === "aggregate" && !node.config.template) {
    for (const edge of document.edges) {
      const source = edge.target === nodeId ? document.nodes.find((n) => n.id === edge.source) : undefined;
      if (source) for (const key of kindOf(source).writes(source.config)) keys.add(key);
    }
  }
  return [...keys];
}

export function canTestNode(node: WorkflowNode): boolean {
  return PINNABLE_KINDS.has(node.kind);
}

/** The one-node document a test runs, and its inputs; values not given are empty. */
export function testNodeDocument(
  document: WorkflowDocument,
  nodeId: string,
  values: Record<string, unknown>,
): { ok: true; document: WorkflowDocument; inputs: Record<string, string | number | boolean> } | { ok: false; message: string } {
  const target = document.nodes.find((n) => n.id === nodeId);
  if (!target || !canTestNode(target)) return { ok: false, message: "this node cannot be tested on its own" };
  const declared = new Map(document.inputs.map((input) => [input.key, input]));
  const reads = keysRead(document, nodeId);
  const inputs: Record<string, string | number | boolean> = {};
  const nodes: WorkflowNode[] = [{ id: "test_input", kind: "input", label: "Inputs", position: { x: 0, y: 0 }, config: {} }];
  const edges: WorkflowEdge[] = [];
  const { pinned: _, ...node } = target;
  for (const key of reads) {
    const value = values[key];
    if (declared.has(key)) {
      if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") inputs[key] = value;
      continue;
    }
    // A pinned step answers the value given for a key some upstream node writes.
    const id = `test_${key}`;
    nodes.push({ id, kind: "llm", label: key, position: { x: 200, y: nodes.length * 80 }, config: { outputKey: key, prompt: "(given)" }, pinned: { value: toJson(value ?? "") } });
    edges.push({ id: `e_in_${key}`, source: "test_input", sourcePort: "out", target: id, targetPort: "in" });
    edges.push({ id: `e_${key}`, source: id, sourcePort: "out", target: nodeId, targetPort: "in" });
  }
  if (!edges.length) edges.push({ id: "e_in", source: "test_input", sourcePort: "out", target: nodeId, targetPort: "in" });
  nodes.push({ ...node, position: { x: 400, y: 0 } } as WorkflowNode);
  return {
    ok: true,
    document: {
      format: document.format,
      version: document.version,
      name: `Test: ${target.label || target.id}`.slice(0, 120),
      inputs: document.inputs.filter((input) => reads.includes(input.key)).map((input) => ({ ...input, required: undefined })),
      nodes,
      edges,
      ...(document.settings ? { settings: document.settings } : {}),
    },
    inputs,
  };
}

/** A value as JSON (what a pin holds): anything not representable becomes its text. */
function toJson(value: unknown): NonNullable<WorkflowNode["pinned"]>["value"] {
  try {
    return JSON.parse(JSON.stringify(value)) as NonNullable<WorkflowNode["pinned"]>["value"];
  } catch {
    return String(value);
  }
}
