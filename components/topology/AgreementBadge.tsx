"use client";

import { useEditor } from "@/components/editor/EditorProvider";
import type { EditorState } from "@/lib/editor/store";
import type { AgreementReport } from "@/lib/workflow";

const selectDocument = (s: EditorState) => s.document;

/**
 * The agreement check of an aggregate, on its card once it has run: the score, and which
 * branches stand apart (by the label of the node that wrote them).
 */
export function AgreementBadge({ nodeId, reportKey }: { nodeId: string; reportKey: string }) {
  const output = useEditor((s) => s.run?.nodes[nodeId]?.output);
  const report = (output as Record<string, unknown> | undefined)?.[reportKey] as AgreementReport | undefined;
  const document = useEditor(selectDocument);
  const writerLabel = (key: string) => document.nodes.find((n) => "outputKey" in n.config && n.config.outputKey === key)?.label || key;
  if (!report || typeof report !== "object" || !("summary" in report)) return null;
  const tone = report.score === null ? "bg-zinc-100 text-zinc-600" : report.agrees ? "bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200" : "bg-amber-50 text-amber-900 dark:bg-amber-950 dark:text-amber-100";
  return (
    <div data-testid={`agreement-${nodeId}`} data-agrees={report.agrees} title={report.conflicts || report.summary} className={`mx-3 mb-1 rounded px-2 py-1 text-[11px] leading-snug ${tone}`}>
      {report.score === null ? (
        <span>Agreement not checked: fewer than two branches</span>
      ) : (
        <>
          <span className="font-medium">Agreement {report.score.toFixed(2)}</span>
          <span> across {report.branches.length} branches</span>
          {report.outliers.length > 0 && <span className="block">Stands apart: {report.outliers.map(writerLabel).join(", ")}</span>}
          {!report.outliers.length && !report.agrees && <span className="block">Below {report.threshold}: the branches share little</span>}
        </>
      )}
    </div>
  );
}
