"use client";

import { useReactFlow } from "@xyflow/react";
import { AlertTriangle, CheckCircle2, FlaskConical, History, Keyboard, ListChecks, LayoutGrid, Maximize, Play, Redo2, Save, Share2, Square, Undo2, Upload } from "lucide-react";
import Link from "next/link";
import type { ReactNode } from "react";
import { serializeDocument, type WorkflowDocument } from "@/lib/workflow";
import { documentIssues } from "@/lib/editor/store";
import { useEditor, useEditorStore, useHistory } from "./EditorProvider";
import { ExportMenu } from "./run/ExportMenu";

function ToolButton({ label, onClick, disabled, children, testId, title }: { label: string; onClick?: () => void; disabled?: boolean; children: ReactNode; testId?: string; title?: string }) {
  return (
    <button
      type="button"
      onClick={onClick}
      disabled={disabled}
      aria-label={label}
      title={title ?? label}
      data-testid={testId}
      className="inline-flex h-8 items-center gap-1.5 rounded-md px-2 text-sm text-zinc-700 hover:bg-zinc-100 disabled:cursor-not-allowed disabled:opacity-40 dark:text-zinc-300 dark:hover:bg-zinc-800"
    >
      {children}
    </button>
  );
}

const Divider = () => <span className="mx-1 h-5 w-px bg-zinc-200 dark:bg-zinc-700" aria-hidden />;

export function fileNameFor(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "workflow";
  return `${slug}.trellis.json`;
}

