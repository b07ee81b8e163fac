import type { WorkflowDocument } from "./schema";

/** A one-line summary of what changed between two versions, for version history. */
export function summariseChanges(before: WorkflowDocument | null, after: WorkflowDocument): string {
  if (!before) return `first version (${after.nodes.length} node${after.nodes.length === 1 ? "" : "s"})`;
  const old = new Map(before.nodes.map((n) => [n.id, JSON.stringify(n)]));
  const now = new Map(after.nodes.map((n) => [n.id, JSON.stringify(n)]));
  const added = [...now.keys()].filter((id) => !old.has(id)).length;
  const removed = [...old.keys()].filter((id) => !now.has(id)).length;
  const changed = [...now.keys()].filter((id) => old.has(id) && old.get(id) !== now.get(id)).length;
  const edges = JSON.stringify(before.edges) !== JSON.stringify(after.edges);
  const parts = [
    added && `${added} node${added === 1 ? "" : "s"} added`,
    removed && `${removed} removed`,
    changed && `${changed} changed`,
    edges && "wiring changed",
    before.name !== after.name && "renamed",
  ].filter(Boolean);
  return parts.length ? parts.join(", ") : "no changes to nodes";
}
