"use client";

import { ChevronDown, Download } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import type { WorkflowDocument } from "@/lib/workflow";
import { useEditorStore } from "../EditorProvider";

/** Downloads text as a file. */
function download(text: string, fileName: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = globalThis.document.createElement("a");
  link.href = url;
  link.download = fileName;
  globalThis.document.body.append(link);
  link.click();
  link.remove();
  // Revoking at once can cancel the download before the browser has read the blob.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Export as a runnable TypeScript program (AI SDK), or says why it cannot be. The exporter loads
 * on the first export: it is not part of the editor's first download.
 */
export async function downloadTypeScript(document: WorkflowDocument): Promise<string | null> {
  const { exportTypeScript } = await import("@/lib/workflow/export/typescript");
  const result = exportTypeScript(document);
  if (!result.ok) return result.message;
  download(result.code, result.fileName, "text/typescript");
  return null;
}

/** Export ▾: the document (JSON, what Import reads back) or a runnable TypeScript program. */
export function ExportMenu({ onJson }: { onJson: () => void }) {
  const store = useEditorStore();
  const [open, setOpen] = useState(false);
  const menu = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent) => {
      if (!menu.current?.contains(event.target as Node)) setOpen(false);
    };
    window.addEventListener("mousedown", close);
    return () => window.removeEventListener("mousedown", close);
  }, [open]);
  const item = "block w-full px-3 py-1.5 text-left text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800";
  return (
    <div className="relative flex items-center" ref={menu}>
      {/* A split button: Export downloads the document as before; the arrow offers the program too. */}
      <button
        type="button"
        aria-label="Export"
        title="Export the document (JSON)"
        data-testid="export"
        onClick={onJson}
        className="inline-flex h-8 items-center gap-1.5 rounded-l-md pl-2 pr-1 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
      >
        <Download className="h-4 w-4" />
        <span className="hidden xl:inline">Export</span>
      </button>
      <button
        type="button"
        aria-label="More export formats"
        aria-haspopup="menu"
        aria-expanded={open}
        title="Export as…"
        data-testid="export-menu"
        onClick={() => setOpen((o) => !o)}
        className="inline-flex h-8 items-center rounded-r-md px-1 text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
      >
        <ChevronDown className="h-3.5 w-3.5" />
      </button>
      {open && (
        <div role="menu" className="absolute right-0 top-9 z-30 w-64 rounded-md border border-zinc-200 bg-white py-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
          <button
            type="button"
            role="menuitem"
            data-testid="export-json"
            className={item}
            onClick={() => {
              setOpen(false);
              onJson();
            }}
          >
            Document (JSON)
            <span className="block text-xs text-zinc-500">the workflow, for Import and the CLI</span>
          </button>
          <button
            type="button"
            role="menuitem"
            data-testid="export-typescript"
            className={item}
            onClick={() => {
              setOpen(false);
              void downloadTypeScript(store.getState().document).then(
                (problem) => problem && store.getState().notify("error", problem),
                () => store.getState().notify("error", "the TypeScript exporter could not be loaded; check your connection and try again"),
              );
            }}
          >
            TypeScript program
            <span className="block text-xs text-zinc-500">runs with the AI SDK: npx tsx workflow.ts</span>
          </button>
        </div>
      )}
    </div>
  );
}
