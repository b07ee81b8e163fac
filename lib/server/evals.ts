import "server-only";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { ValidationIssue, WorkflowDocument } from "@/lib/workflow";
import {
  assertionProblems,
  compareEvaluations,
  createModelJudge,
  createPortEmbedder,
  DatasetSchema,
  datasetToCsv,
  datasetToJsonl,
  DEFAULT_EMBEDDING_MODEL,
  DEFAULT_EVAL_CONCURRENCY,
  DEFAULT_PRICES,
  describeAssertion,
  evaluateDataset,
  EvalConfigError,
  loadPriceTable,
  MAX_DATASET_BYTES,
  MAX_EVAL_CONCURRENCY,
  parseDataset,
  rowRunFromEvents,
  summarise,
  type Assertion,
  type Dataset,
  type DatasetIssue,
  type DatasetRow,
  type EvalComparison,
  type EvalProgress,
  type EvalStatus,
  type EvalSummary,
  type PriceTable,
  type RowRun,
} from "@/lib/workflow/eval";
import { readServerConfig } from "./config";
import { getDatabase } from "./db";
import type { Db } from "./db/connect";
import { DatabaseUnavailableError, isDatabaseUnavailable } from "./db/errors";
import {
  createDataset,
  createEvalShareLink,
  createEvaluation,
  deleteDataset as deleteStoredDataset,
  evaluationCounts,
  getDataset,
  getEvaluation,
  getEvaluationWithResults,
  getSharedEvaluations,
  listDatasets,
  listEvalShareLinks,
  listEvaluations,
  recordEvalResult,
  revokeEvalShareLink,
  saveDatasetVersion,
  setEvaluationStatus,
  type DatasetSaveResult,
  type EvaluationRecord,
  type StoredRowResult,
} from "./db/eval-queries";
import { getWorkflowById, listVersions } from "./db/queries";
import { ensureIdentity, identityFromCookieHeader, readIdentity } from "./identity";
import { createModels, unconfiguredModels } from "./models";
import { cancelRun, startEvalRowRun, type RunContext } from "./runs";
import { whileAvailable } from "./workflows";
import { editorRunContext } from "./auth/run-context";

/**
 * Evaluations (issue 15): datasets of a workflow, evaluation runs in the background of this
 * process, their progress, cancel, results, comparisons and read-only links. Each row of an
 * evaluation is an ordinary run (`startEvalRowRun`): the same admission, limits, budgets and
 * records as a run from the editor. The scoring, summaries and comparisons are the pure core's
 * (`lib/workflow/eval`).
 */

export type EvalIssue = DatasetIssue;

/** `{ ok: true, data }` or an error with a code, and where it applies the rows, columns or assertion paths at fault. */
export type EvalActionResult<T> =
  | { ok: true; data: T }
  | { ok: false; error: { code: string; message: string; rows?: DatasetIssue[]; issues?: ValidationIssue[]; latestVersion?: number } };

const Id = z.string().uuid();
const ShareId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);
const Version = z.number().int().min(1).max(2_147_483_647);
const NOT_YOURS = { code: "not-found", message: "this does not exist or is not yours" } as const;
const notFound = { ok: false, error: NOT_YOURS } as const;

function invalid(error: z.ZodError) {
  const issue = error.issues[0];
  return { ok: false, error: { code: "invalid-request", message: `${issue?.path.join(".") || "request"}: ${issue?.message ?? "not valid"}` } } as const;
}

/** A change while the database is away answers with a typed error the page shows (nothing saved is lost), not a 500. */
function guarded<T>(action: () => Promise<EvalActionResult<T>>): Promise<EvalActionResult<T>> {
  return whileAvailable(action, "an evaluation request");
}

async function who(): Promise<{ owner: string | null; db: Db }> {
  const owner = await readIdentity();
  const { db } = await getDatabase();
  return { owner, db };
}

// ── Datasets ─────────────────────────────────────────────────────────────────

export type DatasetSummary = { id: string; name: string; latestVersion: number; rows: number; updatedAt: string };
export type DatasetView = { id: string; workflowId: string; version: number; latestVersion: number; dataset: Dataset };

