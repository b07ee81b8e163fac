import "server-only";
import { randomUUID } from "node:crypto";
import { and, asc, desc, eq, gt, inArray, isNull, ne, notInArray, or, sql } from "drizzle-orm";
import { DatasetSchema, type Dataset, type EvalStatus, type EvalSummary, type RowResult } from "@/lib/workflow/eval/types";
import type { Db } from "./connect";
import { isStoredVersion, newShareId } from "./queries";
import { evalDatasets, evalDatasetVersions, evalResults, evalShareLinks, evaluations, processes, runs, workflowVersions, workflows } from "./schema";
import { normaliseJson } from "./text";

/**
 * Evaluations in the database (issue 15): datasets and their versions, evaluation runs, their
 * per-row results and their share links. Like `queries.ts`: verb-named functions taking one
 * object; everything owned is read or written only by its owner, anyone else gets `null` /
 * `not-found`. A dataset is parsed with the shared contract's schema before it is stored.
 */

export type DatasetSaveResult =
  | { ok: true; id: string; version: number }
  | { ok: false; code: "not-found" }
  | { ok: false; code: "invalid-dataset"; message: string }
  | { ok: false; code: "conflict"; latestVersion: number };

function parsedDataset(dataset: unknown): { ok: true; dataset: Dataset } | { ok: false; code: "invalid-dataset"; message: string } {
  const result = DatasetSchema.safeParse(normaliseJson(dataset));
  if (result.success) return { ok: true, dataset: result.data };
  const issue = result.error.issues[0];
  return { ok: false, code: "invalid-dataset", message: `${issue?.path.join(".") || "dataset"}: ${issue?.message ?? "not valid"}` };
}

async function ownsWorkflow(db: Db, { owner, workflowId }: { owner: string; workflowId: string }): Promise<boolean> {
  const [row] = await db.select({ id: workflows.id }).from(workflows).where(and(eq(workflows.id, workflowId), eq(workflows.owner, owner)));
  return Boolean(row);
}

/** A new dataset (version 1) of one of the owner's workflows. */
export async function createDataset(db: Db, { owner, workflowId, dataset, id = randomUUID() }: { owner: string; workflowId: string; dataset: unknown; id?: string }): Promise<DatasetSaveResult> {
  const parsed = parsedDataset(dataset);
  if (!parsed.ok) return parsed;
  if (!(await ownsWorkflow(db, { owner, workflowId }))) return { ok: false, code: "not-found" };
  await db.transaction(async (tx) => {
    await tx.insert(evalDatasets).values({ id, owner, workflowId, name: parsed.dataset.name, latestVersion: 1 });
    await tx.insert(evalDatasetVersions).values({ datasetId: id, version: 1, dataset: parsed.dataset, rowCount: parsed.dataset.rows.length });
  });
  return { ok: true, id, version: 1 };
}

/**
 * Saves a dataset as a new version on top of `baseVersion`, whole or not at all; on top of a
 * version that is no longer the latest it is a conflict, never a silent overwrite.
 */
export async function saveDatasetVersion(db: Db, { owner, id, dataset, baseVersion }: { owner: string; id: string; dataset: unknown; baseVersion: number }): Promise<DatasetSaveResult> {
  const parsed = parsedDataset(dataset);
  if (!parsed.ok) return parsed;
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(evalDatasets).where(and(eq(evalDatasets.id, id), eq(evalDatasets.owner, owner))).for("update");
    if (!current) return { ok: false, code: "not-found" } as const;
    if (current.latestVersion !== baseVersion) return { ok: false, code: "conflict", latestVersion: current.latestVersion } as const;
    const version = current.latestVersion + 1;
    await tx.insert(evalDatasetVersions).values({ datasetId: id, version, dataset: parsed.dataset, rowCount: parsed.dataset.rows.length });
    await tx.update(evalDatasets).set({ latestVersion: version, name: parsed.dataset.name, updatedAt: new Date() }).where(eq(evalDatasets.id, id));
    return { ok: true, id, version } as const;
  });
}

export type DatasetListItem = { id: string; name: string; latestVersion: number; rows: number; updatedAt: Date };

