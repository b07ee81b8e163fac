import "server-only";
import { z } from "zod";
import type { ValidationIssue } from "@/lib/workflow";
import { readServerConfig } from "./config";
import { getDatabase, PROCESS_ID } from "./db";
import { DatabaseUnavailableError, databaseErrorMessage, isDatabaseUnavailable } from "./db/errors";
import {
  copyName,
  createWorkflow,
  deleteWorkflow as deleteStoredWorkflow,
  duplicateWorkflow as duplicateStoredWorkflow,
  getRunRecord,
  getWorkflowById,
  latestRunOfVersion,
  listRuns,
  listVersions,
  listWorkflows,
  renameWorkflow as renameStoredWorkflow,
  saveVersion,
  type SaveResult,
} from "./db/queries";
import { ensureIdentity, readIdentity, SignInRequiredError } from "./identity";
import type { RunContext } from "./runs";

/** Results at the edge: `{ ok: true, data }` or `{ ok: false, error: { code, message } }`. */
export type ActionResult<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string; issues?: ValidationIssue[]; latestVersion?: number } };

export const SaveRequest = z.strictObject({
  id: z.string().uuid().optional(),
  baseVersion: z.number().int().min(1).optional(),
  document: z.unknown(),
  /** "mine": save on top of whatever is latest; "copy": save as a new workflow. */
  resolve: z.enum(["mine", "copy"]).optional(),
  /** The id a new workflow gets, chosen by the editor: a retried first save finds it instead of creating a second workflow. */
  newId: z.string().uuid().optional(),
});

/**
 * A change while the database is unreachable answers with a typed error the editor shows (its
 * local draft stays) instead of a bare 500. The change was rolled back; were it committed just
 * before the connection broke, a retried version save answers `conflict`, never a second version.
 */
export async function whileAvailable<R extends { ok: boolean }>(change: () => Promise<R>, what = "a change"): Promise<R | { ok: false; error: { code: string; message: string } }> {
  try {
    return await change();
  } catch (error) {
    // Team mode: a change needs a signed-in account (the editor says so and keeps its draft).
    if (error instanceof SignInRequiredError) return { ok: false, error: { code: error.code, message: error.message } };
    if (!isDatabaseUnavailable(error)) throw error;
    console.error(`trellis: ${what} was refused, the database is unavailable:`, databaseErrorMessage(error));
    return { ok: false, error: { code: "database-unavailable", message: new DatabaseUnavailableError(error).message } };
  }
}

export function saveWorkflow(raw: unknown): Promise<ActionResult<{ id: string; version: number }>> {
  return whileAvailable(() => save(raw));
}

async function save(raw: unknown): Promise<ActionResult<{ id: string; version: number }>> {
  const request = SaveRequest.safeParse(raw);
  if (!request.success) return { ok: false, error: { code: "invalid-request", message: request.error.issues[0]?.message ?? "invalid request" } };
  const owner = await ensureIdentity();
  const { db } = await getDatabase();
  const { id, document, resolve } = request.data;
  let result;
  if (!id || resolve === "copy") {
    const copy = resolve === "copy" && document && typeof document === "object" ? { ...(document as Record<string, unknown>), name: copyName(String((document as { name?: unknown }).name ?? "Workflow")) } : document;
    result = await createWorkflow(db, { owner, document: copy, id: request.data.newId });
  } else {
    let baseVersion = request.data.baseVersion ?? 0;
    if (resolve === "mine") baseVersion = (await getWorkflowById(db, { owner, id }))?.latestVersion ?? baseVersion;
    result = await saveVersion(db, { owner, id, document, baseVersion });
  }
  return saveResult(result, request.data.baseVersion);
}

const NOT_YOURS = { code: "not-found", message: "this workflow does not exist or is not yours" } as const;

