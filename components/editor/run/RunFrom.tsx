"use client";

import { useRouter } from "next/navigation";
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { previewRunFromAction } from "@/app/editor/actions";
import type { StaleNode } from "@/lib/workflow/engine/reuse";
import { Dialog } from "../dialogs";
import { useEditorStore } from "../EditorProvider";
import type { ReuseRequest, Runner } from "./useRunner";

/**
 * Run from here (issue 16): re-run a node and what is downstream, taking every other output from
 * an earlier run (the one on the canvas, or one named by the link that opened the editor). When the
 * document changed upstream since that run, say which nodes and offer to start from the earliest.
 */

type RunFrom = (nodeId: string, options?: { runId?: string; mode?: ReuseRequest["mode"] }) => Promise<void>;

const RunFromContext = createContext<RunFrom | null>(null);

/** The Run from here action, or null where runs cannot start (read-only views). */
export function useRunFrom(): RunFrom | null {
  return useContext(RunFromContext);
}

type Pending = { request: ReuseRequest; stale: StaleNode[]; suggestedFrom: string[] };

/** Short form of a run id, as the canvas names an earlier run. */
export const shortRun = (runId: string) => runId.slice(0, 8);

export function RunFromProvider({ runner, onStart, children }: { runner: Runner; onStart?: () => void; children: ReactNode }) {
  const store = useEditorStore();
  const [pending, setPending] = useState<Pending | null>(null);

  const launch = useCallback(
    (request: ReuseRequest) => {
      setPending(null);
      onStart?.();
      // The server takes the inputs from the earlier run: none are asked for.
      void runner.start({}, store.getState().document, request);
    },
    [runner, store, onStart],
  );

  const runFrom = useCallback<RunFrom>(
    async (nodeId, options = {}) => {
      const { run, document } = store.getState();
      const runId = options.runId ?? (run && run.status !== "running" ? run.runId : undefined);
      if (!runId) return store.getState().notify("error", "Run the workflow first: Run from here reuses a finished run's outputs.");
      const request: ReuseRequest = { runId, from: [nodeId], ...(options.mode ? { mode: options.mode } : {}) };
      const preview = await previewRunFromAction({ document, reuse: request });
      if (!preview.ok) return store.getState().notify("error", `Cannot run from here: ${preview.error.message}.`);
      if (preview.data.stale.length) {
        setPending({ request, stale: preview.data.stale, suggestedFrom: preview.data.suggestedFrom ?? [nodeId] });
        return;
      }
      launch(request);
    },
    [store, launch],
  );

  // The editor opened from a recorded run's "Run from here" (`?runFrom=<run>&node=<id>`): do it once,
  // after the first render (the link is consumed, so a reload does not run it again).
  useEffect(() => {
    const params = new URLSearchParams(globalThis.location.search);
    const runId = params.get("runFrom");
    const node = params.get("node");
    if (!runId || !node) return;
    const timer = setTimeout(() => {
      globalThis.history.replaceState(null, "", globalThis.location.pathname);
      void runFrom(node, { runId });
    }, 0);
    return () => clearTimeout(timer);
  }, [runFrom]);

  const labelOf = (id: string) => {
    const node = store.getState().document.nodes.find((n) => n.id === id);
    return node?.label || id;
  };
  return (
    <RunFromContext.Provider value={runFrom}>
      {children}
      {pending && (
        <Dialog title="Upstream changed since that run" onClose={() => setPending(null)} testId="run-from-stale">
          <p className="mb-2 text-sm text-zinc-600 dark:text-zinc-400">Their recorded outputs no longer match the workflow, so reusing them would feed old results downstream:</p>
          <ul className="mb-3 space-y-1 text-sm" data-testid="run-from-stale-list">
            {pending.stale.map((node) => (
              <li key={node.nodeId}>
                <span className="font-medium">{node.label}</span> <span className="text-zinc-500">— {node.why}</span>
              </li>
            ))}
          </ul>
          <div className="flex justify-end gap-2">
            <button type="button" data-testid="run-from-anyway" onClick={() => launch(pending.request)} className="rounded-md px-3 py-1.5 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800">
              Reuse them anyway
            </button>
            <button
              type="button"
              data-testid="run-from-earliest"
              onClick={() => launch({ ...pending.request, from: pending.suggestedFrom, mode: undefined })}
              className="rounded-md bg-sky-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-700"
            >
              Run from {pending.suggestedFrom.map(labelOf).join(" + ")} instead
            </button>
          </div>
        </Dialog>
      )}
    </RunFromContext.Provider>
  );
}

/**
 * On a recorded run's page (read-only): Run from here opens the workflow in the editor, which runs
 * from that node of this run against the document as it is now (stale upstream said there).
 */
export function RecordedRunFrom({ workflowId, runId, children }: { workflowId: string; runId: string; children: ReactNode }) {
  const router = useRouter();
  const runFrom = useCallback<RunFrom>(
    async (nodeId) => router.push(`/w/${workflowId}?runFrom=${encodeURIComponent(runId)}&node=${encodeURIComponent(nodeId)}`),
    [router, workflowId, runId],
  );
  return <RunFromContext.Provider value={runFrom}>{children}</RunFromContext.Provider>;
}
