"use client";

import Link from "next/link";
import type { ComparisonView, EvaluationView } from "@/app/w/[id]/evals/actions";
import { CompareView, sideLabel } from "./CompareView";
import { ResultsGrid, SummaryCards } from "./ResultsView";
import { when } from "./format";

/** `/e/<id>`: an evaluation or a comparison, read-only — no editing, no runs, no owner. */
export function SharedEvaluation({ single, compared }: { single: EvaluationView | null; compared: ComparisonView | null }) {
  const title = compared ? `${sideLabel(compared.before)} → ${sideLabel(compared.after)}` : single ? sideLabel(single) : "";
  const dataset = (compared?.after ?? single)!.evaluation;
  return (
    <div className="min-h-screen bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100" data-testid="shared-evaluation">
      <header className="flex h-12 items-center gap-2 border-b border-zinc-200 bg-white px-3 dark:border-zinc-800 dark:bg-zinc-950">
        <Link href="/" className="mr-1 text-sm font-semibold tracking-tight">
          Trellis
        </Link>
        <span className="truncate text-sm font-medium">{compared ? "Evaluation comparison" : "Evaluation"}</span>
        <span className="rounded-full bg-zinc-100 px-2 py-0.5 text-xs text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300" data-testid="view-badge">
          Shared · read-only
        </span>
      </header>
      <main className="mx-auto max-w-[1400px] space-y-4 p-5">
        <div>
          <h1 className="text-lg font-semibold" data-testid="shared-title">
            {title}
          </h1>
          <p className="text-xs text-zinc-500">
            Dataset {dataset.datasetName} v{dataset.datasetVersion} · {when(dataset.createdAt)} UTC
          </p>
        </div>
        {compared && <CompareView view={compared} />}
        {single && (
          <>
            <SummaryCards view={single} />
            <ResultsGrid view={single} readOnly />
          </>
        )}
      </main>
    </div>
  );
}

/** A revoked or unknown evaluation link: a 404 that says what happened. */
export function EvaluationNotShared() {
  return (
    <main className="mx-auto flex min-h-screen max-w-lg flex-col items-center justify-center px-6 text-center" data-testid="not-shared">
      <h1 className="text-xl font-semibold">This evaluation is no longer shared</h1>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">Its owner revoked the link, or it never existed. If you expected to see something here, ask them for a new link.</p>
      <Link href="/" className="mt-6 rounded-md bg-sky-600 px-4 py-2 text-sm font-medium text-white hover:bg-sky-700">
        Go to Trellis
      </Link>
    </main>
  );
}