function saveResult(result: SaveResult, baseVersion?: number): ActionResult<{ id: string; version: number }> {
  if (result.ok) return { ok: true, data: { id: result.id, version: result.version } };
  if (result.code === "conflict") {
    return { ok: false, error: { code: "conflict", message: `version ${result.latestVersion} was saved since you opened version ${baseVersion}`, latestVersion: result.latestVersion } };
  }
  if (result.code === "invalid-document") return { ok: false, error: { code: "invalid-document", message: "the workflow is not valid", issues: result.issues } };
  return { ok: false, error: NOT_YOURS };
}

const Id = z.string().uuid();

/** The answer to a request its schema refuses: what is wrong, and where. */
export const invalid = (error: z.ZodError) =>
  ({ ok: false, error: { code: "invalid-request", message: `${error.issues[0]?.path.join(".") || "request"}: ${error.issues[0]?.message ?? "invalid request"}` } }) as const;

/** The caller's identity and database, for the run service; DatabaseUnavailableError when the database cannot be reached. */
export async function runContext(): Promise<RunContext> {
  const owner = await ensureIdentity();
  const { db } = await getDatabase().catch((error: unknown) => {
    throw isDatabaseUnavailable(error) ? new DatabaseUnavailableError(error) : error;
  });
  return { owner, db, processId: PROCESS_ID };
}

export const RenameRequest = z.strictObject({ id: Id, name: z.string().trim().min(1, "a name cannot be empty").max(120, "a name has at most 120 characters") });

/** Renames one of the caller's workflows (a new version with the new name). */
export function renameWorkflow(raw: unknown): Promise<ActionResult<{ id: string; version: number }>> {
  return whileAvailable(async () => {
    const request = RenameRequest.safeParse(raw);
    if (!request.success) return invalid(request.error);
    const owner = await readIdentity();
    if (!owner) return { ok: false, error: NOT_YOURS };
    const { db } = await getDatabase();
    return saveResult(await renameStoredWorkflow(db, { owner, ...request.data }));
  });
}

export function duplicateWorkflow(raw: unknown): Promise<ActionResult<{ id: string; version: number }>> {
  return whileAvailable(async () => {
    const request = z.strictObject({ id: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const owner = await readIdentity();
    if (!owner) return { ok: false, error: NOT_YOURS };
    const { db } = await getDatabase();
    return saveResult(await duplicateStoredWorkflow(db, { owner, id: request.data.id }));
  });
}

/** Deletes one of the caller's workflows with its versions, runs and share links. */
export function deleteWorkflow(raw: unknown): Promise<ActionResult<{ id: string }>> {
  return whileAvailable(async () => {
    const request = z.strictObject({ id: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const owner = await readIdentity();
    const { db } = await getDatabase();
    if (!owner || !(await deleteStoredWorkflow(db, { owner, id: request.data.id }))) return { ok: false, error: NOT_YOURS };
    return { ok: true, data: { id: request.data.id } };
  });
}

/** The caller's runs of one of their workflows, newest first; null when it is not theirs. */
export async function workflowRuns(id: string) {
  const owner = await readIdentity();
  if (!owner || !Id.safeParse(id).success) return null;
  const { db } = await getDatabase();
  return listRuns(db, { owner, workflowId: id });
}

let replayPageEvents: number | undefined;
/** How many events a replay comes with, and each further page holds (TRELLIS_REPLAY_PAGE_EVENTS, default 500). */
export const replayPage = () => (replayPageEvents ??= readServerConfig().replayPageEvents);

/** One of the caller's runs with its document and first page of events, for replay. */
export async function runRecord(runId: string) {
  const owner = await readIdentity();
  if (!owner || !Id.safeParse(runId).success) return null;
  const { db } = await getDatabase();
  return getRunRecord(db, { owner, runId, pageSize: replayPage() });
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

/** The caller's newest finished run of exactly one version of their workflow. */
export async function versionRun(id: string, version: number) {
  const owner = await readIdentity();
  if (!owner || !Id.safeParse(id).success) return null;
  const { db } = await getDatabase();
  return latestRunOfVersion(db, { owner, workflowId: id, version, pageSize: replayPage() });
}
