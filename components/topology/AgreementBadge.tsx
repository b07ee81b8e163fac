"use client";

import { useEditor } from "@/components/editor/EditorProvider";
import type { EditorState } from "@/lib/editor/store";
import type { AgreementReport, WorkflowDocument } from "@/lib/workflow";

const selectDocument = (s: EditorState) => s.document;

/** The label of the node that writes a state key (branches are named by their step, not their key). */
export function writerLabel(document: WorkflowDocument, key: string): string {
  return document.nodes.find((n) => "outputKey" in n.config && n.config.outputKey === key)?.label || key;
}

const score = (value: number | null) => (value === null ? "n/a" : value.toFixed(2));

/**
 * The agreement check of an aggregate, on its card once it has run: the score, which branches
 * stand apart (by the label of the node that wrote them), and the re-run rounds of its policy —
 * the one in progress, and for each one done which branches ran again and how agreement moved.
 */
export function AgreementBadge({ nodeId, reportKey }: { nodeId: string; reportKey: string }) {
  const output = useEditor((s) => s.run?.nodes[nodeId]?.output);
  const waiting = useEditor((s) => s.run?.nodes[nodeId]?.status === "queued");
  const report = (output as Record<string, unknown> | undefined)?.[reportKey] as AgreementReport | undefined;
  const document = useEditor(selectDocument);
  if (!report || typeof report !== "object" || !("summary" in report)) return null;
  const names = (keys: ReadonlyArray<string>) => keys.map((key) => writerLabel(document, key)).join(", ");
  const tone = report.score === null ? "bg-zinc-100 text-zinc-600" : report.agrees ? "bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200" : "bg-amber-50 text-amber-900 dark:bg-amber-950 dark:text-amber-100";
  return (
    <div data-testid={`agreement-${nodeId}`} data-agrees={report.agrees} title={report.conflicts || report.summary} className={`mx-3 mb-1 rounded px-2 py-1 text-[11px] leading-snug ${tone}`}>
      {report.score === null ? (
        <span>Agreement not checked: fewer than two branches</span>
      ) : (
        <>
          <span className="font-medium">Agreement {report.score.toFixed(2)}</span>
          <span> across {report.branches.length} branches</span>
          {report.method === "embedding" && <span className="opacity-80"> · by {report.model}</span>}
          {report.outliers.length > 0 && <span className="block">Stands apart: {names(report.outliers)}</span>}
          {!report.outliers.length && !report.agrees && <span className="block">Below {report.threshold}: the branches share little</span>}
        </>
      )}
      {report.rounds?.map((round) => (
        <span key={round.round} className="block" data-testid={`agreement-round-${nodeId}-${round.round}`}>
          Round {round.round}: re-ran {names(round.rerun)}; agreement {score(round.before)} → {score(round.after)}
        </span>
      ))}
      {report.rerun && waiting && (
        <span className="block font-medium" data-testid={`agreement-rerunning-${nodeId}`}>
          Round {report.rerun.round}: re-running {names(report.rerun.keys)}…
        </span>
      )}
      {report.rerunSkipped && !report.rerun && <span className="block opacity-80">Not re-run: {report.rerunSkipped}</span>}
    </div>
  );
}
