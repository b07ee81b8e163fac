"use client";

import "@xyflow/react/dist/style.css";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { Download, GitFork, Play, Square } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState, type ReactNode } from "react";
import { forkAction } from "@/app/actions";
import { postRun } from "@/lib/editor/run-request";
import { Canvas } from "@/components/editor/Canvas";
import { NoticeToast } from "@/components/editor/Editor";
import { EditorProvider, useEditor, useEditorStore, type ModelOption } from "@/components/editor/EditorProvider";
import { Inspector } from "@/components/editor/Inspector";
import { RunDialog } from "@/components/editor/run/RunDialog";
import { RunPanel } from "@/components/editor/run/RunPanel";
import { useReplay } from "@/components/editor/run/useReplay";
import { useRunner, type Launch } from "@/components/editor/run/useRunner";
import { downloadDocument } from "@/components/editor/Toolbar";
import type { RecordedRun, WorkflowDocument } from "@/lib/workflow";

export type ReadOnlyViewProps = {
  document: WorkflowDocument;
  models: ModelOption[];
  /** What this view is, next to the name: "Shared · v3", "Version 2", "Run of v3". */
  badge: string;
  /** The recorded run to replay on the canvas, if any. */
  run: RecordedRun | null;
  /** Said in the run panel's place when there is no run to replay. */
  noRun?: string;
  /** Fork copies the workflow into the visitor's ownership and opens it in the editor. */
  fork?: { from: "link" | "run"; id: string };
  /** Set when the link's owner allows visitors to run the stored version. */
  runLink?: string;
  /** Extra header actions (restore, back to the editor, share this run). */
  actions?: ReactNode;
};

function ReplayPanel({ run }: { run: RecordedRun }) {
  const replay = useReplay(run);
  // The panel takes room from the canvas once the replay shows: keep the whole graph in view.
  const flow = useReactFlow();
  useEffect(() => {
    // Two frames: the canvas learns its new size from a ResizeObserver after the panel's first layout.
    let frame = requestAnimationFrame(() => {
      frame = requestAnimationFrame(() => void flow.fitView({ padding: 0.08, maxZoom: 1 }));
    });
    return () => cancelAnimationFrame(frame);
  }, [flow]);
  return <RunPanel replay={replay} />;
}

function HeaderButton({ onClick, children, testId, primary, title }: { onClick: () => void; children: ReactNode; testId: string; primary?: boolean; title?: string }) {
  return (
    <button
      type="button"
      onClick={onClick}
      data-testid={testId}
      title={title}
      className={`inline-flex h-8 items-center gap-1.5 rounded-md px-3 text-sm font-medium ${
        primary ? "bg-sky-600 text-white hover:bg-sky-700" : "text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
      }`}
    >
      {children}
    </button>
  );
}

function ViewLayout({ badge, run, noRun, fork, runLink, actions }: Omit<ReadOnlyViewProps, "document" | "models">) {
  const store = useEditorStore();
  const router = useRouter();
  const name = useEditor((s) => s.document.name);
  const launch: Launch = useCallback(({ runId, inputs }) => postRun("/api/runs/shared", { runId, shareId: runLink ?? "", inputs }), [runLink]);
  const runner = useRunner(launch);
  const [live, setLive] = useState(false);
  const [asking, setAsking] = useState(false);
  const running = useEditor((s) => live && s.run?.status === "running");

  const forkIt = async () => {
    if (!fork) return;
    const result = await forkAction(fork);
    if (result.ok) router.push(`/w/${result.data.id}`);
    else store.getState().notify("error", `Could not fork: ${result.error.message}.`);
  };

  return (
    <div className="flex h-screen min-h-[600px] min-w-[1024px] flex-col bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100" data-testid="read-only-view">
      <header className="flex h-12 shrink-0 items-center gap-2 border-b border-zinc-200 bg-white px-3 dark:border-zinc-800 dark:bg-zinc-950">
        <Link href="/" className="mr-2 text-sm font-semibold tracking-tight">
          Trellis
        </Link>
        <h1 className="truncate text-sm font-medium" data-testid="workflow-title">
          {name}
        </h1>
        <span className="rounded-full bg-zinc-100 px-2.5 py-0.5 text-xs text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300" data-testid="view-badge">
          {badge} · read-only
        </span>
        <div className="flex-1" />
        {actions}
        <HeaderButton testId="export" onClick={() => downloadDocument(store.getState().document)} title="Download the workflow as JSON">
          <Download className="h-4 w-4" /> Export
        </HeaderButton>
        {fork && (
          <HeaderButton testId="fork" onClick={() => void forkIt()} primary={!runLink} title="Copy this workflow into your own workflows and open it in the editor">
            <GitFork className="h-4 w-4" /> Fork
          </HeaderButton>
        )}
        {runLink && (
          <HeaderButton testId={running ? "cancel-run" : "run"} primary onClick={() => (running ? void runner.cancel() : setAsking(true))}>
            {running ? <Square className="h-3.5 w-3.5" /> : <Play className="h-4 w-4" />} {running ? "Cancel" : "Run"}
          </HeaderButton>
        )}
      </header>
      <div className="flex min-h-0 flex-1">
        <div className="flex min-w-0 flex-1 flex-col">
          <main className="relative min-h-0 flex-1">
            <Canvas />
            <NoticeToast />
          </main>
          {live ? (
            // No runner: a link runs its stored version as it is, so there is no demo-model rerun to offer.
            <RunPanel />
          ) : run ? (
            <ReplayPanel run={run} />
          ) : (
            noRun && (
              <p className="shrink-0 border-t border-zinc-200 bg-white px-3 py-2 text-xs text-zinc-500 dark:border-zinc-800 dark:bg-zinc-950" data-testid="no-run">
                {noRun}
              </p>
            )
          )}
        </div>
        <div className="w-80 shrink-0 border-l border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-950">
          <Inspector />
        </div>
      </div>
      {asking && (
        <RunDialog
          onClose={() => setAsking(false)}
          onRun={(inputs) => {
            setAsking(false);
            setLive(true);
            void runner.start(inputs);
          }}
        />
      )}
    </div>
  );
}

/** A workflow (and a recorded run) to look at, never to change: shared links, run links, old versions. */
export function ReadOnlyView({ document, models, ...rest }: ReadOnlyViewProps) {
  return (
    <EditorProvider initial={document} models={models} readOnly>
      <ReactFlowProvider>
        <ViewLayout {...rest} />
      </ReactFlowProvider>
    </EditorProvider>
  );
}
