"use client";

import { Maximize2 } from "lucide-react";
import { useEffect, useMemo, useState } from "react";
import { createPortal } from "react-dom";
import { Markdown } from "@/components/Markdown";
import { formatValue, parsePartialJson } from "@/lib/workflow";
import type { NodeRun, NodeRunStatus } from "@/lib/editor/run-state";
import { Dialog } from "../dialogs";
import { useEditor } from "../EditorProvider";
import { shortRun, useRunFrom } from "./RunFrom";
import { STATUS_COLOR } from "./RunPanel";

const STATUS_LABEL: Record<NodeRunStatus, string> = {
  queued: "queued",
  running: "running",
  succeeded: "done",
  failed: "failed",
  skipped: "skipped",
  cancelled: "cancelled",
};

/** A ticking clock for a running node, from the run's client start (or the replay's position). */
function Elapsed({ from }: { from: number }) {
  const clientStart = useEditor((s) => s.run?.clientStart ?? 0);
  const frozenAt = useEditor((s) => s.run?.frozenAt);
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(performance.now()), 100);
    return () => clearInterval(timer);
  }, []);
  const elapsed = frozenAt !== undefined ? frozenAt - from : now - clientStart - from;
  return <span className="tabular-nums">{(Math.max(0, elapsed) / 1000).toFixed(1)} s</span>;
}

/**
 * Text that follows its end while it streams. A column-reverse scroller stays anchored at its end
 * by itself: no script reads the layout, so twenty cards streaming cost no forced reflows.
 */
function StreamBox({ text, testId, tall }: { text: string; testId: string; tall?: boolean }) {
  return (
    <div className={`nowheel nodrag flex flex-col-reverse overflow-y-auto rounded bg-zinc-50 px-2 py-1 dark:bg-zinc-950 ${tall ? "max-h-56" : "max-h-24"}`}>
      <div data-testid={testId} className="whitespace-pre-wrap break-words text-xs leading-relaxed text-zinc-800 dark:text-zinc-200">
        {text}
      </div>
    </div>
  );
}

function structuredText(value: unknown): string {
  // A plan (a list of named items) reads best as a numbered list.
  const items = (value as { items?: unknown } | null)?.items;
  if (Array.isArray(items)) {
    return items
      .map((item, i) => {
        const record = (item ?? {}) as Record<string, unknown>;
        const name = record.name ?? record.title;
        return `${i + 1}. ${typeof name === "string" ? name : formatValue(item)}${typeof record.description === "string" ? ` — ${record.description}` : ""}`;
      })
      .join("\n");
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, v]) => `${key}: ${formatValue(v)}`)
      .join("\n");
  }
  return formatValue(value);
}

/** Pinned nodes are marked on the canvas whether or not a run is shown. */
function PinnedMark({ nodeId }: { nodeId: string }) {
  const pinned = useEditor((s) => s.document.nodes.some((n) => n.id === nodeId && n.pinned !== undefined));
  if (!pinned) return null;
  return (
    <div className="px-3 pb-1.5" data-testid={`node-pinned-${nodeId}`}>
      <span className="rounded bg-violet-50 px-1.5 py-0.5 text-[11px] font-medium text-violet-700 dark:bg-violet-950 dark:text-violet-300" title="Its output is pinned: it answers that value and calls no model">
        📌 pinned output
      </span>
    </div>
  );
}

/** Run from here, and for a worker with failed instances, Retry failed instances: after a run, never during one. */
function RunFromButtons({ nodeId, failedInstances }: { nodeId: string; failedInstances: boolean }) {
  const runFrom = useRunFrom();
  const finished = useEditor((s) => s.run !== null && s.run.status !== "running");
  if (!runFrom || !finished) return null;
  const button = "nodrag rounded px-1.5 py-0.5 text-[11px] font-medium text-sky-700 hover:bg-sky-50 dark:text-sky-300 dark:hover:bg-sky-950";
  return (
    <div className="mt-1 flex gap-1">
      <button type="button" className={button} data-testid={`run-from-${nodeId}`} title="Re-run this node and everything after it; reuse the rest of this run" onClick={() => void runFrom(nodeId)}>
        ▶ Run from here
      </button>
      {failedInstances && (
        <button type="button" className={button} data-testid={`retry-failed-${nodeId}`} onClick={() => void runFrom(nodeId, { mode: "failed-instances" })}>
          ↻ Retry failed instances
        </button>
      )}
    </div>
  );
}

