import "server-only";
import { z } from "zod";
import type { ValidationIssue } from "@/lib/workflow";
import { getDatabase } from "./db";
import { createWorkflow, getWorkflowById, listVersions, listWorkflows, saveVersion } from "./db/queries";
import { ensureIdentity, readIdentity } from "./identity";

/** Results at the edge: `{ ok: true, data }` or `{ ok: false, error: { code, message } }`. */
export type ActionResult<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string; issues?: ValidationIssue[]; latestVersion?: number } };

export const SaveRequest = z.strictObject({
  id: z.string().uuid().optional(),
  baseVersion: z.number().int().min(1).optional(),
  document: z.unknown(),
  /** "mine": save on top of whatever is latest; "copy": save as a new workflow. */
  resolve: z.enum(["mine", "copy"]).optional(),
});

export async function saveWorkflow(raw: unknown): Promise<ActionResult<{ id: string; version: number }>> {
  const request = SaveRequest.safeParse(raw);
  if (!request.success) return { ok: false, error: { code: "invalid-request", message: request.error.issues[0]?.message ?? "invalid request" } };
  const owner = await ensureIdentity();
  const { db } = await getDatabase();
  const { id, document, resolve } = request.data;
  let result;
  if (!id || resolve === "copy") {
    const copy = resolve === "copy" && document && typeof document === "object" ? { ...(document as Record<string, unknown>), name: `${String((document as { name?: unknown }).name ?? "Workflow")} (copy)` } : document;
    result = await createWorkflow(db, { owner, document: copy });
  } else {
    let baseVersion = request.data.baseVersion ?? 0;
    if (resolve === "mine") baseVersion = (await getWorkflowById(db, { owner, id }))?.latestVersion ?? baseVersion;
    result = await saveVersion(db, { owner, id, document, baseVersion });
  }
  if (result.ok) return { ok: true, data: { id: result.id, version: result.version } };
  if (result.code === "conflict") {
    return { ok: false, error: { code: "conflict", message: `version ${result.latestVersion} was saved since you opened version ${request.data.baseVersion}`, latestVersion: result.latestVersion } };
  }
  if (result.code === "invalid-document") return { ok: false, error: { code: "invalid-document", message: "the workflow is not valid", issues: result.issues } };
  return { ok: false, error: { code: "not-found", message: "this workflow does not exist or is not yours" } };
}

/** The latest saved version for the caller, or null (not found and not theirs look the same). */
export async function loadWorkflow(id: string) {
  const owner = await readIdentity();
  if (!owner || !z.string().uuid().safeParse(id).success) return null;
  const { db } = await getDatabase();
  return getWorkflowById(db, { owner, id });
}

export async function myWorkflows() {
  const owner = await readIdentity();
  if (!owner) return [];
  const { db } = await getDatabase();
  return listWorkflows(db, { owner });
}

/** Version history of the caller's workflow, newest first; null when it is not theirs. */
export async function workflowHistory(id: string) {
  const owner = await readIdentity();
  if (!owner || !z.string().uuid().safeParse(id).success) return null;
  const { db } = await getDatabase();
  return listVersions(db, { owner, id });
}

/** One stored version of the caller's workflow, read-only. */
export async function workflowVersion(id: string, version: number) {
  const owner = await readIdentity();
  if (!owner || !z.string().uuid().safeParse(id).success || !Number.isInteger(version) || version < 1) return null;
  const { db } = await getDatabase();
  return getWorkflowById(db, { owner, id, version });
}
