"use client";

import { useEditor } from "@/components/editor/EditorProvider";
import type { BranchRerun } from "@/lib/editor/run-state";
import type { EditorState } from "@/lib/editor/store";
import type { AgreementReport } from "@/lib/workflow";
import { writerLabel } from "./AgreementBadge";

const selectDocument = (s: EditorState) => s.document;
const fmt = (value: number | null) => (value === null ? "n/a" : value.toFixed(2));

/**
 * In the run panel: each round in which an aggregate re-ran the branches that disagreed — which
 * steps ran again and, once the round is over, how the agreement moved (from the aggregate's report).
 */
export function RerunRounds({ reruns, onSelect }: { reruns: ReadonlyArray<BranchRerun>; onSelect: (nodeIds: string[]) => void }) {
  return (
    <ul className="mb-2 space-y-1" data-testid="run-reruns">
      {reruns.map((rerun) => (
        <RerunRound key={`${rerun.nodeId}-${rerun.round}`} rerun={rerun} onSelect={onSelect} />
      ))}
    </ul>
  );
}

function RerunRound({ rerun, onSelect }: { rerun: BranchRerun; onSelect: (nodeIds: string[]) => void }) {
  const document = useEditor(selectDocument);
  // Only this join's output: the round's line changes when the join reports, not on every delta.
  const output = useEditor((s) => s.run?.nodes[rerun.nodeId]?.output);
  const join = document.nodes.find((n) => n.id === rerun.nodeId);
  const reportKey = join?.kind === "aggregate" ? join.config.agreement?.key : undefined;
  const report = reportKey ? ((output as Record<string, unknown> | undefined)?.[reportKey] as AgreementReport | undefined) : undefined;
  const moved = report?.rounds?.find((r) => r.round === rerun.round);
  return (
    <li className="rounded bg-sky-50 px-2 py-1 text-sky-900 dark:bg-sky-950/40 dark:text-sky-200" data-testid={`run-rerun-${rerun.nodeId}-${rerun.round}`}>
      <button type="button" className="text-left hover:underline" onClick={() => onSelect([rerun.nodeId, ...rerun.nodes])}>
        ⟲ {join?.label || rerun.nodeId} · round {rerun.round}: re-ran {rerun.keys.map((key) => writerLabel(document, key)).join(", ")}
        {moved ? `; agreement ${fmt(moved.before)} → ${fmt(moved.after)}` : ""}
      </button>
    </li>
  );
}
