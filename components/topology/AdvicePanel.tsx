"use client";

import { useReactFlow } from "@xyflow/react";
import { ExternalLink, Lightbulb, X } from "lucide-react";
import { useMemo, useState } from "react";
import { useEditor, useEditorStore } from "@/components/editor/EditorProvider";
import type { RunState } from "@/lib/editor/run-state";
import type { EditorState } from "@/lib/editor/store";
import { adviseWorkflow, type Advice } from "@/lib/workflow";
import { TopologyBadge } from "./TopologyBadge";

/** Milliseconds each node spent in a finished run (every iteration), for the advisor's timing. */
function runDurations(run: RunState | null): Record<string, number> | undefined {
  if (!run || run.status === "running") return undefined;
  const durations: Record<string, number> = {};
  for (const [id, node] of Object.entries(run.nodes)) {
    durations[id] = node.spans.reduce((sum, span) => sum + (span.end !== undefined ? span.end - span.start : 0), 0);
  }
  return durations;
}

const selectDocument = (s: EditorState) => s.document;
const selectRun = (s: EditorState) => s.run;

function AdviceCard({ advice }: { advice: Advice }) {
  const store = useEditorStore();
  const flow = useReactFlow();
  const document = useEditor(selectDocument);
  const labelOf = (id: string) => document.nodes.find((n) => n.id === id)?.label || id;
  const [previewing, setPreviewing] = useState(false);
  const show = (ids: string[]) => {
    store.getState().select(ids);
    flow.fitView({ nodes: ids.map((id) => ({ id })), padding: 0.3, maxZoom: 1, duration: 200 });
  };
  const apply = () => {
    if (!advice.fix) return;
    store.getState().replaceDocument(advice.fix.document);
    store.getState().notify("info", `Applied “${advice.fix.label}”. Undo reverts it.`);
    requestAnimationFrame(() => flow.fitView({ padding: 0.08, maxZoom: 1, duration: 200 }));
  };
  return (
    <li data-testid={`advice-${advice.kind}`} className="rounded-md border border-zinc-200 p-3 dark:border-zinc-800">
      <h3 className="text-sm font-medium leading-snug">{advice.title}</h3>
      <div className="mt-2 flex flex-wrap gap-1">
        {advice.nodes.map((id) => (
          <button
            key={id}
            type="button"
            onClick={() => show([id])}
            data-testid={`advice-node-${id}`}
            className="max-w-[150px] truncate rounded bg-zinc-100 px-1.5 py-0.5 text-[11px] text-zinc-700 hover:bg-sky-100 hover:text-sky-800 dark:bg-zinc-800 dark:text-zinc-300"
          >
            {labelOf(id)}
          </button>
        ))}
        {advice.nodes.length > 1 && (
          <button type="button" onClick={() => show(advice.nodes)} className="px-1 text-[11px] text-sky-700 hover:underline dark:text-sky-400">
            select all
          </button>
        )}
      </div>
      <p className="mt-2 text-xs leading-relaxed text-zinc-700 dark:text-zinc-300" data-testid="advice-evidence">
        {advice.evidence}
      </p>
      <div className="mt-2 border-l-2 border-zinc-200 pl-2 text-[11px] leading-relaxed text-zinc-500 dark:border-zinc-700">
        <a href={advice.source.url} target="_blank" rel="noreferrer noopener" data-testid="advice-source" className="font-medium text-zinc-600 hover:underline dark:text-zinc-400">
          {advice.source.title}
          <ExternalLink className="ml-0.5 inline h-3 w-3 align-[-1px]" aria-hidden />
        </a>
        <p>{advice.source.finding}</p>
      </div>
      {advice.fix && !previewing && (
        <button
          type="button"
          data-testid="advice-preview"
          onClick={() => setPreviewing(true)}
          className="mt-3 h-7 rounded-md border border-sky-300 px-2.5 text-xs font-medium text-sky-700 hover:bg-sky-50 dark:border-sky-800 dark:text-sky-300 dark:hover:bg-sky-950"
        >
          {advice.fix.label}…
        </button>
      )}
      {advice.fix && previewing && (
        <div data-testid="advice-fix-preview" className="mt-3 rounded-md bg-sky-50 p-2.5 dark:bg-sky-950/50">
          <p className="text-xs font-medium">{advice.fix.label}: what changes</p>
          <ul className="mt-1 list-disc space-y-0.5 pl-4 text-xs text-zinc-700 dark:text-zinc-300">
            {advice.fix.changes.map((change) => (
              <li key={change}>{change}</li>
            ))}
          </ul>
          <div className="mt-2 flex justify-end gap-2">
            <button type="button" onClick={() => setPreviewing(false)} className="h-7 rounded-md px-2.5 text-xs hover:bg-white dark:hover:bg-zinc-900">
              Cancel
            </button>
            <button type="button" data-testid="advice-apply" onClick={apply} className="h-7 rounded-md bg-sky-600 px-2.5 text-xs font-medium text-white hover:bg-sky-700">
              Apply (undoable)
            </button>
          </div>
        </div>
      )}
    </li>
  );
}

/**
 * Advice on the workflow on the canvas, from its graph and its last finished run: computed
 * while the panel is open, never applied by itself.
 */
export function AdvicePanel({ onClose }: { onClose: () => void }) {
  const document = useEditor(selectDocument);
  const run = useEditor(selectRun);
  const durations = useMemo(() => runDurations(run), [run]);
  const report = useMemo(() => adviseWorkflow(document, { durations }), [document, durations]);
  return (
    <aside
      data-testid="advice-panel"
      aria-label="Advice"
      className="absolute right-3 top-3 z-30 flex max-h-[calc(100%-24px)] w-[360px] flex-col rounded-lg border border-zinc-200 bg-white shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
    >
      <header className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <Lightbulb className="h-4 w-4 text-amber-500" aria-hidden />
        <h2 className="text-sm font-semibold">Advice</h2>
        <span className="text-xs text-zinc-500">{report.advice.length ? `${report.advice.length} suggestion${report.advice.length === 1 ? "" : "s"}` : ""}</span>
        <div className="flex-1" />
        <button type="button" onClick={onClose} aria-label="Close advice" className="rounded p-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800">
          <X className="h-4 w-4" />
        </button>
      </header>
      <div className="min-h-0 overflow-y-auto p-3">
        {report.analysis && (
          <div data-testid="advice-analysis" className="mb-3 flex items-start gap-2 text-xs text-zinc-600 dark:text-zinc-400">
            <TopologyBadge topology={report.analysis.topology} />
            <span>{report.analysis.explanation}</span>
          </div>
        )}
        <p className="mb-3 text-[11px] text-zinc-500" data-testid="advice-timing">
          {durations ? "Timings come from the last run on this canvas." : "Run the workflow to time the suggestions with real durations."}
        </p>
        {report.blocked && <p className="text-xs text-red-700 dark:text-red-300">{report.blocked}</p>}
        {!report.blocked && !report.advice.length && (
          <p data-testid="advice-empty" className="text-xs text-zinc-600 dark:text-zinc-400">
            Nothing to suggest: every edge carries data a step reads, parallel merges are checked, and no branch repeats another.
          </p>
        )}
        <ul className="space-y-3">
          {report.advice.map((advice) => (
            <AdviceCard key={advice.id} advice={advice} />
          ))}
        </ul>
      </div>
    </aside>
  );
}
