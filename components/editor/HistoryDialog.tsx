"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { listVersionsAction, loadVersionAction } from "@/app/editor/actions";
import { TemplatePreview } from "@/components/TemplatePreview";
import { KINDS, parseDocument, type WorkflowDocument } from "@/lib/workflow";
import { Dialog } from "./dialogs";
import { useEditor } from "./EditorProvider";

type Version = { version: number; summary: string; createdAt: string };

/** Version history: every saved version with its summary; open one read-only, restore it as the latest. */
export function HistoryDialog({ onClose, onRestore }: { onClose: () => void; onRestore: (document: WorkflowDocument) => void }) {
  const saved = useEditor((s) => s.saved);
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [open, setOpen] = useState<{ version: number; document: WorkflowDocument } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!saved) return;
    void listVersionsAction(saved.id).then((result) => (result.ok ? setVersions(result.data) : setError(result.error.message)));
  }, [saved]);

  const show = async (version: number) => {
    if (!saved) return;
    const result = await loadVersionAction(saved.id, version);
    const parsed = result.ok ? parseDocument(result.data.document) : null;
    if (parsed?.ok && result.ok) setOpen({ version: result.data.version, document: parsed.document });
    else setError("That version could not be opened.");
  };

  return (
    <Dialog title="Version history" onClose={onClose} testId="history-dialog" wide>
      {!saved && <p className="text-sm text-zinc-500">Save this workflow to start its history.</p>}
      {error && <p className="text-sm text-red-600">{error}</p>}
      <div className="flex gap-4">
        <ul className="w-56 shrink-0 space-y-1" data-testid="history-list">
          {versions?.map((v) => (
            <li key={v.version}>
              <button
                type="button"
                data-testid={`history-v${v.version}`}
                onClick={() => void show(v.version)}
                className={`w-full rounded-md px-2 py-1.5 text-left text-sm ${open?.version === v.version ? "bg-sky-50 dark:bg-sky-950" : "hover:bg-zinc-100 dark:hover:bg-zinc-800"}`}
              >
                <span className="font-medium">v{v.version}</span>
                {v.version === saved?.version && <span className="ml-1 text-xs text-emerald-600">latest</span>}
                <span className="block text-[11px] text-zinc-500">{new Date(v.createdAt).toLocaleString()}</span>
                <span className="block text-[11px] text-zinc-600 dark:text-zinc-400">{v.summary}</span>
              </button>
            </li>
          ))}
        </ul>
        <div className="min-w-0 flex-1" data-testid="history-preview">
          {open ? (
            <>
              <h3 className="text-sm font-medium">
                {open.document.name} <span className="font-normal text-zinc-500">· v{open.version}, read-only</span>
              </h3>
              <TemplatePreview document={open.document} />
              <ul className="mb-3 max-h-40 overflow-y-auto text-xs text-zinc-600 dark:text-zinc-400">
                {open.document.nodes.map((node) => (
                  <li key={node.id}>
                    {KINDS[node.kind].title}: {node.label}
                  </li>
                ))}
              </ul>
              <div className="flex items-center gap-2">
                {open.version !== saved?.version && (
                  <button type="button" data-testid="history-restore" onClick={() => onRestore(open.document)} className="h-8 rounded-md bg-sky-600 px-3 text-sm font-medium text-white">
                    Restore as the latest version
                  </button>
                )}
                {saved && (
                  <Link href={`/w/${saved.id}/v/${open.version}`} data-testid="history-open" className="inline-flex h-8 items-center rounded-md px-3 text-sm text-sky-700 hover:bg-sky-50 dark:text-sky-300 dark:hover:bg-sky-950">
                    Open read-only in the editor
                  </Link>
                )}
              </div>
            </>
          ) : (
            <p className="text-sm text-zinc-500">Pick a version to see it.</p>
          )}
        </div>
      </div>
    </Dialog>
  );
}