/** The datasets of one of the owner's workflows, newest first; null when the workflow is not theirs. */
export async function listDatasets(db: Db, { owner, workflowId }: { owner: string; workflowId: string }): Promise<DatasetListItem[] | null> {
  if (!(await ownsWorkflow(db, { owner, workflowId }))) return null;
  return db
    .select({ id: evalDatasets.id, name: evalDatasets.name, latestVersion: evalDatasets.latestVersion, rows: evalDatasetVersions.rowCount, updatedAt: evalDatasets.updatedAt })
    .from(evalDatasets)
    .innerJoin(evalDatasetVersions, and(eq(evalDatasetVersions.datasetId, evalDatasets.id), eq(evalDatasetVersions.version, evalDatasets.latestVersion)))
    .where(and(eq(evalDatasets.workflowId, workflowId), eq(evalDatasets.owner, owner)))
    .orderBy(desc(evalDatasets.updatedAt));
}

export type StoredDataset = { id: string; workflowId: string; version: number; latestVersion: number; dataset: Dataset; createdAt: Date };

/** One version (default: the latest) of one of the owner's datasets; null for anyone else or no such version. */
export async function getDataset(db: Db, { owner, id, version }: { owner: string; id: string; version?: number }): Promise<StoredDataset | null> {
  if (version !== undefined && !isStoredVersion(version)) return null;
  const [head] = await db.select().from(evalDatasets).where(and(eq(evalDatasets.id, id), eq(evalDatasets.owner, owner)));
  if (!head) return null;
  const [row] = await db
    .select()
    .from(evalDatasetVersions)
    .where(and(eq(evalDatasetVersions.datasetId, id), eq(evalDatasetVersions.version, version ?? head.latestVersion)));
  if (!row) return null;
  const parsed = DatasetSchema.safeParse(row.dataset);
  if (!parsed.success) throw new Error(`stored dataset ${id}@${row.version} no longer parses: ${parsed.error.issues[0]?.message}`);
  return { id, workflowId: head.workflowId, version: row.version, latestVersion: head.latestVersion, dataset: parsed.data, createdAt: row.createdAt };
}

export async function listDatasetVersions(db: Db, { owner, id }: { owner: string; id: string }) {
  const [head] = await db.select({ id: evalDatasets.id }).from(evalDatasets).where(and(eq(evalDatasets.id, id), eq(evalDatasets.owner, owner)));
  if (!head) return null;
  return db
    .select({ version: evalDatasetVersions.version, rows: evalDatasetVersions.rowCount, createdAt: evalDatasetVersions.createdAt })
    .from(evalDatasetVersions)
    .where(eq(evalDatasetVersions.datasetId, id))
    .orderBy(desc(evalDatasetVersions.version));
}

/** Deletes a dataset with every version and every evaluation over it. */
export async function deleteDataset(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const deleted = await db.delete(evalDatasets).where(and(eq(evalDatasets.id, id), eq(evalDatasets.owner, owner))).returning({ id: evalDatasets.id });
  return deleted.length > 0;
}

// ── Evaluation runs ─────────────────────────────────────────────────────────────

export type NewEvaluation = {
  id?: string;
  owner: string;
  workflowId: string;
  version: number;
  datasetId: string;
  datasetVersion: number;
  concurrency: number;
  processId: string;
};

/**
 * The record of an evaluation about to start (`queued`), once the owner's workflow version and
 * dataset version are both found; the dataset may belong to another of the owner's workflows.
 */
export async function createEvaluation(db: Db, evaluation: NewEvaluation): Promise<{ ok: true; id: string; total: number } | { ok: false; code: "not-found" }> {
  const { owner, workflowId, version, datasetId, datasetVersion } = evaluation;
  if (!isStoredVersion(version) || !isStoredVersion(datasetVersion)) return { ok: false, code: "not-found" };
  const [found] = await db
    .select({ rows: evalDatasetVersions.rowCount })
    .from(workflows)
    .innerJoin(workflowVersions, and(eq(workflowVersions.workflowId, workflows.id), eq(workflowVersions.version, version)))
    .innerJoin(evalDatasets, and(eq(evalDatasets.id, datasetId), eq(evalDatasets.owner, owner)))
    .innerJoin(evalDatasetVersions, and(eq(evalDatasetVersions.datasetId, evalDatasets.id), eq(evalDatasetVersions.version, datasetVersion)))
    .where(and(eq(workflows.id, workflowId), eq(workflows.owner, owner)));
  if (!found) return { ok: false, code: "not-found" };
  const id = evaluation.id ?? randomUUID();
  await db.insert(evaluations).values({ ...evaluation, id, status: "queued", total: found.rows });
  return { ok: true, id, total: found.rows };
}

