"use client";

import { useEffect, useMemo, useState } from "react";
import { listRunsAction, storedRunAction, type RunListItem, type StoredRun } from "@/app/editor/actions";
import { diffLines, documentChanges, nodeResults, type NodeResult } from "@/lib/editor/compare";
import { Dialog } from "../dialogs";
import { useEditor } from "../EditorProvider";
import { shortRun } from "./RunFrom";

/** Pick two runs of the saved workflow and see them side by side: outputs with a diff, time, tokens, and what the document changed. */
export function CompareRunsDialog({ onClose }: { onClose: () => void }) {
  const saved = useEditor((s) => s.saved);
  const [runs, setRuns] = useState<RunListItem[] | null>(null);
  const [picked, setPicked] = useState<[string, string] | null>(null);
  const [loaded, setLoaded] = useState<[StoredRun, StoredRun] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!saved) return;
    void listRunsAction(saved.id).then((result) => {
      if (!result.ok) return setError(result.error.message);
      const finished = result.data.filter((run) => run.status !== "running");
      setRuns(finished);
      // The two newest: usually what one wants to compare.
      if (finished.length >= 2) setPicked([finished[1].id, finished[0].id]);
    });
  }, [saved]);

  useEffect(() => {
    if (!picked) return;
    void Promise.all(picked.map((id) => storedRunAction(id))).then(([a, b]) => {
      if (!a.ok || !b.ok) return setError((!a.ok ? a : (b as { ok: false; error: { message: string } })).error.message);
      setLoaded([a.data, b.data]);
    });
  }, [picked]);

  const pick = (side: 0 | 1, id: string) => setPicked((current) => (current ? (side === 0 ? [id, current[1]] : [current[0], id]) : null));
  const label = (run: RunListItem) => `${new Date(run.startedAt).toLocaleTimeString()} · ${run.status} · ${run.version ? `v${run.version}${run.edited ? "+" : ""}` : "unsaved"} · ${shortRun(run.id)}`;
  return (
    <Dialog title="Compare runs" onClose={onClose} testId="compare-dialog" wide>
      {error && <p className="text-sm text-red-600">{error}</p>}
      {runs && runs.length < 2 && <p className="text-sm text-zinc-500">Run the workflow twice to compare two runs.</p>}
      {runs && picked && (
        <div className="mb-3 grid grid-cols-2 gap-3">
          {([0, 1] as const).map((side) => (
            <select key={side} aria-label={side ? "Second run" : "First run"} data-testid={`compare-pick-${side}`} value={picked[side]} onChange={(e) => pick(side, e.target.value)} className="rounded border border-zinc-200 bg-transparent px-2 py-1 text-xs dark:border-zinc-700">
              {runs.map((run) => (
                <option key={run.id} value={run.id}>
                  {label(run)}
                </option>
              ))}
            </select>
          ))}
        </div>
      )}
      {loaded && <Comparison before={loaded[0]} after={loaded[1]} />}
    </Dialog>
  );
}

function Comparison({ before, after }: { before: StoredRun; after: StoredRun }) {
  const [a, b] = useMemo(() => [nodeResults(before.events), nodeResults(after.events)], [before, after]);
  const changes = useMemo(() => documentChanges(before.document, after.document), [before, after]);
  const nodes = after.document.nodes.filter((node) => node.kind !== "note" && (a.has(node.id) || b.has(node.id)));
  return (
    <div className="max-h-[60vh] overflow-y-auto text-xs" data-testid="compare-view">
      <h3 className="mb-1 font-semibold uppercase tracking-wide text-zinc-500">Document</h3>
      {changes.length ? (
        <ul className="mb-3 space-y-0.5" data-testid="compare-document">
          {changes.map((change) => (
            <li key={`${change.nodeId}-${change.change}`}>
              <span className="font-medium">{change.label}</span> <span className="text-zinc-500">{change.change}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="mb-3 text-zinc-500" data-testid="compare-document">Both runs ran the same document.</p>
      )}
      <h3 className="mb-1 font-semibold uppercase tracking-wide text-zinc-500">Nodes</h3>
      <div className="space-y-2">
        {nodes.map((node) => (
          <NodeRow key={node.id} nodeId={node.id} label={node.label || node.id} before={a.get(node.id)} after={b.get(node.id)} />
        ))}
      </div>
    </div>
  );
}

function stats(result: NodeResult | undefined): string {
  if (!result) return "did not run";
  if (result.reused) return `reused from ${shortRun(result.reused)}`;
  if (result.pinned) return "pinned";
  if (result.status !== "succeeded") return result.status;
  return `${(result.ms / 1000).toFixed(2)} s · ${result.tokens} tok`;
}

function NodeRow({ nodeId, label, before, after }: { nodeId: string; label: string; before?: NodeResult; after?: NodeResult }) {
  const same = (before?.output ?? "") === (after?.output ?? "");
  const diff = useMemo(() => diffLines(before?.output ?? "", after?.output ?? ""), [before, after]);
  return (
    <div className="rounded-md border border-zinc-200 p-2 dark:border-zinc-700" data-testid={`compare-node-${nodeId}`} data-same={same}>
      <div className="mb-1 flex items-center gap-2">
        <span className="font-medium">{label}</span>
        <span className={`rounded px-1 ${same ? "bg-zinc-100 text-zinc-500 dark:bg-zinc-800" : "bg-amber-50 text-amber-700 dark:bg-amber-950 dark:text-amber-300"}`}>{same ? "same output" : "changed"}</span>
        <span className="ml-auto tabular-nums text-zinc-500">{stats(before)}</span>
        <span className="text-zinc-400">→</span>
        <span className="tabular-nums text-zinc-500">{stats(after)}</span>
      </div>
      {!same && (
        <pre className="max-h-48 overflow-auto whitespace-pre-wrap rounded bg-zinc-50 p-1.5 font-mono text-[11px] dark:bg-zinc-950" data-testid={`compare-diff-${nodeId}`}>
          {diff.map((line, i) => (
            <div key={i} className={line.kind === "added" ? "bg-emerald-50 text-emerald-800 dark:bg-emerald-950/50 dark:text-emerald-200" : line.kind === "removed" ? "bg-red-50 text-red-800 line-through decoration-red-300 dark:bg-red-950/50 dark:text-red-200" : "text-zinc-600 dark:text-zinc-400"}>
              {line.kind === "added" ? "+ " : line.kind === "removed" ? "− " : "  "}
              {line.text}
            </div>
          ))}
        </pre>
      )}
    </div>
  );
}
