import type { ValidationIssue, WorkflowDocument } from "@/lib/workflow";
import { documentIssues } from "./store";

const byNodeCache = new WeakMap<WorkflowDocument, Map<string, ValidationIssue[]>>();
const NONE: ValidationIssue[] = [];

/** Issues grouped by node id, computed once per document version (stable arrays for selectors). */
export function issuesOfNode(document: WorkflowDocument, nodeId: string): ValidationIssue[] {
  let map = byNodeCache.get(document);
  if (!map) {
    map = new Map();
    const ids = new Set(document.nodes.map((n) => n.id));
    for (const found of documentIssues(document)) {
      const id = found.nodeId ?? nodeIdFromPath(found.path, document);
      if (!id || !ids.has(id)) continue;
      map.set(id, [...(map.get(id) ?? []), found]);
    }
    byNodeCache.set(document, map);
  }
  return map.get(nodeId) ?? NONE;
}

function nodeIdFromPath(path: string, document: WorkflowDocument): string | undefined {
  const match = /^nodes\[(\d+)\]/.exec(path);
  return match ? document.nodes[Number(match[1])]?.id : undefined;
}