const LIVE: EvalStatus[] = ["queued", "running"];

/** Moves an evaluation that is still queued or running to `status`; false once it has ended. */
export async function setEvaluationStatus(
  db: Db,
  { id, status, summary, error }: { id: string; status: EvalStatus; summary?: EvalSummary; error?: { code: string; message: string } | null },
): Promise<boolean> {
  const ended = status !== "queued" && status !== "running";
  const updated = await db
    .update(evaluations)
    .set({
      status,
      ...(summary ? { summary: normaliseJson(summary) } : {}),
      ...(error !== undefined ? { error } : {}),
      ...(ended ? { finishedAt: new Date() } : {}),
    })
    .where(and(eq(evaluations.id, id), inArray(evaluations.status, LIVE)))
    .returning({ id: evaluations.id });
  return updated.length > 0;
}

/** Stores one row's result (again: a retried write replaces it). */
/** What a row's checks spent (judges, embedding similarity), apart from its run's own tokens. */
export function checkUsageOf(result: RowResult): { inputTokens: number; outputTokens: number } {
  const usage = { inputTokens: 0, outputTokens: 0 };
  for (const verdict of result.verdicts) {
    usage.inputTokens += verdict.usage?.inputTokens ?? 0;
    usage.outputTokens += verdict.usage?.outputTokens ?? 0;
  }
  return usage;
}

/**
 * Stores a row's result. What its checks spent goes on its run record too (`check_usage`), so the
 * payer's daily token budget counts it with the run's own tokens.
 */
export async function recordEvalResult(db: Db, { evaluationId, result }: { evaluationId: string; result: RowResult }): Promise<void> {
  const values = {
    evaluationId,
    rowId: result.rowId,
    index: result.index,
    // Only a run that was recorded: a row refused before admission has an id but no run record.
    runId: result.runId ? sql`(SELECT ${runs.id} FROM ${runs} WHERE ${runs.id} = ${result.runId})` : null,
    status: result.status,
    pass: result.pass,
    outputs: normaliseJson(result.outputs),
    verdicts: normaliseJson(result.verdicts),
    usage: result.usage,
    latencyMs: Math.round(result.latencyMs),
    costUsd: result.costUsd,
  };
  await db
    .insert(evalResults)
    .values(values)
    .onConflictDoUpdate({ target: [evalResults.evaluationId, evalResults.rowId], set: { ...values, finishedAt: new Date() } });
  const checks = checkUsageOf(result);
  if (result.runId && (checks.inputTokens || checks.outputTokens)) await db.update(runs).set({ checkUsage: checks }).where(eq(runs.id, result.runId));
}

export type EvaluationRecord = {
  id: string;
  workflowId: string;
  workflowName: string;
  version: number;
  datasetId: string;
  datasetName: string;
  datasetVersion: number;
  status: EvalStatus;
  concurrency: number;
  total: number;
  summary: EvalSummary | null;
  error: { code: string; message: string } | null;
  createdAt: Date;
  finishedAt: Date | null;
};

const evaluationColumns = {
  id: evaluations.id,
  workflowId: evaluations.workflowId,
  workflowName: workflows.name,
  version: evaluations.version,
  datasetId: evaluations.datasetId,
  datasetName: evalDatasets.name,
  datasetVersion: evaluations.datasetVersion,
  status: evaluations.status,
  concurrency: evaluations.concurrency,
  total: evaluations.total,
  summary: evaluations.summary,
  error: evaluations.error,
  createdAt: evaluations.createdAt,
  finishedAt: evaluations.finishedAt,
};

