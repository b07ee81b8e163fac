"use client";

import { Copy, Pencil, Trash2 } from "lucide-react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type ReactNode } from "react";
import { deleteWorkflowAction, duplicateWorkflowAction, renameWorkflowAction } from "@/app/actions";
import { statusClass } from "@/components/editor/SharingDialogs";

export type WorkflowRow = { id: string; name: string; latestVersion: number; updatedAt: string; lastRunStatus: string | null };

function RowButton({ label, onClick, children, testId }: { label: string; onClick: () => void; children: ReactNode; testId: string }) {
  return (
    <button type="button" aria-label={label} title={label} data-testid={testId} onClick={onClick} className="rounded p-1.5 text-zinc-500 hover:bg-zinc-100 hover:text-zinc-800 dark:hover:bg-zinc-800 dark:hover:text-zinc-200">
      {children}
    </button>
  );
}

function Row({ workflow, onError }: { workflow: WorkflowRow; onError: (message: string) => void }) {
  const router = useRouter();
  const [mode, setMode] = useState<"view" | "rename" | "delete">("view");
  const [name, setName] = useState(workflow.name);
  const done = (result: { ok: boolean; error?: { message: string } }) => {
    if (!result.ok) onError(result.error?.message ?? "that did not work");
    setMode("view");
    router.refresh();
  };
  const rename = async () => {
    if (name.trim() === workflow.name) return setMode("view");
    done(await renameWorkflowAction({ id: workflow.id, name }));
  };
  return (
    <li className="flex items-center gap-3 px-4 py-2.5" data-testid="my-workflow" data-name={workflow.name}>
      {mode === "rename" ? (
        <form
          className="flex flex-1 items-center gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            void rename();
          }}
        >
          <input
            autoFocus
            aria-label="New name"
            data-testid="rename-input"
            value={name}
            maxLength={120}
            onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => e.key === "Escape" && (setName(workflow.name), setMode("view"))}
            className="h-8 flex-1 rounded-md border border-sky-500 bg-transparent px-2 text-sm focus:outline-none"
          />
          <button type="submit" data-testid="rename-save" className="h-8 rounded-md bg-sky-600 px-3 text-sm font-medium text-white">
            Rename
          </button>
          <button type="button" onClick={() => (setName(workflow.name), setMode("view"))} className="h-8 rounded-md px-2 text-sm text-zinc-600 hover:bg-zinc-100 dark:hover:bg-zinc-800">
            Cancel
          </button>
        </form>
      ) : mode === "delete" ? (
        <div className="flex flex-1 items-center gap-2 text-sm" role="alert" data-testid="delete-confirm">
          <span className="flex-1">
            Delete <strong>{workflow.name}</strong> with its {workflow.latestVersion} version{workflow.latestVersion === 1 ? "" : "s"}, runs and share links? This cannot be undone.
          </span>
          <button type="button" data-testid="delete-yes" onClick={async () => done(await deleteWorkflowAction({ id: workflow.id }))} className="h-8 rounded-md bg-red-600 px-3 font-medium text-white hover:bg-red-700">
            Delete
          </button>
          <button type="button" data-testid="delete-no" onClick={() => setMode("view")} className="h-8 rounded-md px-2 text-zinc-600 hover:bg-zinc-100 dark:hover:bg-zinc-800">
            Keep
          </button>
        </div>
      ) : (
        <>
          <Link href={`/w/${workflow.id}`} className="min-w-0 flex-1 truncate font-medium hover:underline" data-testid="my-workflow-link">
            {workflow.name}
          </Link>
          <span className={`w-24 text-xs ${workflow.lastRunStatus ? statusClass(workflow.lastRunStatus) : "text-zinc-400"}`} data-testid="last-run">
            {workflow.lastRunStatus ? `● ${workflow.lastRunStatus}` : "never run"}
          </span>
          <span className="w-56 text-right text-xs text-zinc-500">
            v{workflow.latestVersion} · updated {new Date(workflow.updatedAt).toLocaleString()}
          </span>
          <span className="flex">
            <RowButton label={`Rename ${workflow.name}`} testId="rename" onClick={() => setMode("rename")}>
              <Pencil className="h-4 w-4" />
            </RowButton>
            <RowButton label={`Duplicate ${workflow.name}`} testId="duplicate" onClick={async () => done(await duplicateWorkflowAction({ id: workflow.id }))}>
              <Copy className="h-4 w-4" />
            </RowButton>
            <RowButton label={`Delete ${workflow.name}`} testId="delete" onClick={() => setMode("delete")}>
              <Trash2 className="h-4 w-4" />
            </RowButton>
          </span>
        </>
      )}
    </li>
  );
}

/** The person's workflows on the landing page: open, rename, duplicate, delete (which asks first). */
export function MyWorkflows({ workflows }: { workflows: WorkflowRow[] }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      {error && (
        <p role="alert" className="mb-2 text-sm text-red-600">
          {error}
        </p>
      )}
      <ul className="divide-y divide-zinc-200 rounded-lg border border-zinc-200 bg-white dark:divide-zinc-800 dark:border-zinc-800 dark:bg-zinc-900" data-testid="my-workflows">
        {workflows.map((workflow) => (
          <Row key={workflow.id} workflow={workflow} onError={setError} />
        ))}
      </ul>
    </>
  );
}
