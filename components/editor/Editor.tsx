"use client";

import "@xyflow/react/dist/style.css";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import dynamic from "next/dynamic";
import { X } from "lucide-react";
import { useCallback, useEffect, useState } from "react";
import { documentIssues } from "@/lib/editor/store";
import type { WorkflowDocument } from "@/lib/workflow";
import { Canvas } from "./Canvas";
import { FollowRun } from "./run/FollowRun";
import { ConflictDialog, ImportDialog, QuickAddDialog, ShortcutsDialog } from "./dialogs";
import { RunsDialog, ShareDialog, ShareRunButton } from "./SharingDialogs";
import { useDraft } from "./useDraft";
import { useSaver } from "./useSaver";
import { EditorProvider, useEditor, useEditorStore, type ModelOption } from "./EditorProvider";
import { Inspector } from "./Inspector";
import { Palette } from "./Palette";
import { RunDialog } from "./run/RunDialog";
import { CompareRunsButton } from "./run/CompareRunsButton";
import { RunFromProvider } from "./run/RunFrom";
import { RunPanel } from "./run/RunPanel";
import { useRunner } from "./run/useRunner";
import { Toolbar } from "./Toolbar";
import { TopologyButtons } from "@/components/topology/TopologyButtons";

// Opened on demand, so not part of the editor's first download (issue 12: ≤ 300 kB of JavaScript).
const HistoryDialog = dynamic(() => import("./HistoryDialog").then((m) => m.HistoryDialog), { ssr: false });
const AdvicePanel = dynamic(() => import("@/components/topology/AdvicePanel").then((m) => m.AdvicePanel), { ssr: false });
const PlanDialog = dynamic(() => import("@/components/topology/PlanDialog").then((m) => m.PlanDialog), { ssr: false });

type Dialog = "import" | "shortcuts" | "quick-add" | "run" | "conflict" | "history" | "runs" | "share" | "plan" | null;

function isEditable(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)));
}

/** Keyboard shortcuts and clipboard: copy/paste go through the system clipboard as document JSON. */
function useShortcuts(open: (dialog: Dialog) => void, requestRun: () => void, cancelRun: () => void, save: () => void) {
  const store = useEditorStore();
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.metaKey || event.ctrlKey;
      if (mod && event.key === "Enter" && !globalThis.document.querySelector("[role=dialog]")) {
        event.preventDefault();
        requestRun();
        return;
      }
      if (event.key === "Escape" && store.getState().run?.status === "running" && !globalThis.document.querySelector("[role=dialog]")) {
        cancelRun();
        return;
      }
      if (mod && event.key.toLowerCase() === "s") {
        event.preventDefault();
        save();
        return;
      }
      if (isEditable(event.target)) return;
      const key = event.key.toLowerCase();
      const { undo, redo } = store.temporal.getState();
      if (mod && key === "z") {
        event.preventDefault();
        if (event.shiftKey) redo();
        else undo();
      } else if (mod && key === "y") {
        event.preventDefault();
        redo();
      } else if (mod && key === "d") {
        event.preventDefault();
        store.getState().duplicateSelection();
      } else if (mod && key === "k") {
        event.preventDefault();
        open("quick-add");
      } else if (!mod && event.key === "?") {
        open("shortcuts");
      }
    };
    const onCopy = (event: ClipboardEvent) => {
      if (isEditable(event.target)) return;
      const text = store.getState().copySelection();
      if (!text || !event.clipboardData) return;
      event.clipboardData.setData("text/plain", text);
      event.preventDefault();
    };
    const onCut = (event: ClipboardEvent) => {
      onCopy(event);
      if (event.defaultPrevented) store.getState().removeSelection();
    };
    const onPaste = (event: ClipboardEvent) => {
      if (isEditable(event.target)) return;
      const text = event.clipboardData?.getData("text/plain");
      if (!text) return;
      event.preventDefault();
      store.getState().paste(text);
    };
    window.addEventListener("keydown", onKey);
    document.addEventListener("copy", onCopy);
    document.addEventListener("cut", onCut);
    document.addEventListener("paste", onPaste);
    return () => {
      window.removeEventListener("keydown", onKey);
      document.removeEventListener("copy", onCopy);
      document.removeEventListener("cut", onCut);
      document.removeEventListener("paste", onPaste);
    };
  }, [store, open, requestRun, cancelRun, save]);
}

export function NoticeToast() {
  const notice = useEditor((s) => s.notice);
  const store = useEditorStore();
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => store.getState().dismissNotice(), notice.tone === "error" ? 6000 : 4000);
    return () => clearTimeout(timer);
  }, [notice, store]);
  if (!notice) return null;
  return (
    <div
      role={notice.tone === "error" ? "alert" : "status"}
      data-testid="notice"
      className={`pointer-events-auto absolute left-1/2 top-3 z-40 flex max-w-lg -translate-x-1/2 items-start gap-2 rounded-md border px-3 py-2 text-sm shadow-lg ${
        notice.tone === "error"
          ? "border-red-200 bg-red-50 text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200"
          : "border-zinc-200 bg-white text-zinc-800 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-200"
      }`}
    >
      <span>{notice.message}</span>
      <button type="button" aria-label="Dismiss" onClick={() => store.getState().dismissNotice()} className="opacity-60 hover:opacity-100">
        <X className="h-4 w-4" />
      </button>
    </div>
  );
}

/** A finished run of the editor is a record: it can be shared as its own link (not a run the server refused: it has none). */
function FinishedRunActions() {
  const run = useEditor((s) => (s.run && s.run.status !== "running" ? s.run.runId : null));
  const recorded = useEditor((s) => Boolean(s.run?.recorded));
  return run ? (
    <>
      <CompareRunsButton />
      {recorded && <ShareRunButton key={run} runId={run} />}
    </>
  ) : null;
}

