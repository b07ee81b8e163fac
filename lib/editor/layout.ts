import dagre from "@dagrejs/dagre";
import type { WorkflowDocument, WorkflowNode } from "@/lib/workflow";
import { backEdgeIds, DEFAULT_NODE_SIZE, type Position, type Size } from "./graph";

/** Auto-layout, in its own module: dagre is loaded when a person asks for a layout, not with the editor. */

/**
 * Left-to-right layered layout (dagre) over the forward edges; loops are drawn as back-edges
 * and do not pull nodes backwards. Notes are placed in a row under the graph.
 */
export function layoutDocument(doc: WorkflowDocument, sizes: ReadonlyMap<string, Size> = new Map()): WorkflowDocument {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: "LR", nodesep: 50, ranksep: 90, marginx: 0, marginy: 0 });
  graph.setDefaultEdgeLabel(() => ({}));
  const size = (id: string) => sizes.get(id) ?? DEFAULT_NODE_SIZE;
  const flowNodes = doc.nodes.filter((n) => n.kind !== "note");
  for (const node of flowNodes) graph.setNode(node.id, { ...size(node.id) });
  const back = backEdgeIds(doc);
  for (const edge of doc.edges) if (!back.has(edge.id)) graph.setEdge(edge.source, edge.target, {}, edge.id);
  dagre.layout(graph);
  const placed = new Map<string, Position>();
  let bottom = 0;
  for (const node of flowNodes) {
    const laid = graph.node(node.id) as { x: number; y: number; width: number; height: number };
    const position = { x: Math.round(laid.x - laid.width / 2), y: Math.round(laid.y - laid.height / 2) };
    placed.set(node.id, position);
    bottom = Math.max(bottom, position.y + laid.height);
  }
  let x = 0;
  for (const note of doc.nodes.filter((n) => n.kind === "note")) {
    placed.set(note.id, { x, y: bottom + 60 });
    x += size(note.id).width + 40;
  }
  return { ...doc, nodes: doc.nodes.map((n) => ({ ...n, position: placed.get(n.id) ?? n.position }) as WorkflowNode) };
}

/** An empty canvas: one declared input (`topic`) for the input node to expose once it is added. */
