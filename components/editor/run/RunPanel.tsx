"use client";

import { Pause, Play, SkipForward, X } from "lucide-react";
import { useState, type PointerEvent as ReactPointerEvent, type ReactNode } from "react";
import { Markdown } from "@/components/Markdown";
import { RerunRounds } from "@/components/topology/RerunRounds";
import { DEFAULT_MODEL, formatValue, withEmbeddingModel, withModel, type RunReuseSummary } from "@/lib/workflow";
import type { NodeRunStatus, RunState, Span } from "@/lib/editor/run-state";
import { useEditor, useEditorStore, useModels } from "../EditorProvider";
import { shortRun } from "./RunFrom";
import type { Runner } from "./useRunner";
import type { Replay } from "./useReplay";

const SPEEDS = [0.5, 1, 2, 4];

/** Replay controls: play at recorded speed (or faster), pause, scrub, jump to the end. */
function ReplayBar({ replay }: { replay: Replay }) {
  const seconds = (ms: number) => (ms / 1000).toFixed(1);
  return (
    <div className="flex items-center gap-2" data-testid="replay-bar">
      <button
        type="button"
        data-testid={replay.playing ? "replay-pause" : "replay-play"}
        aria-label={replay.playing ? "Pause the replay" : "Replay at recorded speed"}
        title={replay.playing ? "Pause" : "Replay at recorded speed"}
        onClick={replay.playing ? replay.pause : replay.play}
        className="rounded p-1 text-sky-700 hover:bg-sky-50 dark:text-sky-300 dark:hover:bg-sky-950"
      >
        {replay.playing ? <Pause className="h-4 w-4" /> : <Play className="h-4 w-4" />}
      </button>
      <input
        type="range"
        aria-label="Replay position"
        data-testid="replay-scrubber"
        min={0}
        max={Math.max(1, Math.round(replay.duration))}
        step={10}
        value={Math.round(replay.position)}
        onChange={(event) => {
          replay.pause();
          replay.seek(Number(event.target.value));
        }}
        className="w-48 accent-sky-600"
      />
      <span className="w-20 tabular-nums text-zinc-500" data-testid="replay-position">
        {seconds(replay.position)} / {seconds(replay.duration)} s
      </span>
      <select
        aria-label="Replay speed"
        data-testid="replay-speed"
        value={replay.speed}
        onChange={(event) => replay.setSpeed(Number(event.target.value))}
        className="rounded border border-zinc-200 bg-transparent px-1 py-0.5 dark:border-zinc-700"
      >
        {SPEEDS.map((speed) => (
          <option key={speed} value={speed}>
            {speed}×
          </option>
        ))}
      </select>
      <button
        type="button"
        aria-label="Jump to the end"
        title="Jump to the end"
        data-testid="replay-end"
        onClick={() => {
          replay.pause();
          replay.seek(replay.duration);
        }}
        className="rounded p-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800"
      >
        <SkipForward className="h-4 w-4" />
      </button>
    </div>
  );
}

export const STATUS_COLOR: Record<NodeRunStatus, string> = {
  queued: "bg-zinc-300 dark:bg-zinc-600",
  running: "bg-sky-500",
  succeeded: "bg-emerald-500",
  failed: "bg-red-500",
  skipped: "bg-zinc-300 dark:bg-zinc-700",
  cancelled: "bg-amber-500",
};

const RUN_BADGE: Record<RunState["status"], string> = {
  running: "bg-sky-50 text-sky-700 dark:bg-sky-950 dark:text-sky-300",
  succeeded: "bg-emerald-50 text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300",
  failed: "bg-red-50 text-red-700 dark:bg-red-950 dark:text-red-300",
  cancelled: "bg-amber-50 text-amber-700 dark:bg-amber-950 dark:text-amber-300",
};

function Bar({ span, scale, testId, title }: { span: Span; scale: number; testId: string; title: string }) {
  const end = span.end ?? scale;
  return (
    <div
      data-testid={testId}
      data-start={span.start}
      data-end={span.end ?? ""}
      title={title}
      className={`absolute top-1 h-3 rounded-sm ${STATUS_COLOR[span.status]}`}
      style={{ left: `${(span.start / scale) * 100}%`, width: `${Math.max(0.4, ((end - span.start) / scale) * 100)}%` }}
    />
  );
}

