"use client";

import { useState } from "react";
import type { RowChange } from "@/lib/workflow/eval/types";
import type { ComparisonView, EvaluationView } from "@/app/w/[id]/evals/actions";
import { cost, duration, percent, signed } from "./format";
import { PageControls, usePage } from "./Pager";
import { InputsCell, OutputsCell, VerdictBadge } from "./ResultsView";

const CHANGE: Record<RowChange, { label: string; className: string }> = {
  fixed: { label: "Fixed", className: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300" },
  broken: { label: "Broken", className: "bg-red-100 text-red-800 dark:bg-red-950 dark:text-red-300" },
  "same-pass": { label: "Same · pass", className: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300" },
  "same-fail": { label: "Same · fail", className: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300" },
  added: { label: "Only after", className: "bg-sky-100 text-sky-800 dark:bg-sky-950 dark:text-sky-300" },
  removed: { label: "Only before", className: "bg-amber-100 text-amber-800 dark:bg-amber-950 dark:text-amber-300" },
};

export const sideLabel = (view: EvaluationView) => `${view.evaluation.workflowName} v${view.evaluation.version}`;

/** Two evaluations side by side: summary deltas, then each row's change (fixed / broken / same) with both verdicts. */
export function CompareView({ view }: { view: ComparisonView }) {
  const { before, after, comparison } = view;
  const [changedOnly, setChangedOnly] = useState(false);
  const { summary } = comparison;
  const counts = comparison.rows.reduce<Record<string, number>>((acc, row) => ((acc[row.change] = (acc[row.change] ?? 0) + 1), acc), {});
  const rows = changedOnly ? comparison.rows.filter((row) => row.change === "fixed" || row.change === "broken" || row.change === "added" || row.change === "removed") : comparison.rows;
  const pager = usePage(rows);
  const inputsOf = new Map([...before.rows, ...after.rows].map((r) => [r.rowId, r.inputs]));
  const assertions = [...new Map([...before.assertions, ...after.assertions].map((a) => [a.id, a])).values()];
  return (
    <div className="space-y-4" data-testid="compare-view">
      <div className="grid grid-cols-2 gap-3 md:grid-cols-5">
        <Delta label="Pass rate" before={percent(summary.before.passRate)} after={percent(summary.after.passRate)} delta={signed(Math.round(summary.passRateDelta * 1000) / 10, (v) => `${v} pts`)} good={summary.passRateDelta > 0} bad={summary.passRateDelta < 0} testId="delta-pass-rate" />
        <Delta label="Latency p50" before={duration(summary.before.latencyMs.p50)} after={duration(summary.after.latencyMs.p50)} delta={signed(summary.p50Delta, duration)} good={summary.p50Delta < 0} bad={summary.p50Delta > 0} />
        <Delta label="Latency p95" before={duration(summary.before.latencyMs.p95)} after={duration(summary.after.latencyMs.p95)} delta={signed(summary.p95Delta, duration)} good={summary.p95Delta < 0} bad={summary.p95Delta > 0} />
        <Delta
          label="Tokens"
          before={(summary.before.usage.inputTokens + summary.before.usage.outputTokens).toLocaleString("en")}
          after={(summary.after.usage.inputTokens + summary.after.usage.outputTokens).toLocaleString("en")}
          delta={signed(summary.tokensDelta, (v) => v.toLocaleString("en"))}
          good={summary.tokensDelta < 0}
          bad={summary.tokensDelta > 0}
        />
        <Delta label="Cost" before={cost(summary.before.costUsd)} after={cost(summary.after.costUsd)} delta={summary.costDelta === null ? "unknown" : signed(summary.costDelta, cost)} good={(summary.costDelta ?? 0) < 0} bad={(summary.costDelta ?? 0) > 0} />
      </div>
      <div className="flex flex-wrap items-center gap-2 text-xs">
        {(Object.keys(CHANGE) as RowChange[])
          .filter((change) => counts[change])
          .map((change) => (
            <span key={change} className={`rounded-full px-2 py-0.5 font-medium ${CHANGE[change].className}`} data-testid={`count-${change}`}>
              {CHANGE[change].label}: {counts[change]}
            </span>
          ))}
        <label className="ml-auto inline-flex items-center gap-1.5 text-zinc-600 dark:text-zinc-400">
          <input type="checkbox" checked={changedOnly} onChange={(event) => setChangedOnly(event.target.checked)} data-testid="changed-only" />
          Changed rows only
        </label>
      </div>
      <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
        <table className="w-full min-w-[900px] table-fixed border-collapse text-left text-sm" data-testid="compare-grid">
          <thead className="bg-zinc-50 text-xs text-zinc-500 dark:bg-zinc-900">
            <tr>
              <th className="w-28 px-2 py-2 font-medium">Change</th>
              <th className="w-44 px-2 py-2 font-medium">Inputs</th>
              <th className="px-2 py-2 font-medium">
                Before · <span className="text-zinc-700 dark:text-zinc-300">{sideLabel(before)}</span>
              </th>
              <th className="px-2 py-2 font-medium">
                After · <span className="text-zinc-700 dark:text-zinc-300">{sideLabel(after)}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {pager.items.map((row) => {
              const inputs = inputsOf.get(row.rowId);
              const flipped = row.change === "fixed" || row.change === "broken";
              return (
                <tr key={row.rowId} className={`border-t border-zinc-100 align-top dark:border-zinc-800 ${flipped ? (row.change === "fixed" ? "bg-emerald-50/60 dark:bg-emerald-950/20" : "bg-red-50/60 dark:bg-red-950/20") : ""}`} data-testid="compare-row" data-row-id={row.rowId} data-change={row.change}>
                  <td className="px-2 py-2">
                    <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${CHANGE[row.change].className}`}>{CHANGE[row.change].label}</span>
                  </td>
                  <td className="px-2 py-2">
                    <InputsCell inputs={inputs ?? {}} />
                  </td>
                  {[row.before, row.after].map((side, i) => (
                    <td key={i} className="px-2 py-2">
                      {side ? (
                        <div className="space-y-1.5">
                          {assertions.map((a) => {
                            const verdict = side.verdicts.find((v) => v.assertionId === a.id);
                            const changed = row.verdictChanges.some((c) => c.assertionId === a.id && c.before !== c.after);
                            return verdict ? (
                              <div key={a.id} className={changed ? "rounded bg-amber-50 px-1 dark:bg-amber-950/40" : ""}>
                                <div className="text-[11px] text-zinc-500">{a.label}</div>
                                <VerdictBadge pass={verdict.pass} reason={verdict.reason} error={verdict.error} />
                              </div>
                            ) : null;
                          })}
                          <OutputsCell outputs={side.outputs} />
                        </div>
                      ) : (
                        <span className="text-xs text-zinc-400">not in this evaluation</span>
                      )}
                    </td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <PageControls pager={pager} />
    </div>
  );
}

function Delta({ label, before, after, delta, good, bad, testId }: { label: string; before: string; after: string; delta: string; good?: boolean; bad?: boolean; testId?: string }) {
  return (
    <div className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
      <div className="text-xs font-medium text-zinc-500">{label}</div>
      <div className="mt-0.5 flex items-baseline gap-1.5 text-sm tabular-nums">
        <span className="text-zinc-500">{before}</span>
        <span className="text-zinc-400">→</span>
        <span className="font-medium">{after}</span>
      </div>
      <div className={`mt-0.5 text-xs font-medium tabular-nums ${good ? "text-emerald-700 dark:text-emerald-400" : bad ? "text-red-700 dark:text-red-400" : "text-zinc-500"}`} data-testid={testId}>
        {delta}
      </div>
    </div>
  );
}