/** Downloads the document as `<name>.trellis.json` (the format Import reads back). */
export function downloadDocument(document: WorkflowDocument) {
  const blob = new Blob([serializeDocument(document)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = globalThis.document.createElement("a");
  link.href = url;
  link.download = fileNameFor(document.name);
  globalThis.document.body.append(link);
  link.click();
  link.remove();
  // Revoking at once can cancel the download before the browser has read the blob.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function Toolbar({
  onImport,
  onShowIssues,
  onShortcuts,
  onRun,
  onCancel,
  onSave,
  onHistory,
  onRuns,
  onShare,
  topology,
}: {
  onImport: () => void;
  onShowIssues: () => void;
  onShortcuts: () => void;
  onRun: () => void;
  onCancel: () => void;
  onSave: () => void;
  onHistory: () => void;
  onRuns: () => void;
  onShare: () => void;
  /** Plan from a task and the Advice panel (components/topology). */
  topology?: ReactNode;
}) {
  const saved = useEditor((s) => s.saved);
  const dirty = useEditor((s) => !s.saved || s.saved.document !== s.document);
  const running = useEditor((s) => s.run?.status === "running");
  const store = useEditorStore();
  const name = useEditor((s) => s.document.name);
  const issues = useEditor((s) => documentIssues(s.document));
  const history = useHistory();
  const flow = useReactFlow();
  const errors = issues.filter((i) => i.severity === "error").length;

  const exportDocument = () => {
    downloadDocument(store.getState().document);
    if (errors) store.getState().notify("info", `Exported with ${errors} issue${errors === 1 ? "" : "s"} still open.`);
  };

  return (
    <header className="flex h-12 shrink-0 items-center gap-1 border-b border-zinc-200 bg-white px-3 dark:border-zinc-800 dark:bg-zinc-950">
      <Link href="/" className="mr-2 text-sm font-semibold tracking-tight" title="All workflows">
        Trellis
      </Link>
      <input
        aria-label="Workflow name"
        data-testid="workflow-name"
        value={name}
        onChange={(event) => store.getState().updateWorkflow({ name: event.target.value })}
        className="h-8 w-64 rounded-md border border-transparent bg-transparent px-2 text-sm font-medium hover:border-zinc-200 focus:border-sky-500 focus:outline-none dark:hover:border-zinc-700"
      />
      <button
        type="button"
        onClick={onShowIssues}
        data-testid="validation-state"
        className={`ml-1 inline-flex h-7 items-center gap-1 rounded-full px-2.5 text-xs font-medium ${
          errors ? "bg-red-50 text-red-700 dark:bg-red-950 dark:text-red-300" : "bg-emerald-50 text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300"
        }`}
      >
        {errors ? <AlertTriangle className="h-3.5 w-3.5" aria-hidden /> : <CheckCircle2 className="h-3.5 w-3.5" aria-hidden />}
        {errors ? `${errors} issue${errors === 1 ? "" : "s"}` : "Valid"}
      </button>
      <div className="flex-1" />
      <ToolButton label="Undo" title="Undo (Ctrl/Cmd+Z)" onClick={() => history.undo()} disabled={!history.canUndo} testId="undo">
        <Undo2 className="h-4 w-4" />
      </ToolButton>
      <ToolButton label="Redo" title="Redo (Shift+Ctrl/Cmd+Z)" onClick={() => history.redo()} disabled={!history.canRedo} testId="redo">
        <Redo2 className="h-4 w-4" />
      </ToolButton>
      <Divider />
      <ToolButton
        label="Auto-layout"
        testId="layout"
        onClick={() => {
          store.getState().layout();
          requestAnimationFrame(() => flow.fitView({ padding: 0.08, maxZoom: 1, duration: 200 }));
        }}
      >
        <LayoutGrid className="h-4 w-4" />
        <span className="hidden xl:inline">Layout</span>
      </ToolButton>
      <ToolButton label="Fit view" testId="fit-view" onClick={() => flow.fitView({ padding: 0.08, maxZoom: 1, duration: 200 })}>
        <Maximize className="h-4 w-4" />
      </ToolButton>
      <Divider />
      {topology}
      {topology && <Divider />}
      <ToolButton label="Import" testId="import" onClick={onImport}>
        <Upload className="h-4 w-4" />
        <span className="hidden xl:inline">Import</span>
      </ToolButton>
      <ExportMenu onJson={exportDocument} />
      <ToolButton label="Keyboard shortcuts" title="Keyboard shortcuts (?)" onClick={onShortcuts} testId="shortcuts">
        <Keyboard className="h-4 w-4" />
      </ToolButton>
      <Divider />
      <span data-testid="save-state" className={`mr-1 text-xs ${dirty ? "text-amber-600 dark:text-amber-400" : "text-zinc-500"}`}>
        {dirty ? (saved ? "● Unsaved changes" : "● Not saved") : `Saved · v${saved?.version}`}
      </span>
      <ToolButton label="Save" title="Save a new version (Ctrl/Cmd+S)" onClick={onSave} testId="save">
        <Save className="h-4 w-4" />
        <span className="hidden xl:inline">Save</span>
      </ToolButton>
      <ToolButton label="Version history" title={saved ? "Version history" : "Save to start the history"} onClick={onHistory} disabled={!saved} testId="history">
        <History className="h-4 w-4" />
      </ToolButton>
      <ToolButton label="Run history" title={saved ? "Run history" : "Save to keep a run history"} onClick={onRuns} disabled={!saved} testId="runs">
        <ListChecks className="h-4 w-4" />
      </ToolButton>
      {saved ? (
        <Link
          href={`/w/${saved.id}/evals`}
          aria-label="Evaluate"
          title="Evaluate: run saved versions over a dataset and compare them"
          data-testid="evaluate"
          className="inline-flex h-8 items-center gap-1.5 rounded-md px-2 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
        >
          <FlaskConical className="h-4 w-4" />
          <span className="hidden 2xl:inline">Evaluate</span>
        </Link>
      ) : (
        <ToolButton label="Evaluate" title="Save to evaluate" disabled testId="evaluate">
          <FlaskConical className="h-4 w-4" />
          <span className="hidden 2xl:inline">Evaluate</span>
        </ToolButton>
      )}
      <ToolButton label="Share" title={saved ? "Share a read-only link" : "Save to share"} onClick={onShare} disabled={!saved} testId="share">
        <Share2 className="h-4 w-4" />
        <span className="hidden xl:inline">Share</span>
      </ToolButton>
      <button
        type="button"
        onClick={running ? onCancel : onRun}
        title={running ? "Cancel the run (Esc)" : "Run (Ctrl/Cmd+Enter)"}
        data-testid={running ? "cancel-run" : "run"}
        className={`ml-1 inline-flex h-8 items-center gap-1.5 rounded-md px-3 text-sm font-medium text-white ${running ? "bg-red-600 hover:bg-red-700" : "bg-sky-600 hover:bg-sky-700"}`}
      >
        {running ? <Square className="h-3.5 w-3.5" aria-hidden /> : <Play className="h-4 w-4" aria-hidden />}
        {running ? "Cancel" : "Run"}
      </button>
    </header>
  );
}
