"use client";

import { Link2, Share2 } from "lucide-react";
import { useCallback, useEffect, useState } from "react";
import { evaluationSharesAction, revokeEvaluationShareAction, shareEvaluationAction, type EvalShareInfo } from "@/app/w/[id]/evals/actions";

/** Read-only links (`/e/<id>`) to an evaluation or a comparison: create, copy, revoke. */
export function SharePanel({ evaluationId, afterId, what }: { evaluationId: string; afterId?: string; what: "evaluation" | "comparison" }) {
  const [links, setLinks] = useState<EvalShareInfo[]>([]);
  const [error, setError] = useState<string | null>(null);
  const mine = useCallback((all: EvalShareInfo[]) => all.filter((link) => link.evaluationId === evaluationId && (link.afterId ?? undefined) === afterId), [evaluationId, afterId]);
  const load = useCallback(async () => {
    const answer = await evaluationSharesAction({ evaluationId });
    if (answer.ok) setLinks(mine(answer.data));
  }, [evaluationId, mine]);
  useEffect(() => {
    let current = true;
    void evaluationSharesAction({ evaluationId }).then((answer) => current && answer.ok && setLinks(mine(answer.data)));
    return () => {
      current = false;
    };
  }, [evaluationId, mine]);
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  const active = links.filter((link) => !link.revokedAt);

  return (
    <div className="rounded-lg border border-zinc-200 bg-white p-3 dark:border-zinc-800 dark:bg-zinc-900" data-testid="share-panel">
      <div className="flex items-center gap-2">
        <Share2 className="h-4 w-4 text-zinc-500" />
        <span className="text-sm font-medium">Share this {what} read-only</span>
        <button
          type="button"
          onClick={async () => {
            setError(null);
            const answer = await shareEvaluationAction({ evaluationId, ...(afterId ? { afterId } : {}) });
            if (!answer.ok) setError(answer.error.message);
            await load();
          }}
          className="ml-auto inline-flex h-8 items-center gap-1.5 rounded-md bg-sky-600 px-3 text-sm font-medium text-white hover:bg-sky-700"
          data-testid="share-create"
        >
          <Link2 className="h-4 w-4" /> Create link
        </button>
      </div>
      {error && <p className="mt-2 text-xs text-red-700">{error}</p>}
      {active.length > 0 && (
        <ul className="mt-2 space-y-1.5">
          {active.map((link) => (
            <li key={link.id} className="flex items-center gap-2">
              <input readOnly value={`${origin}/e/${link.id}`} onFocus={(event) => event.target.select()} className="h-8 min-w-0 flex-1 rounded-md border border-zinc-300 bg-zinc-50 px-2 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-950" data-testid="share-url" aria-label="Link" />
              <button
                type="button"
                onClick={async () => {
                  await revokeEvaluationShareAction({ id: link.id });
                  await load();
                }}
                className="h-8 rounded-md border border-zinc-300 px-2 text-sm text-red-700 hover:bg-red-50 dark:border-zinc-700 dark:hover:bg-red-950"
                data-testid="share-revoke"
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      {!active.length && <p className="mt-1.5 text-xs text-zinc-500">Anyone with a link sees the inputs, outputs, verdicts and numbers — not the runs, not who you are. You can revoke it at any time.</p>}
    </div>
  );
}
