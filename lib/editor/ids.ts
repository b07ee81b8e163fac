import type { NodeKind, WorkflowDocument } from "@/lib/workflow";

/** Readable, unique node ids: `llm_1`, `llm_2`, … */
export function nextNodeId(doc: WorkflowDocument, kind: NodeKind): string {
  const taken = new Set(doc.nodes.map((node) => node.id));
  for (let i = 1; ; i++) if (!taken.has(`${kind}_${i}`)) return `${kind}_${i}`;
}

export function nextEdgeId(doc: WorkflowDocument, source: string, target: string): string {
  const taken = new Set(doc.edges.map((edge) => edge.id));
  const base = `e_${source}_${target}`;
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}

const KEY_BASES: Partial<Record<NodeKind, string>> = {
  llm: "text",
  router: "decision",
  aggregate: "combined",
  orchestrator: "plan",
  worker: "results",
  synthesizer: "report",
  evaluator: "grade",
};

export function outputKeyBase(kind: NodeKind): string {
  return KEY_BASES[kind] ?? kind;
}

/** A key nobody uses yet, e.g. `text`, `text_2`. */
export function nextOutputKey(takenKeys: Iterable<string>, base: string): string {
  const taken = new Set(takenKeys);
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}_${i}`)) return `${base}_${i}`;
}
