"use client";

import { Copy, Link2 } from "lucide-react";
import Link from "next/link";
import { useCallback, useEffect, useState } from "react";
import { createShareAction, listRunsAction, shareLinksAction, shareRunAction, updateShareAction, type RunListItem, type ShareLinkInfo } from "@/app/editor/actions";
import { Dialog } from "./dialogs";
import { useEditor } from "./EditorProvider";

const absolute = (path: string) => `${globalThis.location.origin}${path}`;

/** A link in a read-only field with a copy button (the field stays selectable when the clipboard is not available). */
export function CopyField({ value, testId }: { value: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="flex items-center gap-1">
      <input readOnly value={value} data-testid={testId} onFocus={(e) => e.target.select()} className="h-7 min-w-0 flex-1 rounded border border-zinc-200 bg-zinc-50 px-2 font-mono text-[11px] dark:border-zinc-700 dark:bg-zinc-950" />
      <button
        type="button"
        aria-label="Copy the link"
        title="Copy the link"
        onClick={() =>
          void navigator.clipboard?.writeText(value).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
        className="inline-flex h-7 items-center gap-1 rounded px-2 text-xs text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
      >
        <Copy className="h-3.5 w-3.5" /> {copied ? "Copied" : "Copy"}
      </button>
    </div>
  );
}

/** Share links of the saved workflow: create one for the saved version, allow runs, revoke. */
export function ShareDialog({ onClose }: { onClose: () => void }) {
  const saved = useEditor((s) => s.saved);
  const dirty = useEditor((s) => !s.saved || s.saved.document !== s.document);
  const [links, setLinks] = useState<ShareLinkInfo[] | null>(null);
  const [allowRun, setAllowRun] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    if (saved) await shareLinksAction(saved.id).then((result) => (result.ok ? setLinks(result.data) : setError(result.error.message)));
  }, [saved]);
  useEffect(() => void refresh(), [refresh]);

  const act = async (request: Promise<{ ok: boolean; error?: { message: string } }>) => {
    const result = await request;
    if (!result.ok) setError(result.error?.message ?? "that did not work");
    await refresh();
  };

  if (!saved) return null;
  return (
    <Dialog title="Share" onClose={onClose} testId="share-dialog" wide>
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
        A link opens version {saved.version} read-only: the canvas, every node&apos;s settings and its latest run, replayed. Visitors can fork a copy of their own. Links never carry keys, server addresses or
        your identity.
      </p>
      {dirty && (
        <p className="mb-3 rounded-md bg-amber-50 px-2 py-1 text-xs text-amber-800 dark:bg-amber-950/40 dark:text-amber-200" data-testid="share-unsaved">
          Your unsaved changes are not part of version {saved.version}: save first to share them.
        </p>
      )}
      <div className="mb-4 flex items-center gap-3">
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={allowRun} onChange={(e) => setAllowRun(e.target.checked)} data-testid="share-allow-run" />
          Let visitors run it (the saved version only, rate-limited)
        </label>
        <div className="flex-1" />
        <button
          type="button"
          data-testid="share-create"
          onClick={() =>
            void act(
              createShareAction({ workflowId: saved.id, version: saved.version, allowRun }).then((result) => {
                if (result.ok) setCreated(result.data.id);
                return result;
              }),
            )
          }
          className="inline-flex h-8 items-center gap-1.5 rounded-md bg-sky-600 px-3 text-sm font-medium text-white hover:bg-sky-700"
        >
          <Link2 className="h-4 w-4" /> Create link to v{saved.version}
        </button>
      </div>
      {error && <p className="mb-2 text-sm text-red-600">{error}</p>}
      <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-zinc-500">Links</h3>
      {links?.length === 0 && <p className="text-sm text-zinc-500">No links yet.</p>}
      <ul className="space-y-2" data-testid="share-links">
        {links?.map((link) => (
          <li
            key={link.id}
            data-testid="share-link"
            data-revoked={Boolean(link.revokedAt) || undefined}
            className={`rounded-md border p-2 text-xs ${link.id === created ? "border-sky-400 dark:border-sky-600" : "border-zinc-200 dark:border-zinc-700"}`}
          >
            <div className="mb-1 flex items-center gap-2 text-zinc-500">
              <span className="font-medium text-zinc-700 dark:text-zinc-300">v{link.version}</span>
              <span>created {new Date(link.createdAt).toLocaleString()}</span>
              <div className="flex-1" />
              {link.revokedAt ? (
                <span className="text-red-600">revoked {new Date(link.revokedAt).toLocaleString()}</span>
              ) : (
                <>
                  <label className="flex items-center gap-1">
                    <input type="checkbox" checked={link.allowRun} onChange={(e) => void act(updateShareAction({ id: link.id, allowRun: e.target.checked }))} data-testid="share-link-allow-run" />
                    visitors can run
                  </label>
                  <button
                    type="button"
                    data-testid="share-revoke"
                    onClick={() => {
                      if (window.confirm("Revoke this link? Anyone who has it will see that it is no longer shared.")) void act(updateShareAction({ id: link.id, revoke: true }));
                    }}
                    className="rounded px-2 py-0.5 text-red-700 hover:bg-red-50 dark:text-red-300 dark:hover:bg-red-950"
                  >
                    Revoke
                  </button>
                </>
              )}
            </div>
            {!link.revokedAt && <CopyField value={absolute(`/s/${link.id}`)} testId={link.id === created ? "share-url-created" : "share-url"} />}
          </li>
        ))}
      </ul>
    </Dialog>
  );
}

