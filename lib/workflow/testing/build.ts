import type { WorkflowDocument, WorkflowEdge, WorkflowNode } from "../schema";

/** A terse way to write test documents: nodes in order, edges as `source:port->target`. */
export function workflow(
  nodes: Array<Omit<WorkflowNode, "position" | "label"> & { label?: string }>,
  links: string[],
  extra: Partial<WorkflowDocument> = {},
): WorkflowDocument {
  const edges: WorkflowEdge[] = links.map((link, i) => {
    const [from, to] = link.split("->");
    const [source, sourcePort = "out"] = from.split(":");
    const [target, targetPort = "in"] = to.split(":");
    return { id: `e${i}`, source, sourcePort, target, targetPort };
  });
  return {
    format: "trellis.workflow",
    version: 1,
    name: "test",
    inputs: [{ key: "topic", label: "Topic", type: "text", default: "cats" }],
    nodes: nodes.map((node, i) => ({ label: node.id, position: { x: i * 100, y: 0 }, ...node }) as WorkflowNode),
    edges,
    ...extra,
  };
}

export const input = { id: "in", kind: "input", config: {} } as const;
export const llm = (id: string, prompt = `Write about {{topic}} (${id})`, extra: Record<string, unknown> = {}) =>
  ({ id, kind: "llm", config: { outputKey: id, prompt, ...extra } }) as const;