export function datasetsOf(raw: unknown): Promise<EvalActionResult<DatasetSummary[]>> {
  return guarded(async () => {
    const request = z.strictObject({ workflowId: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    const list = owner ? await listDatasets(db, { owner, workflowId: request.data.workflowId }) : null;
    if (!list) return notFound;
    return { ok: true, data: list.map((d) => ({ ...d, updatedAt: d.updatedAt.toISOString() })) };
  });
}

export function datasetOf(raw: unknown): Promise<EvalActionResult<DatasetView>> {
  return guarded(async () => {
    const request = z.strictObject({ datasetId: Id, version: Version.optional() }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    const found = owner ? await getDataset(db, { owner, id: request.data.datasetId, version: request.data.version }) : null;
    if (!found) return notFound;
    return { ok: true, data: { id: found.id, workflowId: found.workflowId, version: found.version, latestVersion: found.latestVersion, dataset: found.dataset } };
  });
}

function saved(result: DatasetSaveResult): EvalActionResult<{ id: string; version: number }> {
  if (result.ok) return { ok: true, data: { id: result.id, version: result.version } };
  switch (result.code) {
    case "not-found":
      return notFound;
    case "invalid-dataset":
      return { ok: false, error: { code: "invalid-dataset", message: result.message } };
    case "conflict":
      return { ok: false, error: { code: "conflict", message: `this dataset was saved elsewhere meanwhile (now v${result.latestVersion}); reload it, then make your change again`, latestVersion: result.latestVersion } };
  }
}

/** Assertions must fit the workflow they check (keys it produces, fields, regexes…): refused with the path of each problem. */
function assertionIssues(dataset: Dataset, document: WorkflowDocument, canEmbed = embeddingsConfigured()): ValidationIssue[] {
  return [
    ...assertionProblems(dataset.assertions, document, { canEmbed }),
    ...dataset.rows.flatMap((row, i) => assertionProblems(row.assertions ?? [], document, { canEmbed, path: `rows[${i}].assertions` })),
  ].filter((issue) => issue.severity === "error");
}

/** The most rows an evaluation runs at once on this server: the runs one identity may have in progress. */
export const maxEvalConcurrency = () => Math.max(1, Math.min(MAX_EVAL_CONCURRENCY, readServerConfig().admission.maxRunsPerIdentity || MAX_EVAL_CONCURRENCY));

let canEmbed: boolean | undefined;
/** Whether this server's models can embed (for `similar` assertions with `method: "embedding"`). */
export const embeddingsConfigured = () => (canEmbed ??= Boolean(createModels().port.embed));

export const SaveDatasetRequest = z.strictObject({
  workflowId: Id,
  /** Absent: a new dataset. */
  datasetId: Id.optional(),
  baseVersion: Version.optional(),
  dataset: z.unknown(),
});

/** Saves a dataset (rows and assertions) whole, as a new version; nothing is stored when any of it is invalid. */
export function saveDataset(raw: unknown): Promise<EvalActionResult<{ id: string; version: number }>> {
  return guarded(async () => {
    const request = SaveDatasetRequest.safeParse(raw);
    if (!request.success) return invalid(request.error);
    const owner = await ensureIdentity();
    const { db } = await getDatabase();
    return storeDataset(db, owner, request.data);
  });
}

async function storeDataset(db: Db, owner: string, { workflowId, datasetId, baseVersion, dataset }: z.infer<typeof SaveDatasetRequest>): Promise<EvalActionResult<{ id: string; version: number }>> {
  const workflow = await getWorkflowById(db, { owner, id: workflowId });
  if (!workflow) return notFound;
  const parsed = DatasetSchema.safeParse(dataset);
  if (parsed.success) {
    const issues = assertionIssues(parsed.data, workflow.document);
    if (issues.length) return { ok: false, error: { code: "invalid-assertions", message: `${issues[0].path}: ${issues[0].message}`, issues } };
  }
  if (!datasetId) return saved(await createDataset(db, { owner, workflowId, dataset }));
  const current = await getDataset(db, { owner, id: datasetId });
  if (!current || current.workflowId !== workflowId) return notFound;
  return saved(await saveDatasetVersion(db, { owner, id: datasetId, dataset, baseVersion: baseVersion ?? 0 }));
}

export const ImportDatasetRequest = z.strictObject({
  workflowId: Id,
  /** Replace the rows of this dataset (its assertions stay) as a new version; absent: a new dataset. */
  datasetId: Id.optional(),
  baseVersion: Version.optional(),
  format: z.enum(["csv", "jsonl"]),
  name: z.string().trim().min(1).max(120),
  // Characters, not bytes: the core measures the bytes and refuses a file over MAX_DATASET_BYTES with a message.
  text: z.string().max(MAX_DATASET_BYTES + 1),
});

/**
 * Imports a CSV or JSONL file against the workflow's inputs: all or nothing. Any problem answers
 * `invalid-dataset` with every issue by row and column, and nothing is stored.
 */
export function importDataset(raw: unknown): Promise<EvalActionResult<{ id: string; version: number; rows: number; warnings: DatasetIssue[] }>> {
  return guarded(async () => {
    const request = ImportDatasetRequest.safeParse(raw);
    if (!request.success) {
      if (request.error.issues[0]?.path[0] === "text") return { ok: false, error: { code: "too-large", message: `the file is larger than ${MAX_DATASET_BYTES / 1_000_000} MB` } };
      return invalid(request.error);
    }
    const owner = await ensureIdentity();
    const { db } = await getDatabase();
    const { workflowId, datasetId, baseVersion, format, name, text } = request.data;
    const workflow = await getWorkflowById(db, { owner, id: workflowId });
    if (!workflow) return notFound;
    const parsed = parseDataset(text, { format, document: workflow.document, name, canEmbed: embeddingsConfigured() });
    if (!parsed.ok) {
      const count = parsed.issues.length;
      return { ok: false, error: { code: "invalid-dataset", message: `the file was not imported (${count} problem${count === 1 ? "" : "s"}): ${parsed.issues[0]?.message}`, rows: parsed.issues } };
    }
    let dataset = parsed.dataset;
    if (datasetId) {
      const current = await getDataset(db, { owner, id: datasetId });
      if (!current || current.workflowId !== workflowId) return notFound;
      dataset = { ...dataset, name: current.dataset.name, assertions: [...current.dataset.assertions, ...dataset.assertions.filter((a) => !current.dataset.assertions.some((b) => b.id === a.id))] };
    }
    const stored = await storeDataset(db, owner, { workflowId, datasetId, baseVersion, dataset });
    return stored.ok ? { ok: true, data: { ...stored.data, rows: dataset.rows.length, warnings: parsed.warnings } } : stored;
  });
}

export function exportDataset(raw: unknown): Promise<EvalActionResult<{ filename: string; text: string }>> {
  return guarded(async () => {
    const request = z.strictObject({ datasetId: Id, version: Version.optional(), format: z.enum(["csv", "jsonl"]) }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    const found = owner ? await getDataset(db, { owner, id: request.data.datasetId, version: request.data.version }) : null;
    if (!found || !owner) return notFound;
    const workflow = await getWorkflowById(db, { owner, id: found.workflowId });
    const text = request.data.format === "csv" ? datasetToCsv(found.dataset, workflow?.document) : datasetToJsonl(found.dataset);
    const base = found.dataset.name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-|-$/g, "") || "dataset";
    return { ok: true, data: { filename: `${base}.v${found.version}.${request.data.format}`, text } };
  });
}

export function deleteDataset(raw: unknown): Promise<EvalActionResult<{ id: string }>> {
  return guarded(async () => {
    const request = z.strictObject({ datasetId: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    return owner && (await deleteStoredDataset(db, { owner, id: request.data.datasetId })) ? { ok: true, data: { id: request.data.datasetId } } : notFound;
  });
}

// ── Running an evaluation ────────────────────────────────────────────────────

/** What an evaluation runs with: the caller's run context (owner, database, models, admission) and the price table. */
export type EvalContext = RunContext & { prices?: PriceTable };

type LiveEvaluation = { owner: string; controller: AbortController; progress: EvalProgress; stop?: { code: string; message: string }; done: Promise<void> };

// Route handlers and server actions are bundled apart: the live evaluations live on globalThis so both see them.
const REGISTRY = Symbol.for("trellis.liveEvaluations");
const live = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new Map<string, LiveEvaluation>()) as Map<string, LiveEvaluation>;

let prices: PriceTable | undefined;
/** The server's price table (TRELLIS_PRICES); a setting that does not parse is said once in the log and the defaults apply. */
function serverPrices(): PriceTable {
  if (prices) return prices;
  const loaded = loadPriceTable(readServerConfig().prices, (path) => readFileSync(path, "utf8"));
  if (!loaded.ok) console.error(`trellis: TRELLIS_PRICES: ${loaded.message}; evaluations use the default prices`);
  return (prices = loaded.ok ? loaded.prices : { ...DEFAULT_PRICES });
}

/** How often a running evaluation checks whether it was cancelled from another process. */
const CANCEL_CHECK_MS = 2_000;

/** Refusals a row waits out: the server or the identity has no room right now. */
const WAIT_CODES = new Set(["busy", "rate-limited"]);
const MAX_WAIT_MS = 2_000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A refusal that ends the whole evaluation (every later row would meet it too): the daily budget. */
class EvaluationStopped extends Error {
  constructor(readonly reason: { code: string; message: string }) {
    super(reason.message);
  }
}

/** The row's run, through the run service; refusals for lack of room are waited out under the same run id. */
function rowRunner(context: EvalContext, evaluation: { workflowId: string; version: number; document: WorkflowDocument }, stop: (reason: { code: string; message: string }) => void) {
  return async (row: DatasetRow, _index: number, signal: AbortSignal): Promise<RowRun> => {
    const runId = randomUUID();
    for (;;) {
      const events = startEvalRowRun({ runId, ...evaluation, inputs: row.inputs }, context);
      const cancel = () => void cancelRun(runId, context.owner);
      signal.addEventListener("abort", cancel, { once: true });
      let run: RowRun;
      try {
        run = await rowRunFromEvents(events, undefined, evaluation.document);
      } finally {
        signal.removeEventListener("abort", cancel);
      }
      const code = run.error?.code;
      if (run.status === "failed" && code && WAIT_CODES.has(code) && !signal.aborted) {
        await sleep(MAX_WAIT_MS, signal);
        if (!signal.aborted) continue;
        return { ...run, status: "cancelled" };
      }
      if (run.status === "failed" && code === "budget-exceeded") {
        stop({ code, message: run.error!.message });
        throw new EvaluationStopped({ code, message: run.error!.message });
      }
      return run;
    }
  };
}

export const StartEvaluationRequest = z.strictObject({
  workflowId: Id,
  version: Version,
  datasetId: Id,
  /** Default: the dataset's latest version. */
  datasetVersion: Version.optional(),
  concurrency: z.number().int().min(1).max(MAX_EVAL_CONCURRENCY).default(DEFAULT_EVAL_CONCURRENCY),
});

/**
 * Starts an evaluation of a saved version over a dataset and returns at once; it runs in the
 * background of this process. Its concurrency is capped by the runs one identity may have in
 * progress (TRELLIS_MAX_RUNS_PER_IDENTITY): more would only wait at admission.
 */
export async function launchEvaluation(
  context: EvalContext,
  raw: unknown,
): Promise<EvalActionResult<{ id: string; total: number; concurrency: number }> & { done?: Promise<void> }> {
  const request = StartEvaluationRequest.safeParse(raw);
  if (!request.success) return invalid(request.error);
  const { workflowId, version, datasetId } = request.data;
  const { db, owner } = context;
  const workflow = await getWorkflowById(db, { owner, id: workflowId, version });
  const stored = await getDataset(db, { owner, id: datasetId, version: request.data.datasetVersion });
  if (!workflow || !stored) return notFound;
  const { dataset } = stored;
  if (!dataset.rows.length) return { ok: false, error: { code: "empty-dataset", message: "this dataset has no rows: import or add some first" } };

  const models = context.models ?? createModels();
  // Every model it would call — the workflow's and the judges' — must be one this server has and allows.
  const missing = unconfiguredModels(workflow.document, models.registry);
  if (missing.length) return { ok: false, error: { code: missing[0].code, message: `${missing[0].message} (node "${missing[0].nodeId}")` } };
  const judgeDefault = workflow.document.settings?.defaultModel ?? "demo:default";
  const everyAssertion: Assertion[] = [...dataset.assertions, ...dataset.rows.flatMap((row) => row.assertions ?? [])];
  for (const assertion of everyAssertion) {
    const resolved =
      assertion.kind === "judge"
        ? models.registry.resolve(assertion.model ?? judgeDefault)
        : assertion.kind === "similar" && assertion.method === "embedding"
          ? models.registry.resolveEmbedding(assertion.model ?? DEFAULT_EMBEDDING_MODEL)
          : null;
    if (resolved && !resolved.ok) return { ok: false, error: { code: resolved.code, message: `assertion "${assertion.label ?? assertion.id}": ${resolved.message}` } };
  }
  // Judges and embeddings go through the same model port, allowlist and retry rules as runs.
  const services = {
    judge: createModelJudge(models.port, judgeDefault, { limits: models.limits }),
    embed: createPortEmbedder(models.port, DEFAULT_EMBEDDING_MODEL, { limits: models.limits }),
  };
  const issues = assertionIssues(dataset, workflow.document, Boolean(services.embed));
  if (issues.length) return { ok: false, error: { code: "invalid-assertions", message: `${issues[0].path}: ${issues[0].message}`, issues } };

  const admission = context.admission ?? readServerConfig().admission;
  const concurrency = Math.max(1, Math.min(request.data.concurrency, admission.maxRunsPerIdentity || request.data.concurrency));
  const created = await createEvaluation(db, { owner, workflowId, version, datasetId, datasetVersion: stored.version, concurrency, processId: context.processId });
  if (!created.ok) return notFound;
  const { id, total } = created;

  const controller = new AbortController();
  const entry: LiveEvaluation = {
    owner,
    controller,
    progress: { total, done: 0, passed: 0, failed: 0, running: 0, etaMs: null },
    done: Promise.resolve(),
  };
  live.set(id, entry);
  const stop = (reason: { code: string; message: string }) => {
    entry.stop ??= reason;
    controller.abort();
  };
  // Row results are written one at a time, in the order they finish; the evaluation ends after the last one.
  let writes = Promise.resolve();
  // A cancel that reached another process sharing the database ends the record there: seen here within a beat.
  const watch = setInterval(() => {
    void getEvaluation(db, { owner, id })
      .then((stored) => stored && stored.status !== "running" && stored.status !== "queued" && controller.abort())
      .catch(() => undefined);
  }, CANCEL_CHECK_MS);
  watch.unref?.();
  const run = async () => {
    await setEvaluationStatus(db, { id, status: "running" });
    try {
      const outcome = await evaluateDataset({
        dataset,
        document: workflow.document,
        concurrency,
        signal: controller.signal,
        prices: context.prices ?? serverPrices(),
        services,
        runRow: rowRunner(context, { workflowId, version, document: workflow.document }, stop),
        onProgress: (progress) => (entry.progress = progress),
        onResult: (result) => {
          writes = writes.then(() => recordEvalResult(db, { evaluationId: id, result }).catch((error: Error) => console.error(`trellis: evaluation ${id}: a row result was not stored:`, error.message)));
        },
      });
      await writes;
      const status: EvalStatus = entry.stop ? "failed" : outcome.status;
      await setEvaluationStatus(db, { id, status, summary: outcome.summary, error: entry.stop ?? null });
    } catch (error) {
      await writes;
      const message = error instanceof EvalConfigError ? error.message : "the server could not finish this evaluation";
      if (!(error instanceof EvalConfigError)) console.error(`trellis: evaluation ${id} failed:`, error);
      await setEvaluationStatus(db, { id, status: "failed", error: { code: error instanceof EvalConfigError ? error.code : "internal", message } });
    } finally {
      clearInterval(watch);
      live.delete(id);
    }
  };
  entry.done = run().catch((error: Error) => console.error(`trellis: evaluation ${id} could not be recorded:`, error.message));
  return { ok: true, data: { id, total, concurrency }, done: entry.done };
}

export function startEvaluation(raw: unknown): Promise<EvalActionResult<{ id: string; total: number; concurrency: number }>> {
  return guarded(async () => {
    const context = await editorRunContext();
    const { done: _done, ...answer } = await launchEvaluation(context, raw);
    return answer;
  });
}

/** Cancels one of the caller's evaluations: no new rows start, running rows are cancelled, finished rows are kept. */
export async function cancelEvaluationFor(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const running = live.get(id);
  if (running && running.owner === owner) {
    running.controller.abort();
    await running.done;
    return true;
  }
  // Not running here (another process, or already over): only the owner may end a queued or running record.
  const evaluation = await getEvaluation(db, { owner, id });
  if (!evaluation) return false;
  return setEvaluationStatus(db, { id, status: "cancelled", error: { code: "cancelled", message: "cancelled by its owner" } }).then(() => true);
}

export function cancelEvaluation(raw: unknown): Promise<EvalActionResult<{ id: string }>> {
  return guarded(async () => {
    const request = z.strictObject({ id: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    return owner && (await cancelEvaluationFor(db, { owner, id: request.data.id })) ? { ok: true, data: { id: request.data.id } } : notFound;
  });
}

// ── Progress, results and comparisons ────────────────────────────────────────

export type EvalProgressView = EvalProgress & { status: EvalStatus; error: { code: string; message: string } | null };

/** Where an evaluation is: from this process's live runner when it runs here, else counted from its stored results. */
export async function progressOf(db: Db, { owner, id }: { owner: string; id: string }): Promise<EvalProgressView | null> {
  const running = live.get(id);
  const counts = await evaluationCounts(db, { owner, id });
  if (!counts) return null;
  if (running && running.owner === owner) return { ...running.progress, status: counts.status, error: null };
  const { status, total, done, passed } = counts;
  const elapsed = counts.now.getTime() - counts.createdAt.getTime();
  const remaining = total - done;
  const etaMs = status === "running" && done > 0 ? Math.round((elapsed / done) * remaining) : status === "running" ? null : 0;
  const evaluation = await getEvaluation(db, { owner, id });
  return { total, done, passed, failed: done - passed, running: 0, etaMs, status, error: evaluation?.error ?? null };
}

/** For the progress route: the caller's identity from its cookie. */
export async function evaluationProgress(id: string, owner: string | null): Promise<EvalProgressView | null> {
  if (!owner || !Id.safeParse(id).success) return null;
  const { db } = await getDatabase();
  return progressOf(db, { owner, id });
}

export type EvaluationListItem = Omit<EvaluationRecord, "createdAt" | "finishedAt"> & { createdAt: string; finishedAt: string | null };

const listItem = (e: EvaluationRecord): EvaluationListItem => ({ ...e, createdAt: e.createdAt.toISOString(), finishedAt: e.finishedAt?.toISOString() ?? null });

export function evaluationsOf(raw: unknown): Promise<EvalActionResult<EvaluationListItem[]>> {
  return guarded(async () => {
    const request = z.strictObject({ workflowId: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    if (!owner) return notFound;
      const list = await listEvaluations(db, { owner, workflowId: request.data.workflowId });
    return list ? { ok: true, data: list.map(listItem) } : notFound;
  });
}

export type RowView = Omit<StoredRowResult, "finishedAt"> & { inputs: Record<string, unknown>; expected?: Record<string, string> };
export type AssertionView = { id: string; label: string; kind: string; key: string };
export type EvaluationView = { evaluation: EvaluationListItem; rows: RowView[]; assertions: AssertionView[]; summary: EvalSummary };

/** An evaluation as the results grid shows it: its rows (with their inputs) in dataset order, its assertions and its summary. */
async function viewOf(db: Db, evaluation: EvaluationRecord, results: StoredRowResult[], datasetOwner: string): Promise<EvaluationView> {
  const stored = await getDataset(db, { owner: datasetOwner, id: evaluation.datasetId, version: evaluation.datasetVersion });
  const rows = stored?.dataset.rows ?? [];
  const byId = new Map(rows.map((row) => [row.id, row]));
  const assertions = stored ? [...stored.dataset.assertions, ...rows.flatMap((row) => row.assertions ?? [])] : [];
  const unique = [...new Map(assertions.map((a) => [a.id, a])).values()];
  return {
    evaluation: listItem(evaluation),
    rows: results.map(({ finishedAt: _finishedAt, ...result }) => ({ ...result, inputs: byId.get(result.rowId)?.inputs ?? {}, ...(byId.get(result.rowId)?.expected ? { expected: byId.get(result.rowId)!.expected } : {}) })),
    assertions: unique.map((a) => ({ id: a.id, label: a.label ?? describeAssertion(a), kind: a.kind, key: a.key })),
    // Stored when it ended; while it runs (or if it was interrupted), from the rows so far.
    summary: evaluation.summary ?? summarise(results, unique, evaluation.total),
  };
}

export async function evaluationViewFor(db: Db, { owner, id }: { owner: string; id: string }): Promise<EvaluationView | null> {
  const found = await getEvaluationWithResults(db, { owner, id });
  return found && viewOf(db, found.evaluation, found.results, owner);
}

export function evaluationDetail(raw: unknown): Promise<EvalActionResult<EvaluationView>> {
  return guarded(async () => {
    const request = z.strictObject({ id: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    if (!owner) return notFound;
      const view = await evaluationViewFor(db, { owner, id: request.data.id });
    return view ? { ok: true, data: view } : notFound;
  });
}

export type ComparisonView = { before: EvaluationView; after: EvaluationView; comparison: EvalComparison };

function comparisonOf(before: EvaluationView, after: EvaluationView): ComparisonView {
  const outcome = (view: EvaluationView) => ({ results: view.rows, summary: view.summary });
  return { before, after, comparison: compareEvaluations(outcome(before), outcome(after)) };
}

/** Two of the caller's evaluations side by side, rows matched by their dataset row id. */
export function compareEvaluationsOf(raw: unknown): Promise<EvalActionResult<ComparisonView>> {
  return guarded(async () => {
    const request = z.strictObject({ before: Id, after: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    if (!owner) return notFound;
    const before = await evaluationViewFor(db, { owner, id: request.data.before });
    const after = await evaluationViewFor(db, { owner, id: request.data.after });
    if (!before || !after) return notFound;
    if (before.evaluation.datasetId !== after.evaluation.datasetId) {
      return { ok: false, error: { code: "different-datasets", message: "these evaluations ran on different datasets: compare two evaluations of the same dataset" } };
    }
    return { ok: true, data: comparisonOf(before, after) };
  });
}

/** The versions of a workflow, for the version picker. */
export function versionsOf(raw: unknown): Promise<EvalActionResult<Array<{ version: number; summary: string }>>> {
  return guarded(async () => {
    const request = z.strictObject({ workflowId: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    const versions = owner ? await listVersions(db, { owner, id: request.data.workflowId }) : null;
    return versions ? { ok: true, data: versions.map((v) => ({ version: v.version, summary: v.summary })) } : notFound;
  });
}

// ── Read-only links (`/e/<id>`) ──────────────────────────────────────────────

export type EvalShareInfo = { id: string; evaluationId: string; afterId: string | null; createdAt: string; revokedAt: string | null };

export function shareEvaluation(raw: unknown): Promise<EvalActionResult<{ id: string }>> {
  return guarded(async () => {
    const request = z.strictObject({ evaluationId: Id, afterId: Id.optional() }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    const link = owner ? await createEvalShareLink(db, { owner, ...request.data }) : null;
    return link ? { ok: true, data: link } : notFound;
  });
}

export function evaluationSharesOf(raw: unknown): Promise<EvalActionResult<EvalShareInfo[]>> {
  return guarded(async () => {
    const request = z.strictObject({ evaluationId: Id }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    if (!owner) return notFound;
    const links = await listEvalShareLinks(db, { owner, evaluationId: request.data.evaluationId });
    return { ok: true, data: links.map((l) => ({ ...l, createdAt: l.createdAt.toISOString(), revokedAt: l.revokedAt?.toISOString() ?? null })) };
  });
}

export function revokeEvaluationShare(raw: unknown): Promise<EvalActionResult<{ id: string }>> {
  return guarded(async () => {
    const request = z.strictObject({ id: ShareId }).safeParse(raw);
    if (!request.success) return invalid(request.error);
    const { owner, db } = await who();
    return owner && (await revokeEvalShareLink(db, { owner, id: request.data.id })) ? { ok: true, data: { id: request.data.id } } : notFound;
  });
}

/**
 * What `/e/<id>` shows, read-only: one evaluation or a comparison. A visitor gets labels, inputs,
 * outputs, verdicts and numbers — no owner, no run ids (a row's run is its owner's).
 */
export type SharedEvaluationView = { status: "not-found" | "revoked" } | { status: "ok"; single: EvaluationView | null; compared: ComparisonView | null };

/** What a visitor must not learn: the rows' run ids and the owner's workflow, dataset and evaluation ids. */
const withoutRuns = (view: EvaluationView): EvaluationView => ({
  ...view,
  evaluation: { ...view.evaluation, id: "", workflowId: "", datasetId: "" },
  rows: view.rows.map((row) => ({ ...row, runId: "" })),
});

export async function sharedEvaluationView(shareId: string): Promise<SharedEvaluationView> {
  if (!ShareId.safeParse(shareId).success) return { status: "not-found" };
  const { db } = await getDatabase();
  const shared = await getSharedEvaluations(db, { id: shareId });
  if (shared.status !== "ok") return shared;
  const { owner } = shared;
  const before = withoutRuns(await viewOf(db, shared.before.evaluation, shared.before.results, owner));
  if (!shared.after) return { status: "ok", single: before, compared: null };
  const after = withoutRuns(await viewOf(db, shared.after.evaluation, shared.after.results, owner));
  return { status: "ok", single: null, compared: comparisonOf(before, after) };
}

// ── Progress as Server-Sent Events ───────────────────────────────────────────

const PROGRESS_EVERY_MS = 250;
const ENDED = new Set<EvalStatus>(["succeeded", "failed", "cancelled", "interrupted"]);

/**
 * `GET /api/evals/<id>/progress` (Accept: text/event-stream): the evaluation's progress whenever
 * it changes, then its end. Read from this process's runner, else from the stored results, so any
 * process sharing the database answers; EventSource reconnects by itself after a dropped
 * connection and a reconnect simply reads the current state. Owner only (cookie): anyone else, 404.
 */
export async function evaluationProgressStream(request: Request, id: string): Promise<Response> {
  const owner = await identityFromCookieHeader(request.headers.get("cookie"));
  const first = await evaluationProgress(id, owner).catch((error: unknown) => {
    if (isDatabaseUnavailable(error)) return "unavailable" as const;
    throw error;
  });
  if (first === "unavailable") return Response.json({ ok: false, error: { code: "database-unavailable", message: new DatabaseUnavailableError().message } }, { status: 503 });
  if (!first) return Response.json({ ok: false, error: NOT_YOURS }, { status: 404 });
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      let last = "";
      let current: EvalProgressView | null = first;
      const send = (event: string, data: unknown) => controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      try {
        while (current && !request.signal.aborted) {
          const text = JSON.stringify(current);
          if (text !== last) send("progress", current);
          last = text;
          if (ENDED.has(current.status)) {
            send("end", { status: current.status });
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, PROGRESS_EVERY_MS));
          current = await evaluationProgress(id, owner).catch(() => current);
        }
      } finally {
        // The browser may have gone away and cancelled the stream.
        try {
          controller.close();
        } catch {
          // Already closed: nothing to do.
        }
      }
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" } });
}
