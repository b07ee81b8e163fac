"use client";

import { Check, ExternalLink, X } from "lucide-react";
import Link from "next/link";
import type { EvaluationView, RowView } from "@/app/w/[id]/evals/actions";
import { asText, cost, duration, percent, tokens } from "./format";
import { PageControls, usePage } from "./Pager";

/** The summary of one evaluation: overall and per-assertion pass rates, latency, tokens, cost. */
export function SummaryCards({ view }: { view: EvaluationView }) {
  const { summary } = view;
  return (
    <div className="grid grid-cols-2 gap-3 md:grid-cols-6" data-testid="eval-summary">
      <Card
        label="Pass rate"
        testId="summary-pass-rate"
        value={summary.finished ? percent(summary.passRate) : "—"}
        detail={summary.finished ? `${summary.passed} of ${summary.finished} rows${summary.finished < summary.rows ? ` (of ${summary.rows})` : ""}` : `${summary.rows} rows to go`}
        strong
      />
      <Card label="Latency p50" value={summary.finished ? duration(summary.latencyMs.p50) : "—"} detail={summary.finished ? `p95 ${duration(summary.latencyMs.p95)}` : "no row finished yet"} />
      <Card label="Tokens" value={tokens(summary.usage)} detail={`${summary.usage.inputTokens.toLocaleString("en")} in · ${summary.usage.outputTokens.toLocaleString("en")} out`} />
      <Card label="Estimated cost" value={cost(summary.costUsd)} detail={summary.costUsd === null ? "a model has no price" : "from the price table"} />
      <div className="col-span-2 rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
        <div className="text-xs font-medium text-zinc-500">Per assertion</div>
        <ul className="mt-1 space-y-0.5 text-xs" data-testid="summary-per-assertion">
          {summary.perAssertion.map((a) => (
            <li key={a.assertionId} className="flex justify-between gap-2">
              <span className="truncate" title={a.label}>
                {a.label}
              </span>
              <span className={`shrink-0 tabular-nums ${a.passed + a.failed === 0 ? "text-zinc-400" : a.failed ? "text-red-700 dark:text-red-400" : "text-emerald-700 dark:text-emerald-400"}`}>{a.passed + a.failed === 0 ? "—" : percent(a.passRate)}</span>
            </li>
          ))}
          {!summary.perAssertion.length && <li className="text-zinc-500">No assertions</li>}
        </ul>
      </div>
    </div>
  );
}

function Card({ label, value, detail, strong, testId }: { label: string; value: string; detail?: string; strong?: boolean; testId?: string }) {
  return (
    <div className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900">
      <div className="text-xs font-medium text-zinc-500">{label}</div>
      <div className={`mt-0.5 tabular-nums ${strong ? "text-2xl font-semibold" : "text-lg font-medium"}`} data-testid={testId}>
        {value}
      </div>
      {detail && <div className="mt-0.5 truncate text-xs text-zinc-500">{detail}</div>}
    </div>
  );
}

export function VerdictBadge({ pass, reason, error }: { pass: boolean; reason: string; error?: boolean }) {
  return (
    <div className="flex min-w-0 items-start gap-1" title={reason}>
      <span
        className={`mt-0.5 inline-flex h-4 w-4 shrink-0 items-center justify-center rounded-full ${pass ? "bg-emerald-100 text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300" : "bg-red-100 text-red-700 dark:bg-red-950 dark:text-red-300"}`}
        aria-label={pass ? "pass" : "fail"}
      >
        {pass ? <Check className="h-3 w-3" /> : <X className="h-3 w-3" />}
      </span>
      <span className={`line-clamp-2 text-xs ${error ? "text-amber-700 dark:text-amber-400" : "text-zinc-600 dark:text-zinc-400"}`}>{reason}</span>
    </div>
  );
}

/** Inputs of a row as `key: value` lines, short. */
export function InputsCell({ inputs }: { inputs: Record<string, unknown> }) {
  const entries = Object.entries(inputs);
  return (
    <div className="space-y-0.5 text-xs">
      {entries.map(([key, value]) => (
        <div key={key} className="truncate" title={asText(value)}>
          <span className="text-zinc-500">{key}:</span> {asText(value)}
        </div>
      ))}
    </div>
  );
}

