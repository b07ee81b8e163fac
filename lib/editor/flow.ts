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

type CachedFlowNode = { node: WorkflowNode; position: Position; selected: boolean; measured: Size | undefined; flow: FlowNode };

/**
 * Maps document nodes to React Flow nodes, keeping the previous object of every node whose
 * inputs did not change: a drag moves one node, so React Flow re-renders one card, not all.
 * One mapper per canvas (it remembers the last result).
 */
export function createFlowNodeMapper() {
  let cache = new Map<string, CachedFlowNode>();
  return function toFlowNodes(
    document: WorkflowDocument,
    selected: ReadonlySet<string>,
    dragging: Readonly<Record<string, Position>> | null,
    measured: Readonly<Record<string, Size>>,
  ): FlowNode[] {
    const next = new Map<string, CachedFlowNode>();
    const nodes = document.nodes.map((node) => {
      const position = dragging?.[node.id] ?? node.position;
      const isSelected = selected.has(node.id);
      const size = measured[node.id];
      const previous = cache.get(node.id);
      if (previous && previous.node === node && previous.position === position && previous.selected === isSelected && previous.measured === size) {
        next.set(node.id, previous);
        return previous.flow;
      }
      const flow: FlowNode = {
        id: node.id,
        type: flowNodeType(node.kind),
        position,
        data: NO_DATA,
        selected: isSelected,
        ...(size ? { measured: size } : {}),
        ...(node.kind === "note" ? { zIndex: -1 } : {}),
      };
      next.set(node.id, { node, position, selected: isSelected, measured: size, flow });
      return flow;
    });
    cache = next;
    return nodes;
  };
}

/** A one-off mapping (no cache), for places that map a document once. */
export function toFlowNodes(
  document: WorkflowDocument,
  selected: ReadonlySet<string>,
  dragging: Readonly<Record<string, Position>> | null,
  measured: Readonly<Record<string, Size>>,
): FlowNode[] {
  return createFlowNodeMapper()(document, selected, dragging, measured);
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
