"use server";

import type { RunEvent } from "@/lib/workflow";
import { cancelRun, startRun } from "@/lib/server/runs";
import { loadWorkflow, saveWorkflow, workflowHistory, workflowVersion, type ActionResult } from "@/lib/server/workflows";

/** Runs the document as sent from the editor and streams its events to the client. */
export async function runWorkflowAction(request: { runId: string; document: unknown; inputs: Record<string, string | number | boolean> }): Promise<AsyncIterable<RunEvent>> {
  return startRun(request);
}

export async function cancelRunAction(runId: string): Promise<boolean> {
  return cancelRun(runId);
}

export async function saveWorkflowAction(request: { id?: string; baseVersion?: number; document: unknown; resolve?: "mine" | "copy" }): Promise<ActionResult<{ id: string; version: number }>> {
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