/** The outputs of a row, first lines shown, all of it on demand. */
export function OutputsCell({ outputs }: { outputs: Record<string, unknown> }) {
  const entries = Object.entries(outputs);
  if (!entries.length) return <span className="text-xs text-zinc-400">no outputs</span>;
  const preview = entries.map(([key, value]) => `${key}: ${asText(value)}`).join("  ");
  return (
    <details className="group text-xs" data-testid="row-outputs">
      <summary className="cursor-pointer list-none">
        <span className="line-clamp-2 text-zinc-700 group-open:hidden dark:text-zinc-300">{preview}</span>
        <span className="hidden text-sky-700 group-open:inline dark:text-sky-400">Hide outputs</span>
      </summary>
      <div className="mt-1 max-h-80 space-y-2 overflow-auto rounded border border-zinc-200 bg-zinc-50 p-2 dark:border-zinc-800 dark:bg-zinc-900">
        {entries.map(([key, value]) => (
          <div key={key}>
            <div className="font-medium text-zinc-500">{key}</div>
            <pre className="whitespace-pre-wrap break-words font-sans text-zinc-800 dark:text-zinc-200">{asText(value)}</pre>
          </div>
        ))}
      </div>
    </details>
  );
}

/** One row per dataset row: inputs, outputs, each assertion's verdict, tokens, latency, cost, and its run on the canvas. */
export function ResultsGrid({ view, workflowId, readOnly = false }: { view: EvaluationView; workflowId?: string; readOnly?: boolean }) {
  const { rows, assertions } = view;
  const pager = usePage(rows);
  return (
    <div className="space-y-2">
      <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
        <table className="w-full min-w-[900px] table-fixed border-collapse text-left text-sm" data-testid="results-grid">
          <thead className="bg-zinc-50 text-xs text-zinc-500 dark:bg-zinc-900">
            <tr>
              <th className="w-10 px-2 py-2 font-medium">#</th>
              <th className="w-44 px-2 py-2 font-medium">Inputs</th>
              <th className="w-[26%] px-2 py-2 font-medium">Outputs</th>
              {assertions.map((a) => (
                <th key={a.id} className="w-44 px-2 py-2 font-medium" title={a.label}>
                  <span className="line-clamp-2">{a.label}</span>
                </th>
              ))}
              <th className="w-20 px-2 py-2 text-right font-medium">Tokens</th>
              <th className="w-20 px-2 py-2 text-right font-medium">Latency</th>
              <th className="w-20 px-2 py-2 text-right font-medium">Cost</th>
              {!readOnly && <th className="w-16 px-2 py-2 font-medium">Run</th>}
            </tr>
          </thead>
          <tbody>
            {pager.items.map((row) => (
              <ResultRow key={row.rowId} row={row} assertionIds={assertions.map((a) => a.id)} workflowId={workflowId} readOnly={readOnly} />
            ))}
            {!rows.length && (
              <tr>
                <td colSpan={assertions.length + 7} className="px-3 py-6 text-center text-sm text-zinc-500">
                  No row has finished yet.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <PageControls pager={pager} />
    </div>
  );
}

function ResultRow({ row, assertionIds, workflowId, readOnly }: { row: RowView; assertionIds: string[]; workflowId?: string; readOnly: boolean }) {
  const byId = new Map(row.verdicts.map((v) => [v.assertionId, v]));
  return (
    <tr className={`border-t border-zinc-100 align-top dark:border-zinc-800 ${row.pass ? "" : "bg-red-50/40 dark:bg-red-950/20"}`} data-testid="result-row" data-row-id={row.rowId} data-pass={row.pass}>
      <td className="px-2 py-2 text-xs tabular-nums text-zinc-500">{row.index + 1}</td>
      <td className="px-2 py-2">
        <InputsCell inputs={row.inputs} />
        {row.status !== "succeeded" && <div className="mt-1 text-xs font-medium text-red-700 dark:text-red-400">run {row.status}</div>}
      </td>
      <td className="px-2 py-2">
        <OutputsCell outputs={row.outputs} />
      </td>
      {assertionIds.map((id) => {
        const verdict = byId.get(id);
        return (
          <td key={id} className="px-2 py-2" data-testid={`verdict-${id}`} data-pass={verdict?.pass}>
            {verdict ? <VerdictBadge pass={verdict.pass} reason={verdict.reason} error={verdict.error} /> : <span className="text-xs text-zinc-400">—</span>}
          </td>
        );
      })}
      <td className="px-2 py-2 text-right text-xs tabular-nums">{tokens(row.usage)}</td>
      <td className="px-2 py-2 text-right text-xs tabular-nums">{duration(row.latencyMs)}</td>
      <td className="px-2 py-2 text-right text-xs tabular-nums">{cost(row.costUsd)}</td>
      {!readOnly && (
        <td className="px-2 py-2">
          {row.runId && workflowId ? (
            <Link href={`/w/${workflowId}/runs/${row.runId}`} className="inline-flex items-center gap-1 text-xs text-sky-700 hover:underline dark:text-sky-400" data-testid="open-run" title="Open this row's run on the canvas">
              Open <ExternalLink className="h-3 w-3" />
            </Link>
          ) : (
            <span className="text-xs text-zinc-400">—</span>
          )}
        </td>
      )}
    </tr>
  );
}