const STATUS_TEXT: Record<string, string> = {
  running: "text-sky-700 dark:text-sky-300",
  succeeded: "text-emerald-700 dark:text-emerald-300",
  failed: "text-red-700 dark:text-red-300",
  cancelled: "text-amber-700 dark:text-amber-300",
  interrupted: "text-amber-700 dark:text-amber-300",
};

export const statusClass = (status: string) => STATUS_TEXT[status] ?? "text-zinc-500";

/** The saved workflow's runs, newest first; each opens its replay. */
export function RunsDialog({ onClose }: { onClose: () => void }) {
  const saved = useEditor((s) => s.saved);
  const [runs, setRuns] = useState<RunListItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (saved) void listRunsAction(saved.id).then((result) => (result.ok ? setRuns(result.data) : setError(result.error.message)));
  }, [saved]);
  if (!saved) return null;
  return (
    <Dialog title="Run history" onClose={onClose} testId="runs-dialog" wide>
      {error && <p className="text-sm text-red-600">{error}</p>}
      {runs?.length === 0 && <p className="text-sm text-zinc-500">No runs yet. Every run of this workflow is kept here, with everything it streamed.</p>}
      <ul className="divide-y divide-zinc-100 dark:divide-zinc-800" data-testid="runs-list">
        {runs?.map((run) => (
          <li key={run.id}>
            <Link href={`/w/${saved.id}/runs/${run.id}`} data-testid="runs-item" className="flex items-center gap-3 rounded px-2 py-2 text-sm hover:bg-zinc-50 dark:hover:bg-zinc-800/60">
              <span className={`w-20 font-medium ${statusClass(run.status)}`}>{run.status}</span>
              <span className="w-44 text-zinc-600 dark:text-zinc-400">{new Date(run.startedAt).toLocaleString()}</span>
              <span className="w-28 text-xs text-zinc-500">
                {run.version ? `v${run.version}` : "unsaved"}
                {run.edited ? " + edits" : ""}
              </span>
              <span className="w-16 text-right text-xs tabular-nums text-zinc-500">{run.ms !== null ? `${(run.ms / 1000).toFixed(1)} s` : ""}</span>
              <span className="w-20 text-right text-xs tabular-nums text-zinc-500">{run.tokens !== null ? `${run.tokens} tok` : ""}</span>
              <span className="ml-auto whitespace-nowrap text-xs text-sky-700 dark:text-sky-300">Replay →</span>
            </Link>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}

/** Gives a finished run its own link (`/r/<id>`) and shows it. */
export function ShareRunButton({ runId, inHeader }: { runId: string; inHeader?: boolean }) {
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="relative">
      <button
        type="button"
        data-testid="share-run"
        onClick={async () => {
          const result = await shareRunAction({ runId });
          if (result.ok && result.data.id) setUrl(absolute(`/r/${result.data.id}`));
          else setError(result.ok ? "This run could not be shared." : `This run was not recorded, so it cannot be shared (${result.error.message}).`);
        }}
        className={`inline-flex items-center gap-1 rounded text-sky-700 hover:bg-sky-50 dark:text-sky-300 dark:hover:bg-sky-950 ${inHeader ? "h-8 px-3 text-sm font-medium" : "px-2 py-0.5"}`}
      >
        <Link2 className={inHeader ? "h-4 w-4" : "h-3.5 w-3.5"} /> Share run
      </button>
      {(url || error) && (
        <div
          className={`absolute right-0 z-20 w-96 rounded-md border border-zinc-200 bg-white p-2 text-xs shadow-lg dark:border-zinc-700 dark:bg-zinc-900 ${inHeader ? "top-10" : "top-7"}`}
          data-testid="share-run-popover"
        >
          {url ? (
            <>
              <p className="mb-1 text-zinc-600 dark:text-zinc-400">Anyone with this link sees this run replayed on its canvas.</p>
              <CopyField value={url} testId="share-run-url" />
            </>
          ) : (
            <p className="text-red-600">{error}</p>
          )}
          <div className="mt-1 flex gap-3">
            <button type="button" onClick={() => (setUrl(null), setError(null))} className="text-zinc-500 hover:underline">
              Close
            </button>
            {url && (
              <button
                type="button"
                data-testid="unshare-run"
                onClick={async () => {
                  const result = await shareRunAction({ runId, unshare: true });
                  if (result.ok) setUrl(null);
                  else setError(result.error.message);
                }}
                className="text-red-700 hover:underline dark:text-red-300"
              >
                Stop sharing this run
              </button>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