/** One bar per node and per worker instance on a shared time axis: concurrency at a glance. */
function Timeline({ run }: { run: RunState }) {
  const nodes = useEditor((s) => s.document.nodes);
  const scale = Math.max(run.ms ?? run.t, 1);
  const rows = nodes.filter((node) => (run.nodes[node.id]?.spans.length ?? 0) > 0 || run.nodes[node.id]?.status === "skipped" || run.nodes[node.id]?.reusedFrom);
  return (
    <div className="min-w-0 flex-1 overflow-y-auto pr-3" data-testid="timeline">
      <div className="mb-1 flex justify-between text-[10px] text-zinc-400">
        <span>0 s</span>
        <span>{(scale / 1000).toFixed(1)} s</span>
      </div>
      {rows.map((node) => {
        const state = run.nodes[node.id];
        return (
          <div key={node.id}>
            <div className="flex items-center gap-2 text-xs">
              <span className="w-36 shrink-0 truncate text-zinc-600 dark:text-zinc-400" title={node.label}>
                {node.label}
              </span>
              <div className="relative h-5 flex-1 rounded bg-zinc-50 dark:bg-zinc-900">
                {state.status === "skipped" && <span className="absolute left-1 top-0.5 text-[10px] text-zinc-400">skipped</span>}
                {state.reusedFrom && (
                  // Reused nodes did not run: no bar, a mark that says where their output came from.
                  <span
                    className="absolute left-1 top-0.5 whitespace-nowrap text-[10px] text-zinc-500"
                    data-testid={`timeline-reused-${node.id}`}
                    title={`Not executed: its output was reused from run ${shortRun(state.reusedFrom)}`}
                  >
                    ↺ reused
                  </span>
                )}
                {state.pinned && (
                  <span className="absolute left-1 top-0.5 whitespace-nowrap text-[10px] text-violet-600" title="Not executed: its output is pinned">
                    📌 pinned
                  </span>
                )}
                {state.spans.map((span, i) => (
                  <Bar key={i} span={span} scale={scale} testId={`timeline-bar-${node.id}`} title={`${node.label} · iteration ${span.iteration}`} />
                ))}
              </div>
              <span className="w-20 shrink-0 text-right text-[10px] tabular-nums text-zinc-500">
                {state.reusedFrom || state.pinned ? "not run" : state.ms !== undefined ? `${(state.ms / 1000).toFixed(2)} s` : ""}
                {state.usage && !state.reusedFrom && !state.pinned ? ` · ${state.usage.inputTokens + state.usage.outputTokens} tok` : ""}
              </span>
            </div>
            {state.instances.map((instance) => (
              <div key={instance.index} className="flex items-center gap-2 text-[11px]">
                <span className="w-36 shrink-0 truncate pl-3 text-zinc-500" title={instance.label}>
                  ↳ {instance.label}
                </span>
                <div className="relative h-5 flex-1">
                  {instance.span && <Bar span={instance.span} scale={scale} testId={`timeline-bar-${node.id}-${instance.index}`} title={instance.label} />}
                </div>
                <span className="w-20 shrink-0" />
              </div>
            ))}
          </div>
        );
      })}
    </div>
  );
}

/** A run from given nodes says which, and which run it reused. */
function ReuseNote({ reuse }: { reuse: RunReuseSummary }) {
  const labels = useEditor((s) => reuse.from.map((id) => s.document.nodes.find((n) => n.id === id)?.label || id).join(", "));
  return (
    <span
      className="max-w-64 truncate whitespace-nowrap rounded bg-zinc-100 px-2 py-0.5 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300"
      data-testid="run-reuse"
      title={`Ran from ${labels}; reused ${reuse.reused.length} node${reuse.reused.length === 1 ? "" : "s"} from run ${reuse.runId}${reuse.stale?.length ? ` (${reuse.stale.length} stale)` : ""}`}
    >
      ↺ from {labels} · {reuse.reused.length} reused{reuse.stale?.length ? ` (${reuse.stale.length} stale)` : ""}
    </span>
  );
}

/** A drag handle on the panel's top edge: pull up for more timeline, down for more canvas. */
function useResizableHeight(initial: number) {
  const [height, setHeight] = useState(initial);
  const onPointerDown = (event: ReactPointerEvent<HTMLDivElement>) => {
    const startY = event.clientY;
    const startHeight = height;
    const max = Math.round(window.innerHeight * 0.7);
    const onMove = (move: PointerEvent) => setHeight(Math.min(max, Math.max(120, startHeight + startY - move.clientY)));
    const onUp = () => {
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
    };
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
  };
  return { height, onPointerDown };
}

/**
 * The run panel: status, timeline, outputs, warnings and errors of the run on the canvas — live
 * (`runner`, which also offers a demo-model rerun when the document's model is not configured) or
 * recorded (`replay`).
 */
