import type { Edge, Node } from "@xyflow/react";
import type { WorkflowDocument, WorkflowNode } from "@/lib/workflow";
import { backEdgeIds, type Position, type Size } from "./graph";

/**
 * The one mapping between the document and React Flow (docs/architecture.md §1).
 * Flow nodes carry no data of their own — a card reads its node from the store by id — so run
 * status, callbacks and editor state never end up in the document.
 */

export type FlowNode = Node<Record<string, never>>;

/** React Flow node type for a kind. Prefixed: React Flow styles its own "input"/"output" types. */
export const flowNodeType = (kind: string) => `wf-${kind}`;
export const kindOfFlowType = (type: string | undefined) => type?.replace(/^wf-/, "");
export type FlowEdge = Edge<{ sourcePort: string }>;

const NO_DATA: Record<string, never> = Object.freeze({}) as Record<string, never>;

export function toFlowNodes(
  document: WorkflowDocument,
  selected: ReadonlySet<string>,
  dragging: Readonly<Record<string, Position>> | null,
  measured: Readonly<Record<string, Size>>,
): FlowNode[] {
  return document.nodes.map((node) => ({
    id: node.id,
    type: flowNodeType(node.kind),
    position: dragging?.[node.id] ?? node.position,
    data: NO_DATA,
    selected: selected.has(node.id),
    ...(measured[node.id] ? { measured: measured[node.id] } : {}),
    ...(node.kind === "note" ? { zIndex: -1 } : {}),
  }));
}

export function toFlowEdges(document: WorkflowDocument, selected: ReadonlySet<string>): FlowEdge[] {
  const back = backEdgeIds(document);
  return document.edges.map((edge) => ({
    id: edge.id,
    source: edge.source,
    sourceHandle: edge.sourcePort,
    target: edge.target,
    targetHandle: edge.targetPort,
    type: back.has(edge.id) ? "loop" : "workflow",
    selected: selected.has(edge.id),
    data: { sourcePort: edge.sourcePort },
  }));
}

const nodeMaps = new WeakMap<WorkflowDocument, Map<string, WorkflowNode>>();

/** O(1) node lookup per document version, for cards that read their own node. */
export function nodeById(document: WorkflowDocument, id: string): WorkflowNode | undefined {
  let map = nodeMaps.get(document);
  if (!map) {
    map = new Map(document.nodes.map((node) => [node.id, node]));
    nodeMaps.set(document, map);
  }
  return map.get(id);
}
