"use server";

import { readIdentity } from "@/lib/server/identity";
import { previewRunFrom, storedRun, type RunFromPreview, type StoredRun } from "@/lib/server/reuse";
import { cancelRun } from "@/lib/server/runs";
import { createShare, shareLinksOf, shareRunLink, updateShare, type ShareLinkInfo } from "@/lib/server/sharing";
import { loadWorkflow, saveWorkflow, workflowHistory, workflowRuns, workflowVersion, type ActionResult } from "@/lib/server/workflows";

/** What Run from here would re-run and reuse, and what is stale, before it runs. */
export async function previewRunFromAction(request: { document: unknown; reuse: { runId: string; from: string[]; mode?: "all" | "failed-instances" } }): Promise<ActionResult<RunFromPreview>> {
  return previewRunFrom(request);
}

/** One of the caller's runs with its document and every event (Compare runs). */
export async function storedRunAction(runId: string): Promise<ActionResult<StoredRun>> {
  return storedRun(runId);
}

export async function cancelRunAction(runId: string): Promise<boolean> {
  return cancelRun(runId, await readIdentity());
}

export async function saveWorkflowAction(request: { id?: string; baseVersion?: number; document: unknown; resolve?: "mine" | "copy"; newId?: string }): Promise<ActionResult<{ id: string; version: number }>> {
  return saveWorkflow(request);
}

/** The latest saved version (for "reload theirs" after a conflict). */
export async function loadWorkflowAction(id: string): Promise<ActionResult<{ version: number; document: unknown }>> {
  const found = await loadWorkflow(id);
  return found ? { ok: true, data: { version: found.version, document: found.document } } : { ok: false, error: { code: "not-found", message: "this workflow does not exist or is not yours" } };
}

export async function listVersionsAction(id: string): Promise<ActionResult<Array<{ version: number; summary: string; createdAt: string }>>> {
  const versions = await workflowHistory(id);
  return versions
    ? { ok: true, data: versions.map((v) => ({ version: v.version, summary: v.summary, createdAt: v.createdAt.toISOString() })) }
    : { ok: false, error: { code: "not-found", message: "this workflow does not exist or is not yours" } };
}

export async function loadVersionAction(id: string, version: number): Promise<ActionResult<{ version: number; document: unknown }>> {
  const found = await workflowVersion(id, version);
  return found ? { ok: true, data: { version: found.version, document: found.document } } : { ok: false, error: { code: "not-found", message: "no such version" } };
}

export type { ShareLinkInfo, StoredRun, RunFromPreview };

export type RunListItem = { id: string; status: string; version: number | null; edited: boolean; source: string; startedAt: string; ms: number | null; tokens: number | null; sharedAs: string | null };

/** The run history of one of the caller's workflows. */
export async function listRunsAction(workflowId: string): Promise<ActionResult<RunListItem[]>> {
  const runs = await workflowRuns(workflowId);
  if (!runs) return { ok: false, error: { code: "not-found", message: "this workflow does not exist or is not yours" } };
  return {
    ok: true,
    data: runs.map((run) => {
      const usage = run.usage as { inputTokens?: number; outputTokens?: number } | null;
      return {
        id: run.id,
        status: run.status,
        version: run.version,
        edited: run.edited,
        source: run.source,
        startedAt: run.startedAt.toISOString(),
        ms: run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null,
        tokens: usage ? (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0) : null,
        sharedAs: run.sharedAs,
      };
    }),
  };
}

export async function shareLinksAction(workflowId: string): Promise<ActionResult<ShareLinkInfo[]>> {
  return shareLinksOf({ workflowId });
}

export async function createShareAction(request: { workflowId: string; version: number; allowRun: boolean }): Promise<ActionResult<{ id: string }>> {
  return createShare(request);
}

export async function updateShareAction(request: { id: string; allowRun?: boolean; revoke?: true }): Promise<ActionResult<{ id: string }>> {
  return updateShare(request);
}

export async function shareRunAction(request: { runId: string; unshare?: true }): Promise<ActionResult<{ id: string | null }>> {
  return shareRunLink(request);
}
