import { formatValue, type RunEvent, type WorkflowDocument, type WorkflowNode } from "@/lib/workflow";

/**
 * Compare runs (issue 16): two recorded runs of a workflow side by side — each node's final output,
 * duration and tokens, a line diff of the outputs, and what changed in the document between them.
 */

export type NodeResult = { output: string; ms: number; tokens: number; status: string; reused?: string; pinned?: boolean };

/** Each node's last result in a run, from its events. */
export function nodeResults(events: ReadonlyArray<RunEvent>): Map<string, NodeResult> {
  const results = new Map<string, NodeResult>();
  for (const event of events) {
    if (event.type === "node-finished" && event.instance === undefined) {
      results.set(event.nodeId, {
        output: formatOutput(event.output),
        ms: event.ms,
        tokens: event.usage.inputTokens + event.usage.outputTokens,
        status: "succeeded",
        ...(event.reused ? { reused: event.reused.runId } : {}),
        ...(event.pinned ? { pinned: true } : {}),
      });
    } else if ((event.type === "node-failed" || event.type === "node-cancelled") && event.instance === undefined) {
      results.set(event.nodeId, { output: event.type === "node-failed" ? event.message : "", ms: 0, tokens: 0, status: event.type === "node-failed" ? "failed" : "cancelled" });
    } else if (event.type === "node-skipped") {
      results.set(event.nodeId, { output: "", ms: 0, tokens: 0, status: "skipped" });
    }
  }
  return results;
}

/** A node's output as text: a single written value as itself, several as `key: value` lines. */
function formatOutput(output: unknown): string {
  if (output && typeof output === "object" && !Array.isArray(output)) {
    const entries = Object.entries(output as Record<string, unknown>);
    if (entries.length === 1) return formatValue(entries[0][1]);
    return entries.map(([key, value]) => `${key}: ${formatValue(value)}`).join("\n");
  }
  return formatValue(output);
}

export type DiffLine = { kind: "same" | "removed" | "added"; text: string };

/** A line diff (longest common subsequence; outputs are short enough for the quadratic table, longer ones are cut). */
export function diffLines(before: string, after: string, maxLines = 400): DiffLine[] {
  const a = before.split("\n").slice(0, maxLines);
  const b = after.split("\n").slice(0, maxLines);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: "same", text: a[i] });
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || lcs[i + 1][j] >= lcs[i][j + 1])) out.push({ kind: "removed", text: a[i++] });
    else out.push({ kind: "added", text: b[j++] });
  }
  return out;
}

export type DocumentChange = { nodeId: string; label: string; change: string };

/** What changed between the documents two runs ran: nodes added, removed or changed (which fields), wiring. */
export function documentChanges(before: WorkflowDocument, after: WorkflowDocument): DocumentChange[] {
  const old = new Map(before.nodes.map((n) => [n.id, n]));
  const now = new Map(after.nodes.map((n) => [n.id, n]));
  const changes: DocumentChange[] = [];
  const label = (node: WorkflowNode) => node.label || node.id;
  for (const node of after.nodes) {
    const was = old.get(node.id);
    if (!was) {
      changes.push({ nodeId: node.id, label: label(node), change: "added" });
      continue;
    }
    const fields = [...new Set([...Object.keys(was.config), ...Object.keys(node.config)])].filter(
      (key) => JSON.stringify((was.config as Record<string, unknown>)[key]) !== JSON.stringify((node.config as Record<string, unknown>)[key]),
    );
    if (was.kind !== node.kind) fields.unshift("kind");
    if (was.label !== node.label) fields.push("label");
    if (JSON.stringify(was.pinned ?? null) !== JSON.stringify(node.pinned ?? null)) fields.push(node.pinned ? "pinned" : "unpinned");
    if (fields.length) changes.push({ nodeId: node.id, label: label(node), change: `${fields.join(", ")} changed` });
  }
  for (const node of before.nodes) if (!now.has(node.id)) changes.push({ nodeId: node.id, label: label(node), change: "removed" });
  const edges = (doc: WorkflowDocument) => new Set(doc.edges.map((e) => `${e.source}:${e.sourcePort}->${e.target}:${e.targetPort}`));
  const [e1, e2] = [edges(before), edges(after)];
  const added = [...e2].filter((e) => !e1.has(e)).length;
  const removed = [...e1].filter((e) => !e2.has(e)).length;
  if (added || removed) changes.push({ nodeId: "", label: "Wiring", change: `${added} edge${added === 1 ? "" : "s"} added, ${removed} removed` });
  return changes;
}