export function RunPanel({ runner, replay, actions }: { runner?: Runner; replay?: Replay; actions?: ReactNode }) {
  const run = useEditor((s) => s.run);
  const resize = useResizableHeight(256);
  const store = useEditorStore();
  const models = useModels();
  const documentModel = useEditor((s) => s.document.settings?.defaultModel ?? DEFAULT_MODEL);
  if (!run) return null;
  // The model the run was started with (a run on the demo model, or before the document changed), else the document's.
  const defaultModel = run.model ?? documentModel;
  const demo = models.find((m) => m.id === defaultModel)?.demo;
  const select = (nodeId: string | undefined) => nodeId && store.getState().select([nodeId]);
  return (
    <section
      aria-label="Run"
      data-testid="run-panel"
      data-status={run.status}
      style={{ height: resize.height }}
      className="relative flex shrink-0 flex-col overflow-hidden border-t border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-950"
    >
      <div
        role="separator"
        aria-orientation="horizontal"
        aria-label="Resize the run panel"
        data-testid="run-panel-resize"
        onPointerDown={resize.onPointerDown}
        className="absolute inset-x-0 top-0 z-10 h-1.5 cursor-row-resize hover:bg-sky-500/40"
      />
      <header className="flex h-9 shrink-0 items-center gap-3 border-b border-zinc-100 px-3 text-xs dark:border-zinc-800">
        <span data-testid="run-status" className={`shrink-0 rounded-full px-2 py-0.5 font-medium ${RUN_BADGE[run.status]}`}>
          {run.status}
        </span>
        <span className="shrink-0 whitespace-nowrap tabular-nums text-zinc-500">{((run.ms ?? run.t) / 1000).toFixed(1)} s</span>
        {run.usage && <span className="shrink-0 whitespace-nowrap text-zinc-500">{run.usage.inputTokens + run.usage.outputTokens} tokens</span>}
        {run.calls !== undefined && (
          <span className="shrink-0 whitespace-nowrap text-zinc-500" data-testid="run-calls" data-calls={run.calls}>
            {run.calls} model call{run.calls === 1 ? "" : "s"}
          </span>
        )}
        {run.reuse && <ReuseNote reuse={run.reuse} />}
        {/* The first thing to give way when the header is narrow: it truncates, the rest never wraps. */}
        <span className="min-w-0 truncate whitespace-nowrap text-zinc-500" data-testid="run-model" title={`model ${defaultModel}${demo ? " (offline demo model)" : ""}`}>
          model <code>{defaultModel}</code>
          {demo ? " (offline demo model)" : ""}
        </span>
        {replay && <ReplayBar replay={replay} />}
        <div className="flex-1" />
        <div className="flex shrink-0 items-center gap-2 whitespace-nowrap">{actions}</div>
        {run.status !== "running" && !replay && (
          <button type="button" aria-label="Close the run panel" onClick={() => store.getState().clearRun()} className="rounded p-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800">
            <X className="h-4 w-4" />
          </button>
        )}
      </header>
      <div className="flex min-h-0 flex-1 gap-3 p-3">
        <Timeline run={run} />
        <div className="w-96 shrink-0 overflow-y-auto border-l border-zinc-100 pl-3 text-xs dark:border-zinc-800" data-testid="run-results">
          {run.error && (
            <div className="mb-2 rounded-md border border-red-200 bg-red-50 p-2 text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200" data-testid="run-error">
              <button type="button" className="text-left hover:underline" onClick={() => select(run.error?.nodeId)}>
                {run.error.message}
              </button>
              {run.error.code === "model-not-configured" && runner && (
                <button
                  type="button"
                  data-testid="run-with-demo"
                  onClick={() => void runner.start({}, withEmbeddingModel(withModel(store.getState().document, "demo:default"), "demo:embed"))}
                  className="mt-2 block rounded bg-white px-2 py-1 font-medium text-sky-700 shadow-sm dark:bg-zinc-900 dark:text-sky-300"
                >
                  Run with the demo model
                </button>
              )}
            </div>
          )}
          {run.warnings.length > 0 && (
            <ul className="mb-2 space-y-1" data-testid="run-warnings">
              {run.warnings.map((warning, i) => (
                <li key={i} className="rounded bg-amber-50 px-2 py-1 text-amber-800 dark:bg-amber-950/40 dark:text-amber-200">
                  <button type="button" className="text-left hover:underline" onClick={() => select(warning.nodeId)}>
                    ▲ {warning.message}
                  </button>
                </li>
              ))}
            </ul>
          )}
          {run.reruns && <RerunRounds reruns={run.reruns} onSelect={(ids) => store.getState().select(ids)} />}
          {run.outputs && (
            <dl data-testid="run-outputs">
              {Object.entries(run.outputs).map(([key, value]) => (
                <div key={key} className="mb-2">
                  <dt className="font-mono font-medium text-zinc-600 dark:text-zinc-400">{key}</dt>
                  <dd className="text-zinc-800 dark:text-zinc-200">
                    <Markdown text={formatValue(value)} testId={`run-output-${key}`} />
                  </dd>
                </div>
              ))}
            </dl>
          )}
          {run.status === "running" && !run.outputs && <p className="text-zinc-500">Outputs appear here when the run finishes.</p>}
        </div>
      </div>
    </section>
  );
}