/** What a node shows during and after a run: status, time, tokens, streamed output, instances, iterations. */
export function NodeRunView({ nodeId, kind }: { nodeId: string; kind: string }) {
  return (
    <>
      <PinnedMark nodeId={nodeId} />
      <NodeRunState nodeId={nodeId} kind={kind} />
    </>
  );
}

function NodeRunState({ nodeId, kind }: { nodeId: string; kind: string }) {
  const state = useEditor((s) => s.run?.nodes[nodeId]) as NodeRun | undefined;
  const [expanded, setExpanded] = useState<number | null>(null);
  const [tall, setTall] = useState(false);
  const [large, setLarge] = useState(false);
  // Parsed when shown (at most once per applied batch of events), not once per delta.
  const json = state?.json;
  const partial = useMemo(() => (json !== undefined ? parsePartialJson(json) : state?.partial), [json, state?.partial]);
  if (!state || state.status === "queued") return state ? <div className="px-3 pb-2 text-[11px] text-zinc-400" data-testid={`node-status-${nodeId}`} data-status="queued">queued</div> : null;
  const span = state.spans.at(-1);
  const done = state.instances.filter((i) => i.status === "succeeded").length;
  // A reused or pinned node did not stream: it shows the value it answered, as its text would have read.
  const answered = (state.reusedFrom || state.pinned) && state.output && typeof state.output === "object" ? Object.values(state.output as Record<string, unknown>) : [];
  const shown = state.text || (answered.length === 1 ? formatValue(answered[0]) : "") || (partial !== undefined ? structuredText(partial) : "") || (state.status === "succeeded" && kind !== "input" && kind !== "output" ? structuredText(state.output) : "");
  return (
    <div className="border-t border-zinc-100 px-3 pb-2 pt-1.5 dark:border-zinc-800" onDoubleClick={() => setTall((t) => !t)}>
      <div className="mb-1 flex items-center gap-2 text-[11px] text-zinc-600 dark:text-zinc-400" data-testid={`node-status-${nodeId}`} data-status={state.status}>
        <span className={`inline-block h-2 w-2 rounded-full ${STATUS_COLOR[state.status]} ${state.status === "running" ? "animate-pulse" : ""}`} />
        <span className="font-medium">{STATUS_LABEL[state.status]}</span>
        {state.status === "running" && span && <Elapsed from={span.start} />}
        {state.ms !== undefined && state.status === "succeeded" && <span className="tabular-nums">{(state.ms / 1000).toFixed(2)} s</span>}
        {state.usage && state.usage.inputTokens + state.usage.outputTokens > 0 && <span>{state.usage.inputTokens + state.usage.outputTokens} tok</span>}
        {state.reusedFrom && (
          <span className="rounded bg-zinc-100 px-1 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300" data-testid={`node-reused-${nodeId}`} title="Not executed: its output was taken from that run (no model call, not billed)">
            from run {shortRun(state.reusedFrom)}
          </span>
        )}
        {state.pinned && <span className="rounded bg-violet-50 px-1 text-violet-700 dark:bg-violet-950 dark:text-violet-300">pinned</span>}
        {state.iteration > 1 && (
          <span className="ml-auto rounded bg-rose-50 px-1 text-rose-700 dark:bg-rose-950 dark:text-rose-300" data-testid={`node-iteration-${nodeId}`}>
            iteration {state.iteration}
          </span>
        )}
        {(shown || state.instances.length > 0) && (
          <button
            type="button"
            className={`nodrag rounded p-0.5 text-zinc-500 hover:bg-zinc-100 hover:text-zinc-800 dark:hover:bg-zinc-800 dark:hover:text-zinc-100 ${state.iteration > 1 ? "" : "ml-auto"}`}
            title="Open the output large"
            aria-label="Open the output large"
            data-testid={`node-open-output-${nodeId}`}
            onClick={() => setLarge(true)}
          >
            <Maximize2 className="h-3 w-3" aria-hidden />
          </button>
        )}
      </div>
      {large && <LiveOutputDialog nodeId={nodeId} kind={kind} onClose={() => setLarge(false)} />}
      {state.retry && <p className="mb-1 text-[11px] text-amber-600">retrying (attempt {state.retry.attempt}): {state.retry.message}</p>}
      {state.error && (
        <p className="mb-1 break-words text-[11px] text-red-600 dark:text-red-400" data-testid={`node-error-${nodeId}`}>
          {state.error.message}
        </p>
      )}
      {state.instances.length > 0 && (
        <div data-testid={`node-instances-${nodeId}`}>
          <p className="mb-1 text-[11px] text-zinc-500" data-testid={`node-instances-count-${nodeId}`}>
            {done} of {state.instances.length} done
          </p>
          <ul className="space-y-0.5">
            {state.instances.map((instance) => (
              <li key={instance.index} data-testid={`instance-${nodeId}-${instance.index}`} data-status={instance.status}>
                <button type="button" className="nodrag flex w-full items-center gap-1.5 text-left text-[11px]" onClick={() => setExpanded(expanded === instance.index ? null : instance.index)}>
                  <span className={`inline-block h-1.5 w-1.5 shrink-0 rounded-full ${STATUS_COLOR[instance.status]}`} />
                  <span className="shrink-0 font-medium">{instance.label}</span>
                  <span className="truncate text-zinc-500">{instance.text.split("\n").filter(Boolean).at(-1)}</span>
                </button>
                {expanded === instance.index && (
                  <div className="nowheel nodrag mt-1 max-h-48 overflow-y-auto rounded bg-zinc-50 px-2 py-1 text-[11px] dark:bg-zinc-950">
                    <Markdown text={instance.text} testId={`instance-text-${nodeId}-${instance.index}`} />
                  </div>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
      {shown && state.instances.length === 0 && <StreamBox text={shown} testId={`node-output-${nodeId}`} tall={tall} />}
      {kind !== "input" && kind !== "output" && state.status !== "running" && state.status !== "skipped" && (
        <RunFromButtons nodeId={nodeId} failedInstances={state.instances.some((i) => i.status !== "succeeded")} />
      )}
    </div>
  );
}

/** A node's output at reading size, live while it streams (the card's own text stays where it is). */
function LiveOutputDialog({ nodeId, kind, onClose }: { nodeId: string; kind: string; onClose: () => void }) {
  const state = useEditor((s) => s.run?.nodes[nodeId]) as NodeRun | undefined;
  const label = useEditor((s) => s.document.nodes.find((node) => node.id === nodeId)?.label ?? nodeId);
  const json = state?.json;
  const partial = useMemo(() => (json !== undefined ? parsePartialJson(json) : state?.partial), [json, state?.partial]);
  if (!state) return null;
  const text =
    state.instances.length > 0
      ? state.instances.map((instance) => `## ${instance.label}\n\n${instance.text}`).join("\n\n")
      : state.text || (partial !== undefined ? structuredText(partial) : "") || (kind !== "input" && kind !== "output" ? structuredText(state.output) : "");
  // On the page, not in the card: the canvas's zoom would shrink it again.
  return createPortal(
    <Dialog title={`${label} — ${STATUS_LABEL[state.status]}`} onClose={onClose} testId={`live-output-${nodeId}`} wide>
      <div className="flex max-h-[60vh] flex-col-reverse overflow-y-auto rounded bg-zinc-50 p-3 dark:bg-zinc-950">
        <div className="whitespace-pre-wrap break-words text-sm leading-relaxed text-zinc-800 dark:text-zinc-100" data-testid={`live-output-text-${nodeId}`}>
          {text || "Nothing yet."}
        </div>
      </div>
    </Dialog>,
    globalThis.document.body,
  );
}
