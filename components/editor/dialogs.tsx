"use client";

import { X } from "lucide-react";
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { KINDS, parseDocumentText, type NodeKind, type ValidationIssue } from "@/lib/workflow";
import { useEditorStore } from "./EditorProvider";
import { KIND_UI, PALETTE_GROUPS, PATTERN_STYLE } from "./kind-ui";
import { useCanvasCenter } from "./Palette";

export function Dialog({ title, onClose, children, testId, wide }: { title: string; onClose: () => void; children: ReactNode; testId: string; wide?: boolean }) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="fixed inset-0 z-50 flex items-start justify-center bg-black/30 pt-[12vh]" onMouseDown={onClose}>
      <div
        role="dialog"
        aria-label={title}
        data-testid={testId}
        onMouseDown={(event) => event.stopPropagation()}
        className={`${wide ? "w-[640px]" : "w-[440px]"} max-h-[76vh] overflow-y-auto rounded-lg border border-zinc-200 bg-white p-4 shadow-xl dark:border-zinc-700 dark:bg-zinc-900`}
      >
        <div className="mb-3 flex items-center justify-between">
          <h2 className="text-sm font-semibold">{title}</h2>
          <button type="button" onClick={onClose} aria-label="Close" className="rounded p-1 text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800">
            <X className="h-4 w-4" />
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

export function IssueList({ issues, onPick }: { issues: ValidationIssue[]; onPick?: (issue: ValidationIssue) => void }) {
  return (
    <ul className="space-y-1 text-xs" data-testid="issue-list">
      {issues.map((found, i) => (
        <li key={`${found.path}-${i}`}>
          <button
            type="button"
            disabled={!onPick || !found.nodeId}
            onClick={() => onPick?.(found)}
            className="w-full rounded px-2 py-1 text-left hover:bg-zinc-100 disabled:cursor-default disabled:hover:bg-transparent dark:hover:bg-zinc-800"
          >
            <span className={found.severity === "error" ? "text-red-600 dark:text-red-400" : "text-amber-600 dark:text-amber-400"}>
              {found.severity === "error" ? "●" : "▲"}
            </span>{" "}
            <code className="text-zinc-500">{found.path || "document"}</code> <span>{found.message}</span>
          </button>
        </li>
      ))}
    </ul>
  );
}

/** Import from a file or a paste. A valid document replaces the canvas (undoable); an invalid one changes nothing. */
export function ImportDialog({ onClose }: { onClose: () => void }) {
  const store = useEditorStore();
  const [text, setText] = useState("");
  const [issues, setIssues] = useState<ValidationIssue[] | null>(null);
  const apply = (source: string) => {
    const parsed = parseDocumentText(source);
    if (!parsed.ok) {
      setIssues(parsed.issues);
      return;
    }
    store.getState().replaceDocument(parsed.document);
    store.getState().notify("info", `Imported “${parsed.document.name}”. Undo restores the previous canvas.`);
    onClose();
  };
  return (
    <Dialog title="Import a workflow" onClose={onClose} testId="import-dialog" wide>
      <label className="mb-3 block text-xs text-zinc-600 dark:text-zinc-400">
        From a file
        <input
          type="file"
          accept="application/json,.json"
          data-testid="import-file"
          className="mt-1 block w-full text-sm"
          onChange={async (event) => {
            const file = event.target.files?.[0];
            if (file) apply(await file.text());
          }}
        />
      </label>
      <label className="block text-xs text-zinc-600 dark:text-zinc-400">
        Or paste its JSON
        <textarea
          data-testid="import-text"
          value={text}
          onChange={(event) => setText(event.target.value)}
          rows={8}
          className="mt-1 w-full rounded-md border border-zinc-200 bg-white p-2 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-950"
          placeholder='{"format": "trellis.workflow", "version": 1, …}'
        />
      </label>
      {issues && (
        <div className="mt-3 rounded-md border border-red-200 bg-red-50 p-2 dark:border-red-900 dark:bg-red-950/40" data-testid="import-issues">
          <p className="mb-1 text-xs font-medium text-red-700 dark:text-red-300">
            Not imported: {issues.length} issue{issues.length === 1 ? "" : "s"}. The canvas is unchanged.
          </p>
          <IssueList issues={issues} />
        </div>
      )}
      <div className="mt-3 flex justify-end gap-2">
        <button type="button" onClick={onClose} className="h-8 rounded-md px-3 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">
          Cancel
        </button>
        <button type="button" data-testid="import-apply" disabled={!text.trim()} onClick={() => apply(text)} className="h-8 rounded-md bg-sky-600 px-3 text-sm font-medium text-white disabled:opacity-40">
          Import
        </button>
      </div>
    </Dialog>
  );
}