function EditorLayout({ planFirst }: { planFirst?: boolean }) {
  const [dialog, setDialog] = useState<Dialog>(planFirst ? "plan" : null);
  const [adviceOpen, setAdviceOpen] = useState(false);
  const store = useEditorStore();
  const runner = useRunner();
  const flow = useReactFlow();
  // Validate first: a document with errors never reaches the server.
  const requestRun = useCallback(() => {
    if (store.getState().run?.status === "running") return;
    const errors = documentIssues(store.getState().document).filter((i) => i.severity === "error");
    if (errors.length) {
      store.getState().select([]);
      store.getState().notify("error", `Fix ${errors.length} issue${errors.length === 1 ? "" : "s"} before running: ${errors[0].message}.`);
      return;
    }
    setDialog("run");
  }, [store]);
  const cancelRun = useCallback(() => void runner.cancel(), [runner]);
  const saver = useSaver();
  const draft = useDraft();
  const save = useCallback(async () => {
    if ((await saver.save()) === "conflict") setDialog("conflict");
  }, [saver]);
  useShortcuts(setDialog, requestRun, cancelRun, () => void save());
  const fitSoon = useCallback(() => setTimeout(() => flow.fitView({ padding: 0.08, maxZoom: 1, duration: 200 }), 50), [flow]);
  return (
    <RunFromProvider runner={runner} onStart={fitSoon}>
    <div className="flex h-screen min-h-[680px] min-w-[1200px] flex-col bg-zinc-50 text-zinc-900 dark:bg-zinc-950 dark:text-zinc-100" data-testid="editor">
      <Toolbar
        onImport={() => setDialog("import")}
        onShortcuts={() => setDialog("shortcuts")}
        onRun={requestRun}
        onSave={() => void save()}
        onHistory={() => setDialog("history")}
        onRuns={() => setDialog("runs")}
        onShare={() => setDialog("share")}
        onCancel={cancelRun}
        topology={<TopologyButtons onPlan={() => setDialog("plan")} adviceOpen={adviceOpen} onToggleAdvice={() => setAdviceOpen((open) => !open)} />}
        onShowIssues={() => {
          store.getState().select([]);
          requestAnimationFrame(() => globalThis.document.getElementById("issues")?.scrollIntoView({ behavior: "smooth" }));
        }}
      />
      <div className="flex min-h-0 flex-1">
        <div className="w-60 shrink-0 border-r border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-950">
          <Palette />
        </div>
        <div className="flex min-w-0 flex-1 flex-col">
          <main className="relative min-h-0 flex-1">
            <Canvas />
            <FollowRun />
            {adviceOpen && <AdvicePanel onClose={() => setAdviceOpen(false)} />}
            <NoticeToast />
            {draft.offer && (
              <div
                role="alert"
                data-testid="draft-offer"
                className="absolute bottom-4 left-1/2 z-40 flex -translate-x-1/2 items-center gap-3 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 shadow-lg dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100"
              >
                <span>Unsaved changes from {new Date(draft.offer.at).toLocaleString()} were kept in this browser.</span>
                <button type="button" data-testid="draft-restore" onClick={draft.restore} className="rounded bg-amber-600 px-2 py-1 font-medium text-white">
                  Restore
                </button>
                <button type="button" data-testid="draft-discard" onClick={draft.discard} className="rounded px-2 py-1 hover:bg-amber-100 dark:hover:bg-amber-900">
                  Discard
                </button>
              </div>
            )}
          </main>
          <RunPanel runner={runner} actions={<FinishedRunActions />} />
        </div>
        <div className="w-80 shrink-0 border-l border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-950">
          <Inspector />
        </div>
      </div>
      {dialog === "import" && <ImportDialog onClose={() => setDialog(null)} />}
      {dialog === "plan" && <PlanDialog onClose={() => setDialog(null)} />}
      {dialog === "shortcuts" && <ShortcutsDialog onClose={() => setDialog(null)} />}
      {dialog === "quick-add" && <QuickAddDialog onClose={() => setDialog(null)} />}
      {dialog === "runs" && <RunsDialog onClose={() => setDialog(null)} />}
      {dialog === "share" && <ShareDialog onClose={() => setDialog(null)} />}
      {dialog === "history" && (
        <HistoryDialog
          onClose={() => setDialog(null)}
          onRestore={async (document) => {
            setDialog(null);
            // Restoring is saving the old document as a new version: the history keeps everything.
            store.getState().replaceDocument(document);
            await save();
          }}
        />
      )}
      {dialog === "conflict" && (
        <ConflictDialog
          onClose={() => setDialog(null)}
          onChoose={async (choice) => {
            setDialog(null);
            if (choice === "theirs") await saver.reloadTheirs();
            else await saver.save(choice);
          }}
        />
      )}
      {dialog === "run" && (
        <RunDialog
          onClose={() => setDialog(null)}
          onRun={(inputs) => {
            setDialog(null);
            void runner.start(inputs);
            // The run panel takes room from the canvas: keep the whole graph in view, unless the
            // view follows the running nodes.
            if (!store.getState().followRun) setTimeout(() => flow.fitView({ padding: 0.08, maxZoom: 1, duration: 200 }), 50);
          }}
        />
      )}
    </div>
    </RunFromProvider>
  );
}

export function Editor({ initial, saved, models, planFirst }: { initial: WorkflowDocument; saved?: { id: string; version: number }; models: ModelOption[]; planFirst?: boolean }) {
  return (
    <EditorProvider initial={initial} saved={saved} models={models}>
      <ReactFlowProvider>
        <EditorLayout planFirst={planFirst} />
      </ReactFlowProvider>
    </EditorProvider>
  );
}