const asRecord = (row: { status: string; summary: unknown; error: unknown } & Omit<EvaluationRecord, "status" | "summary" | "error">): EvaluationRecord => ({
  ...row,
  status: row.status as EvalStatus,
  summary: (row.summary as EvalSummary | null) ?? null,
  error: (row.error as EvaluationRecord["error"]) ?? null,
});

function selectEvaluations(db: Db) {
  return db
    .select(evaluationColumns)
    .from(evaluations)
    .innerJoin(workflows, eq(workflows.id, evaluations.workflowId))
    .innerJoin(evalDatasets, eq(evalDatasets.id, evaluations.datasetId));
}

/**
 * The owner's evaluations that concern one of their workflows — of it, or over one of its
 * datasets (another workflow evaluated on the same rows) — newest first; null when not theirs.
 */
export async function listEvaluations(db: Db, { owner, workflowId, limit = 100 }: { owner: string; workflowId: string; limit?: number }): Promise<EvaluationRecord[] | null> {
  if (!(await ownsWorkflow(db, { owner, workflowId }))) return null;
  const rows = await selectEvaluations(db)
    .where(and(eq(evaluations.owner, owner), or(eq(evaluations.workflowId, workflowId), eq(evalDatasets.workflowId, workflowId))))
    .orderBy(desc(evaluations.createdAt))
    .limit(limit);
  return rows.map(asRecord);
}

export type StoredRowResult = RowResult & { finishedAt: Date };

async function resultsOf(db: Db, evaluationId: string): Promise<StoredRowResult[]> {
  const rows = await db.select().from(evalResults).where(eq(evalResults.evaluationId, evaluationId)).orderBy(asc(evalResults.index));
  return rows.map((row) => ({
    rowId: row.rowId,
    index: row.index,
    runId: row.runId ?? "",
    status: row.status as RowResult["status"],
    pass: row.pass,
    outputs: row.outputs as RowResult["outputs"],
    verdicts: row.verdicts as RowResult["verdicts"],
    usage: row.usage as RowResult["usage"],
    latencyMs: row.latencyMs,
    costUsd: row.costUsd,
    finishedAt: row.finishedAt,
  }));
}

/** One of the owner's evaluations, without its rows; null for anyone else. */
export async function getEvaluation(db: Db, { owner, id }: { owner: string; id: string }): Promise<EvaluationRecord | null> {
  const [row] = await selectEvaluations(db).where(and(eq(evaluations.id, id), eq(evaluations.owner, owner)));
  return row ? asRecord(row) : null;
}

/** One of the owner's evaluations with its row results in dataset order; null for anyone else. */
export async function getEvaluationWithResults(db: Db, { owner, id }: { owner: string; id: string }) {
  const evaluation = await getEvaluation(db, { owner, id });
  return evaluation && { evaluation, results: await resultsOf(db, id) };
}

export type EvaluationCounts = { status: EvalStatus; total: number; done: number; passed: number; createdAt: Date; finishedAt: Date | null; now: Date };

/** How far one of the owner's evaluations got, counted from its stored results (so any process sharing the database answers the same). */
export async function evaluationCounts(db: Db, { owner, id }: { owner: string; id: string }): Promise<EvaluationCounts | null> {
  const [row] = await db
    .select({
      status: evaluations.status,
      total: evaluations.total,
      createdAt: evaluations.createdAt,
      finishedAt: evaluations.finishedAt,
      done: sql<number>`(SELECT count(*)::int FROM eval_results r WHERE r.evaluation_id = ${evaluations.id})`,
      passed: sql<number>`(SELECT count(*)::int FROM eval_results r WHERE r.evaluation_id = ${evaluations.id} AND r.pass)`,
      now: sql<string>`now()`,
    })
    .from(evaluations)
    .where(and(eq(evaluations.id, id), eq(evaluations.owner, owner)));
  if (!row) return null;
  return { ...row, status: row.status as EvalStatus, done: Number(row.done), passed: Number(row.passed), now: new Date(row.now) };
}

/** Deletes one of the owner's evaluations with its results (the rows' run records stay in the run history). */
export async function deleteEvaluation(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const deleted = await db.delete(evaluations).where(and(eq(evaluations.id, id), eq(evaluations.owner, owner))).returning({ id: evaluations.id });
  return deleted.length > 0;
}