export const SHORTCUTS: Array<[string, string]> = [
  ["Ctrl/⌘ S", "Save a new version"],
  ["Ctrl/⌘ Enter", "Run"],
  ["Esc", "Cancel the run"],
  ["Ctrl/⌘ K", "Quick-add a node"],
  ["Ctrl/⌘ Z", "Undo"],
  ["Shift Ctrl/⌘ Z", "Redo"],
  ["Ctrl/⌘ C / V", "Copy / paste nodes (works across tabs and workflows)"],
  ["Ctrl/⌘ D", "Duplicate the selection"],
  ["Delete / Backspace", "Delete the selection and its edges"],
  ["Shift + drag", "Box select"],
  ["Ctrl/⌘ click", "Add to the selection"],
  ["?", "This sheet"],
];

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-dialog">
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1.5 text-sm">
        {SHORTCUTS.map(([keys, what]) => (
          <div key={keys} className="contents">
            <dt>
              <kbd className="rounded border border-zinc-300 bg-zinc-50 px-1.5 py-0.5 font-mono text-xs dark:border-zinc-600 dark:bg-zinc-800">{keys}</kbd>
            </dt>
            <dd className="text-zinc-600 dark:text-zinc-400">{what}</dd>
          </div>
        ))}
      </dl>
    </Dialog>
  );
}

/** Keyboard quick-add: type to filter, arrows to move, Enter to add at the canvas centre. */
export function QuickAddDialog({ onClose }: { onClose: () => void }) {
  const store = useEditorStore();
  const center = useCanvasCenter();
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  const options = useMemo(() => {
    const all = PALETTE_GROUPS.flatMap((g) => g.kinds);
    const q = query.trim().toLowerCase();
    return q ? all.filter((kind) => `${KINDS[kind].title} ${kind} ${KIND_UI[kind].blurb}`.toLowerCase().includes(q)) : all;
  }, [query]);
  const add = (kind: NodeKind | undefined) => {
    if (!kind) return;
    store.getState().addNode(kind, { center: center() });
    onClose();
  };
  return (
    <Dialog title="Add a node" onClose={onClose} testId="quick-add">
      <input
        ref={input}
        value={query}
        data-testid="quick-add-input"
        onChange={(event) => {
          setQuery(event.target.value);
          setActive(0);
        }}
        onKeyDown={(event) => {
          if (event.key === "ArrowDown") setActive((a) => Math.min(a + 1, options.length - 1));
          else if (event.key === "ArrowUp") setActive((a) => Math.max(a - 1, 0));
          else if (event.key === "Enter") add(options[active]);
          else return;
          event.preventDefault();
        }}
        placeholder="LLM, gate, router…"
        className="mb-2 h-9 w-full rounded-md border border-zinc-200 bg-white px-2 text-sm focus:border-sky-500 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950"
      />
      <ul role="listbox" className="space-y-0.5">
        {options.map((kind, i) => {
          const ui = KIND_UI[kind];
          const Icon = ui.icon;
          return (
            <li key={kind} role="option" aria-selected={i === active}>
              <button
                type="button"
                onMouseEnter={() => setActive(i)}
                onClick={() => add(kind)}
                className={`flex w-full items-center gap-2 rounded px-2 py-1.5 text-left text-sm ${i === active ? "bg-sky-50 dark:bg-sky-950/60" : ""}`}
              >
                <Icon className={`h-4 w-4 ${PATTERN_STYLE[ui.pattern].tint}`} aria-hidden />
                <span className="font-medium">{KINDS[kind].title}</span>
                <span className="truncate text-xs text-zinc-500">{ui.blurb}</span>
              </button>
            </li>
          );
        })}
        {!options.length && <li className="px-2 py-1.5 text-sm text-zinc-500">No node kind matches.</li>}
      </ul>
    </Dialog>
  );
}

/** Saving on top of a version that is no longer the latest: the person decides, nothing is overwritten silently. */
export function ConflictDialog({ onChoose, onClose }: { onChoose: (choice: "theirs" | "mine" | "copy") => void; onClose: () => void }) {
  const button = "block w-full rounded-md border border-zinc-200 px-3 py-2 text-left text-sm hover:border-sky-400 dark:border-zinc-700";
  return (
    <Dialog title="This workflow was saved elsewhere" onClose={onClose} testId="conflict-dialog">
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">A newer version was saved since you opened this one (another tab or device). What should happen to your changes?</p>
      <div className="space-y-2">
        <button type="button" className={button} data-testid="conflict-theirs" onClick={() => onChoose("theirs")}>
          <span className="font-medium">Reload theirs</span> — discard your changes and open the latest version
        </button>
        <button type="button" className={button} data-testid="conflict-mine" onClick={() => onChoose("mine")}>
          <span className="font-medium">Save mine as a new version</span> — theirs stays in the history
        </button>
        <button type="button" className={button} data-testid="conflict-copy" onClick={() => onChoose("copy")}>
          <span className="font-medium">Save as a copy</span> — a separate workflow with your changes
        </button>
      </div>
    </Dialog>
  );
}