/**
 * Evaluations left queued or running by a process that is gone become `interrupted`, keeping the
 * rows they finished — the same rule as `markInterruptedRuns` (0: every other process is gone,
 * right for PGlite; else processes silent for `staleAfterMs`).
 */
export async function markInterruptedEvaluations(db: Db, { processId, staleAfterMs = 0 }: { processId: string; staleAfterMs?: number }): Promise<number> {
  const alive = db
    .select({ id: processes.id })
    .from(processes)
    .where(gt(processes.heartbeatAt, sql`now() - make_interval(secs => ${staleAfterMs / 1000})`));
  const marked = await db
    .update(evaluations)
    .set({ status: "interrupted", finishedAt: new Date(), error: { code: "interrupted", message: "the server stopped while this evaluation was in progress; the rows it finished are kept" } })
    .where(and(inArray(evaluations.status, LIVE), ne(evaluations.processId, processId), staleAfterMs > 0 ? notInArray(evaluations.processId, alive) : undefined))
    .returning({ id: evaluations.id });
  return marked.length;
}

// ── Share links (`/e/<id>`) ─────────────────────────────────────────────────────

/** A read-only link to one of the owner's evaluations, or (with `afterId`) to a comparison of two of them. */
export async function createEvalShareLink(db: Db, { owner, evaluationId, afterId }: { owner: string; evaluationId: string; afterId?: string }): Promise<{ id: string } | null> {
  const ids = afterId ? [evaluationId, afterId] : [evaluationId];
  const mine = await db.select({ id: evaluations.id }).from(evaluations).where(and(inArray(evaluations.id, ids), eq(evaluations.owner, owner)));
  if (mine.length !== new Set(ids).size) return null;
  const id = newShareId();
  await db.insert(evalShareLinks).values({ id, owner, evaluationId, afterId: afterId ?? null });
  return { id };
}

export async function listEvalShareLinks(db: Db, { owner, evaluationId }: { owner: string; evaluationId: string }) {
  return db
    .select({ id: evalShareLinks.id, evaluationId: evalShareLinks.evaluationId, afterId: evalShareLinks.afterId, createdAt: evalShareLinks.createdAt, revokedAt: evalShareLinks.revokedAt })
    .from(evalShareLinks)
    .where(and(eq(evalShareLinks.owner, owner), or(eq(evalShareLinks.evaluationId, evaluationId), eq(evalShareLinks.afterId, evaluationId))))
    .orderBy(desc(evalShareLinks.createdAt));
}

export async function revokeEvalShareLink(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const revoked = await db
    .update(evalShareLinks)
    .set({ revokedAt: new Date() })
    .where(and(eq(evalShareLinks.id, id), eq(evalShareLinks.owner, owner), isNull(evalShareLinks.revokedAt)))
    .returning({ id: evalShareLinks.id });
  return revoked.length > 0;
}

export type SharedEvaluation = { evaluation: EvaluationRecord; results: StoredRowResult[] };

/** What an evaluation link opens, read-only and only while it is not revoked: one evaluation, or the two sides of a comparison. */
export async function getSharedEvaluations(
  db: Db,
  { id }: { id: string },
): Promise<{ status: "not-found" | "revoked" } | { status: "ok"; owner: string; before: SharedEvaluation; after: SharedEvaluation | null }> {
  const [link] = await db.select().from(evalShareLinks).where(eq(evalShareLinks.id, id));
  if (!link) return { status: "not-found" };
  if (link.revokedAt) return { status: "revoked" };
  const load = async (evaluationId: string): Promise<SharedEvaluation | null> => {
    const [row] = await selectEvaluations(db).where(eq(evaluations.id, evaluationId));
    return row ? { evaluation: asRecord(row), results: await resultsOf(db, evaluationId) } : null;
  };
  const before = await load(link.evaluationId);
  const after = link.afterId ? await load(link.afterId) : null;
  if (!before || (link.afterId && !after)) return { status: "not-found" };
  // The owner is for the server (reading the dataset the link grants); a visitor never receives it.
  return { status: "ok", owner: link.owner, before, after };
}
