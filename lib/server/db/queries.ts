import "server-only";
import { randomBytes, randomUUID } from "node:crypto";
import { and, asc, desc, eq, gt, inArray, isNull, lt, ne, notInArray, sql } from "drizzle-orm";
import { CURRENT_VERSION, parseDocument, serializeDocument, summariseChanges, type RunEvent, type RunEventOf, type ValidationIssue, type WorkflowDocument } from "@/lib/workflow";
import type { Db } from "./connect";
import { authUsers, dailySpend, invites, processes, runEvents, runs, serverSettings, shareLinks, workflowVersions, workflows } from "./schema";
import { GroupedWrites } from "./grouped-writes";
import { jsonText, normaliseJson } from "./text";

/**
 * The query module: verb-named functions taking one object. Every read or write of something
 * owned checks the owner first and answers `null` / `not-found` for anyone else (a 404, not a 403,
 * so ids of other people's workflows are not confirmed). Documents are parsed before they are stored.
 */

/** Unguessable ids for share links: 128 random bits, URL-safe. */
export const newShareId = () => randomBytes(16).toString("base64url");

export type SaveResult =
  | { ok: true; id: string; version: number }
  | { ok: false; code: "not-found" }
  | { ok: false; code: "invalid-document"; issues: ValidationIssue[] }
  | { ok: false; code: "conflict"; latestVersion: number };

function parsed(document: unknown): { ok: true; document: WorkflowDocument } | { ok: false; code: "invalid-document"; issues: ValidationIssue[] } {
  const result = parseDocument(normaliseJson(document));
  return result.ok ? result : { ok: false, code: "invalid-document", issues: result.issues };
}

/**
 * Creates a workflow (version 1), under `id` when the caller chose one. Creating an id that
 * already exists is a retry of the same first save (its answer was lost, or a second press): for
 * the same owner it answers that workflow — saving the document as a new version on top if it
 * changed since — and never creates a second one; for anyone else it is `not-found`.
 */
export async function createWorkflow(db: Db, { owner, document, id = randomUUID() }: { owner: string; document: unknown; id?: string }): Promise<SaveResult> {
  const doc = parsed(document);
  if (!doc.ok) return doc;
  const created = await db.transaction(async (tx) => {
    const inserted = await tx.insert(workflows).values({ id, owner, name: doc.document.name, latestVersion: 1 }).onConflictDoNothing().returning({ id: workflows.id });
    if (!inserted.length) return false;
    await tx.insert(workflowVersions).values({ workflowId: id, version: 1, schemaVersion: CURRENT_VERSION, document: doc.document, summary: summariseChanges(null, doc.document) });
    return true;
  });
  if (created) return { ok: true, id, version: 1 };
  const existing = await getWorkflowById(db, { owner, id });
  if (!existing) return { ok: false, code: "not-found" };
  if (serializeDocument(existing.document) === serializeDocument(doc.document)) return { ok: true, id, version: existing.version };
  return saveVersion(db, { owner, id, document: doc.document, baseVersion: existing.version });
}

/**
 * Saves a new version on top of `baseVersion`. Saving on top of a version that is no longer the
 * latest is a conflict the user resolves — never a silent overwrite.
 */
export async function saveVersion(db: Db, { owner, id, document, baseVersion }: { owner: string; id: string; document: unknown; baseVersion: number }): Promise<SaveResult> {
  const doc = parsed(document);
  if (!doc.ok) return doc;
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(workflows).where(and(eq(workflows.id, id), eq(workflows.owner, owner))).for("update");
    if (!current) return { ok: false, code: "not-found" } as const;
    if (current.latestVersion !== baseVersion) return { ok: false, code: "conflict", latestVersion: current.latestVersion } as const;
    const version = current.latestVersion + 1;
    const [previous] = await tx.select().from(workflowVersions).where(and(eq(workflowVersions.workflowId, id), eq(workflowVersions.version, current.latestVersion)));
    const before = previous ? parseDocument(previous.document) : null;
    await tx.insert(workflowVersions).values({
      workflowId: id,
      version,
      schemaVersion: CURRENT_VERSION,
      document: doc.document,
      summary: summariseChanges(before?.ok ? before.document : null, doc.document),
    });
    await tx.update(workflows).set({ latestVersion: version, name: doc.document.name, updatedAt: new Date() }).where(eq(workflows.id, id));
    return { ok: true, id, version } as const;
  });
}

/** Versions are PostgreSQL integers: anything else (2^31, 1.5, a huge number from a URL) names no version, rather than failing the query. */
export const isStoredVersion = (version: number) => Number.isInteger(version) && version >= 1 && version <= 2_147_483_647;

export async function getWorkflowById(db: Db, { owner, id, version }: { owner: string; id: string; version?: number }) {
  if (version !== undefined && !isStoredVersion(version)) return null;
  const [workflow] = await db.select().from(workflows).where(and(eq(workflows.id, id), eq(workflows.owner, owner)));
  if (!workflow) return null;
  const [row] = await db
    .select()
    .from(workflowVersions)
    .where(and(eq(workflowVersions.workflowId, id), eq(workflowVersions.version, version ?? workflow.latestVersion)));
  if (!row) return null;
  const document = parseDocument(row.document);
  if (!document.ok) throw new Error(`stored version ${id}@${row.version} no longer parses: ${document.issues[0]?.message}`);
  return { id, name: workflow.name, version: row.version, latestVersion: workflow.latestVersion, document: document.document, createdAt: row.createdAt };
}

/** Whether `owner` owns workflow `id`: the check before anything is read about it. */
async function owns(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const [workflow] = await db.select({ id: workflows.id }).from(workflows).where(and(eq(workflows.id, id), eq(workflows.owner, owner)));
  return Boolean(workflow);
}

export async function listVersions(db: Db, { owner, id }: { owner: string; id: string }) {
  if (!(await owns(db, { owner, id }))) return null;
  return db
    .select({ version: workflowVersions.version, summary: workflowVersions.summary, createdAt: workflowVersions.createdAt })
    .from(workflowVersions)
    .where(eq(workflowVersions.workflowId, id))
    .orderBy(desc(workflowVersions.version));
}

export async function listWorkflows(db: Db, { owner }: { owner: string }) {
  // The status of the owner's newest run of each workflow, for the landing page.
  // (Spelled out: inside a subquery Drizzle's unqualified column names would mean the runs' own.)
  const lastRun = sql<string | null>`(SELECT r.status FROM runs r WHERE r.workflow_id = "workflows"."id" AND r.owner = "workflows"."owner" ORDER BY r.started_at DESC LIMIT 1)`;
  return db
    .select({ id: workflows.id, name: workflows.name, latestVersion: workflows.latestVersion, updatedAt: workflows.updatedAt, lastRunStatus: lastRun })
    .from(workflows)
    .where(eq(workflows.owner, owner))
    .orderBy(desc(workflows.updatedAt));
}

/** Renaming is a new version whose only change is the name, so history and exports agree. */
export async function renameWorkflow(db: Db, { owner, id, name }: { owner: string; id: string; name: string }): Promise<SaveResult> {
  const current = await getWorkflowById(db, { owner, id });
  if (!current) return { ok: false, code: "not-found" };
  return saveVersion(db, { owner, id, document: { ...current.document, name }, baseVersion: current.latestVersion });
}

/** A new workflow (version 1) holding a copy of the latest version of one of the owner's. */
export async function duplicateWorkflow(db: Db, { owner, id }: { owner: string; id: string }): Promise<SaveResult> {
  const current = await getWorkflowById(db, { owner, id });
  if (!current) return { ok: false, code: "not-found" };
  return createWorkflow(db, { owner, document: { ...current.document, name: copyName(current.document.name) } });
}

export const copyName = (name: string) => `${name} (copy)`.slice(0, 120);

export async function deleteWorkflow(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const deleted = await db.delete(workflows).where(and(eq(workflows.id, id), eq(workflows.owner, owner))).returning({ id: workflows.id });
  return deleted.length > 0;
}

// ── Runs as records ──────────────────────────────────────────────────────────────

export type NewRun = {
  id: string;
  owner: string;
  workflowId?: string;
  version?: number;
  document: WorkflowDocument;
  edited?: boolean;
  /** "eval": one row of an evaluation (issue 15), spending its owner's budget like an editor run. */
  source?: "editor" | "share" | "eval";
  shareLinkId?: string;
  inputs: Record<string, unknown>;
  processId: string;
  /** Set by admission (createRunWithinRate): who pays, from where, and what the run may use. */
  payer?: string;
  clientAddress?: string | null;
  tokenBudget?: number;
  modelSlots?: number;
};

/** Creates the record of a run that is starting; false when the id is already taken. */
export async function createRun(db: Db, run: NewRun): Promise<boolean> {
  const inserted = await db
    .insert(runs)
    .values({ ...run, document: sql`${jsonText(run.document)}::jsonb`, inputs: sql`${jsonText(run.inputs)}::jsonb`, status: "running" })
    .onConflictDoNothing()
    .returning({ id: runs.id });
  return inserted.length > 0;
}

/**
 * Stores a batch of events (the recorder batches them so writes never slow the stream). Idempotent:
 * the recorder retries a write whose answer was lost, and it may have been stored already.
 */
export async function appendRunEvents(db: Db, { runId, events }: { runId: string; events: ReadonlyArray<RunEvent> }) {
  if (!events.length) return;
  await db.execute(insertRunEvents(runId, events));
}

/**
 * The batch as one JSON array parameter, whatever its size: the events are serialised once, and
 * each row keeps its event's exact text (`json_array_elements` of a `json` value, and `->` on one,
 * return the element's text as it was written).
 */
const insertRunEvents = (runId: string, events: ReadonlyArray<RunEvent>) =>
  sql`INSERT INTO ${runEvents} (run_id, seq, event) SELECT ${runId}, (e->>'seq')::int, e FROM json_array_elements(${jsonText(events)}::json) AS e ON CONFLICT DO NOTHING`;

type RunEventBatch = { runId: string; events: ReadonlyArray<RunEvent> };

/** Batches of several runs in one statement: `[runId, event]` pairs. */
function insertRunEventBatches(batches: RunEventBatch[]) {
  if (batches.length === 1) return insertRunEvents(batches[0].runId, batches[0].events);
  const pairs = batches.flatMap(({ runId, events }) => events.map((event) => [runId, event]));
  return sql`INSERT INTO ${runEvents} (run_id, seq, event) SELECT e->>0, (e->1->>'seq')::int, e->1 FROM json_array_elements(${jsonText(pairs)}::json) AS e ON CONFLICT DO NOTHING`;
}

// One group writer per database (route handlers and server actions are bundled apart: on globalThis).
const GROUPED = Symbol.for("trellis.groupedRunEventWrites");
const groupedWrites = ((globalThis as Record<symbol, unknown>)[GROUPED] ??= new WeakMap()) as WeakMap<Db, GroupedWrites<RunEventBatch>>;

/**
 * appendRunEvents for a run in progress: batches that runs ask to write in the same turn of the
 * event loop are stored together, in one statement (GroupedWrites). Idempotent, like appendRunEvents.
 */
export function appendRunEventsGrouped(db: Db, batch: RunEventBatch): Promise<void> {
  if (!batch.events.length) return Promise.resolve();
  let writes = groupedWrites.get(db);
  if (!writes) {
    writes = new GroupedWrites<RunEventBatch>(async (batches) => void (await db.execute(insertRunEventBatches(batches))));
    groupedWrites.set(db, writes);
  }
  return writes.add(batch);
}

/**
 * Stores a run's result (its events are already stored, in compact chunks: see RunRecorder), and
 * with it, when given, the run's last events: one statement, so a run's end is one commit.
 * Idempotent, like appendRunEvents.
 */
export async function finishRun(db: Db, { runId, finished, events = [] }: { runId: string; finished: RunEventOf<"run-finished">; events?: ReadonlyArray<RunEvent> }) {
  const result = sql`UPDATE ${runs} SET status = ${finished.status}, outputs = ${jsonText(finished.outputs)}::jsonb, usage = ${jsonText(finished.usage)}::jsonb,
    warnings = ${jsonText(finished.warnings)}::jsonb, error = ${finished.error ? jsonText(finished.error) : null}::jsonb, finished_at = ${new Date().toISOString()}::timestamptz
    WHERE id = ${runId}`;
  await db.execute(events.length ? sql`WITH stored AS (${insertRunEvents(runId, events)}) ${result}` : result);
}

/** Where a RunRecorder stores one run: its batches, then its last events with its result. */
export function runRecordSink(db: Db, runId: string) {
  return {
    append: (events: ReadonlyArray<RunEvent>) => appendRunEventsGrouped(db, { runId, events }),
    finish: (finished: RunEventOf<"run-finished">, { events }: { events?: ReadonlyArray<RunEvent> }) => finishRun(db, { runId, finished, events }),
  };
}

export async function getRun(db: Db, { owner, runId }: { owner: string; runId: string }) {
  const [run] = await db.select().from(runs).where(and(eq(runs.id, runId), eq(runs.owner, owner)));
  return run ?? null;
}

/** Every stored event of one of the owner's runs (tests, exports); replays read them in pages. */
export async function getRunEvents(db: Db, { owner, runId }: { owner: string; runId: string }): Promise<RunEvent[] | null> {
  if (!(await getRun(db, { owner, runId }))) return null;
  return eventsOf(db, runId);
}

async function eventsOf(db: Db, runId: string): Promise<RunEvent[]> {
  const rows = await db.select({ event: runEvents.event }).from(runEvents).where(eq(runEvents.runId, runId)).orderBy(asc(runEvents.seq));
  return rows.map((row) => row.event as RunEvent);
}

/** How many events a replay page holds: a typical compacted run fits in one, a long one arrives in several. */
export const RUN_EVENTS_PAGE = 500;

export type RunEventsPage = { events: RunEvent[]; more: boolean };

/** One page of a run's events in `seq` order, those after `after` (-1: from the start); `more` when others follow. No ownership check: callers check access first. */
export async function runEventsPage(db: Db, { runId, after = -1, limit = RUN_EVENTS_PAGE }: { runId: string; after?: number; limit?: number }): Promise<RunEventsPage> {
  const rows = await db
    .select({ event: runEvents.event })
    .from(runEvents)
    .where(and(eq(runEvents.runId, runId), gt(runEvents.seq, after)))
    .orderBy(asc(runEvents.seq))
    .limit(limit + 1);
  return { events: rows.slice(0, limit).map((row) => row.event as RunEvent), more: rows.length > limit };
}

/**
 * A visitor's run of a shared link lives only as long as the link: once the owner revokes it (or
 * deletes the workflow), the run can no longer be shared and its run link opens nothing.
 */
const linkStillShared = sql`(${runs.source} <> 'share' OR EXISTS (SELECT 1 FROM share_links l WHERE l.id = ${runs.shareLinkId} AND l.revoked_at IS NULL))`;

/** Who may read a run's events: its owner, anyone with its run link, or anyone with a share link whose replay it is. */
export type RunAccess = { owner: string } | { runLink: string } | { shareLink: string };

/** A page of a run's events for whoever `access` names; null when that does not open this run (a 404). */
export async function getRunEventsPage(db: Db, { runId, access, after, limit }: { runId: string; access: RunAccess; after?: number; limit?: number }): Promise<RunEventsPage | null> {
  let allowed = false;
  if ("owner" in access) allowed = Boolean(await getRun(db, { owner: access.owner, runId }));
  else if ("runLink" in access) {
    const [row] = await db.select({ id: runs.id }).from(runs).where(and(eq(runs.id, runId), eq(runs.sharedAs, access.runLink), linkStillShared));
    allowed = Boolean(row);
  } else {
    const link = await getSharedVersion(db, { id: access.shareLink });
    // Only the run the link shows: the link owner's newest finished run of exactly that version.
    if (link.status === "ok") allowed = (await latestRunOfVersionRow(db, { owner: link.owner, workflowId: link.workflowId, version: link.version }))?.id === runId;
  }
  return allowed ? runEventsPage(db, { runId, after, limit }) : null;
}

/**
 * Stamps the process now executing a run in progress (cluster mode: the worker that took it from
 * the queue), so the heartbeat sweep judges the run by that process; false when it is no longer in progress.
 */
export async function assignRunProcess(db: Db, { runId, processId }: { runId: string; processId: string }): Promise<boolean> {
  const assigned = await db.update(runs).set({ processId }).where(and(eq(runs.id, runId), eq(runs.status, "running"))).returning({ id: runs.id });
  return assigned.length > 0;
}

/** A run's status alone, or null when there is no such run. No ownership check: callers check access first (getRunEventsPage). */
export async function getRunStatus(db: Db, { runId }: { runId: string }): Promise<string | null> {
  const [row] = await db.select({ status: runs.status }).from(runs).where(eq(runs.id, runId));
  return row?.status ?? null;
}

export type RunSummary = {
  id: string;
  status: string;
  version: number | null;
  edited: boolean;
  source: string;
  startedAt: Date;
  finishedAt: Date | null;
  usage: unknown;
  error: unknown;
  sharedAs: string | null;
};

const runSummary = {
  id: runs.id,
  status: runs.status,
  version: runs.version,
  edited: runs.edited,
  source: runs.source,
  startedAt: runs.startedAt,
  finishedAt: runs.finishedAt,
  usage: runs.usage,
  error: runs.error,
  sharedAs: runs.sharedAs,
};

/** The owner's runs of one of their workflows, newest first; null when the workflow is not theirs. */
export async function listRuns(db: Db, { owner, workflowId, limit = 50 }: { owner: string; workflowId: string; limit?: number }): Promise<RunSummary[] | null> {
  if (!(await owns(db, { owner, id: workflowId }))) return null;
  return db
    .select(runSummary)
    .from(runs)
    .where(and(eq(runs.workflowId, workflowId), eq(runs.owner, owner)))
    .orderBy(desc(runs.startedAt))
    .limit(limit);
}

/** A stored run with everything a replay needs: the document that ran and its first page of events (`more`: the rest load in pages). */
export type RunRecord = {
  run: RunSummary & { workflowId: string | null; inputs: Record<string, unknown>; outputs: unknown };
  document: WorkflowDocument;
  events: RunEvent[];
  more: boolean;
};

/** How many events a record comes with (`pageSize`): the first page; the rest load in pages. */
type Paged = { pageSize?: number };

async function recordOf(db: Db, row: typeof runs.$inferSelect | undefined, { pageSize }: Paged = {}): Promise<RunRecord | null> {
  if (!row?.document) return null;
  const document = parseDocument(row.document);
  if (!document.ok) return null;
  const { id, status, version, edited, source, startedAt, finishedAt, usage, error, sharedAs, workflowId, inputs, outputs } = row;
  const page = await runEventsPage(db, { runId: row.id, limit: pageSize });
  return {
    run: { id, status, version, edited, source, startedAt, finishedAt, usage, error, sharedAs, workflowId, inputs: inputs as Record<string, unknown>, outputs },
    document: document.document,
    events: page.events.length ? page.events : resultOnly(row),
    more: page.more,
  };
}

/**
 * A finished run whose events were deleted by the retention setting still shows how it ended:
 * its stored result as the one event of its replay.
 */
function resultOnly(row: typeof runs.$inferSelect): RunEvent[] {
  const status = row.status;
  if (!row.finishedAt || (status !== "succeeded" && status !== "failed" && status !== "cancelled")) return [];
  const ms = Math.max(0, row.finishedAt.getTime() - row.startedAt.getTime());
  return [
    {
      seq: 0,
      t: ms,
      type: "run-finished",
      status,
      outputs: (row.outputs ?? {}) as Record<string, unknown>,
      state: {},
      usage: (row.usage ?? { inputTokens: 0, outputTokens: 0 }) as { inputTokens: number; outputTokens: number },
      warnings: (row.warnings ?? []) as RunEventOf<"run-finished">["warnings"],
      ...(row.error ? { error: row.error as RunEventOf<"run-finished">["error"] } : {}),
      ms,
    },
  ];
}

export async function getRunRecord(db: Db, { owner, runId, pageSize }: { owner: string; runId: string } & Paged): Promise<RunRecord | null> {
  const [row] = await db.select().from(runs).where(and(eq(runs.id, runId), eq(runs.owner, owner)));
  return recordOf(db, row, { pageSize });
}

/** Gives one of the owner's runs its own unguessable link (`/r/<id>`); the same link when asked again. */
export async function shareRun(db: Db, { owner, runId }: { owner: string; runId: string }): Promise<{ id: string } | null> {
  const [shared] = await db
    .update(runs)
    .set({ sharedAs: sql`coalesce(${runs.sharedAs}, ${newShareId()})` })
    .where(and(eq(runs.id, runId), eq(runs.owner, owner), linkStillShared))
    .returning({ id: runs.sharedAs });
  return shared?.id ? { id: shared.id } : null;
}

export async function unshareRun(db: Db, { owner, runId }: { owner: string; runId: string }): Promise<boolean> {
  const updated = await db.update(runs).set({ sharedAs: null }).where(and(eq(runs.id, runId), eq(runs.owner, owner))).returning({ id: runs.id });
  return updated.length > 0;
}

/** What a run link opens: the run, the document that ran and its events — nothing of its owner. */
export async function getSharedRun(db: Db, { shareId, pageSize }: { shareId: string } & Paged): Promise<RunRecord | null> {
  const [row] = await db.select().from(runs).where(and(eq(runs.sharedAs, shareId), linkStillShared));
  return recordOf(db, row, { pageSize });
}

/**
 * How many runs an identity started from one source in the last `windowMs` (at most `limit`: the
 * newest that many), and in how many ms the oldest of those leaves the window: when the identity is
 * at its limit, that is when it has room again. Counted from the records, so every process sharing
 * the database sees the same count; only the window is read (runs_owner_source).
 */
export async function recentRuns(db: Db, { owner, source, windowMs, limit }: { owner: string; source: "editor" | "share" | "eval"; windowMs: number; limit?: number }) {
  const window = sql`make_interval(secs => ${windowMs / 1000})`;
  const inWindow = db
    .select({ startedAt: runs.startedAt })
    .from(runs)
    .where(and(eq(runs.owner, owner), eq(runs.source, source), gt(runs.startedAt, sql`now() - ${window}`)))
    .orderBy(desc(runs.startedAt))
    .$dynamic();
  const recent = (limit === undefined ? inWindow : inWindow.limit(Math.max(0, limit))).as("recent");
  const [row] = await db
    .select({
      count: sql<number>`count(*)::int`,
      freeInMs: sql<number | null>`(extract(epoch from (min(${recent.startedAt}) + ${window} - now())) * 1000)::float8`,
    })
    .from(recent);
  return { count: row?.count ?? 0, freeInMs: Math.max(0, row?.freeInMs ?? 0) };
}

export type RateLimitedRun =
  | { ok: true; modelSlots?: number; tokenBudget?: number }
  | { ok: false; code: "rate-limited"; freeInMs: number; scope?: "address" | "running"; limit?: number }
  | { ok: false; code: "busy"; scope: "runs" | "model-calls"; limit: number }
  | { ok: false; code: "budget-exceeded"; freeInMs: number; used: number; limit: number }
  | { ok: false; code: "duplicate" };

/**
 * What a run must fit besides its identity's runs per minute. Runs count as in progress while
 * `running` and younger than `liveForMs` (the wall-time limit and a margin), so a row a crashed
 * process left behind stops counting by itself.
 */
export type Admission = {
  liveForMs: number;
  /** Runs in progress on the whole server, and per identity. */
  maxRunning: number;
  maxRunningPerIdentity: number;
  /** Model calls in flight on the whole server: the run reserves up to `wantedSlots` of them (at least one). */
  maxModelSlots: number;
  wantedSlots: number;
  /** Runs a client address may start from shared links per window. */
  address?: { value: string; limit: number };
  /** Whose daily token budget the run spends, how big it is (0: none) and the most one run may take. */
  budget: { payer: string; dailyTokens: number; runTokens: number };
};

/**
 * Creates the record of a run that is starting, unless its identity already started `limit` runs
 * from `source` in the last `windowMs` — or, with `admission`, unless the server, the identity or
 * the client address has no room, or the payer's daily token budget is spent. Counting and
 * inserting happen under an advisory lock in one transaction, so concurrent requests (from any
 * process sharing the database) cannot all see room for one more. A `limit` of null is none (an
 * evaluation's rows): the window is not read (in `trellis_admit_run`, `LIMIT greatest(NULL, 0)` is
 * `LIMIT 0`, and no count is at or over NULL). With admission (every run the
 * run service starts), that transaction is one statement: the `trellis_admit_run` function
 * (migration 0005), which holds the rules.
 */
export async function createRunWithinRate(
  db: Db,
  { windowMs, limit, admission, ...run }: NewRun & { source: "editor" | "share" | "eval"; windowMs: number; limit: number | null; admission?: Admission },
): Promise<RateLimitedRun> {
  // PGlite answers through promises alone: a burst of run starts queued on it would run one after
  // another without a turn of the event loop between them, and no run admitted meanwhile could
  // send its first event until the last one was admitted. One turn per start.
  await new Promise((resolve) => setImmediate(resolve));
  if (admission) return admitRun(db, { ...run, windowMs, limit, admission });
  return db.transaction(async (tx) => {
    // The two-key form keeps these locks apart from single-key ones (the migration lock).
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('trellis:run-rate'), hashtext(${run.owner}))`);
    if (limit !== null) {
      const recent = await recentRuns(tx, { owner: run.owner, source: run.source, windowMs, limit });
      if (recent.count >= limit) return { ok: false, code: "rate-limited", freeInMs: recent.freeInMs } as const;
    }
    return (await createRun(tx, run)) ? ({ ok: true } as const) : ({ ok: false, code: "duplicate" } as const);
  });
}

async function admitRun(
  db: Db,
  { windowMs, limit, admission, ...run }: NewRun & { source: "editor" | "share" | "eval"; windowMs: number; limit: number | null; admission: Admission },
): Promise<RateLimitedRun> {
  const { liveForMs, maxRunning, maxRunningPerIdentity, maxModelSlots, wantedSlots, address, budget } = admission;
  const result = (await db.execute(sql`SELECT trellis_admit_run(
    ${run.id}, ${run.owner}, ${run.source}, ${run.workflowId ?? null}, ${run.version ?? null}::int, ${run.edited ?? null}::boolean,
    ${run.shareLinkId ?? null}, ${jsonText(run.document)}::jsonb, ${jsonText(run.inputs)}::jsonb, ${run.processId},
    ${windowMs}::float8, ${limit}::bigint, ${liveForMs}::float8,
    ${maxRunning}::bigint, ${maxRunningPerIdentity}::bigint, ${maxModelSlots}::bigint, ${wantedSlots}::bigint,
    ${address?.value ?? null}, ${address?.limit ?? null}::bigint, ${budget.payer}, ${budget.dailyTokens}::float8, ${budget.runTokens}::float8
  ) AS admitted`)) as unknown as { rows: Array<{ admitted: unknown }> };
  // json comes back parsed from PostgreSQL and PGlite alike; parsed here should a driver not.
  const admitted = result.rows[0]?.admitted;
  return (typeof admitted === "string" ? JSON.parse(admitted) : admitted) as RateLimitedRun;
}

/** The UTC day a run started on counts it (daily_spend.day). */
const TODAY_UTC = sql`(now() AT TIME ZONE 'UTC')::date`;

/** Tokens a payer's runs that ended used today and this month (UTC), its own and its shared links' visitors' apart (daily_spend). */
export async function tokenUsage(db: Db, { payer }: { payer: string }) {
  const month = sql`date_trunc('month', now() AT TIME ZONE 'UTC')::date`;
  const own = eq(dailySpend.scope, "own");
  const shared = eq(dailySpend.scope, "share");
  const today = eq(dailySpend.day, TODAY_UTC);
  const [row] = await db
    .select({
      today: sql<number>`coalesce(sum(${dailySpend.tokens}) FILTER (WHERE ${and(own, today)}), 0)::float8`,
      month: sql<number>`coalesce(sum(${dailySpend.tokens}) FILTER (WHERE ${own}), 0)::float8`,
      sharedToday: sql<number>`coalesce(sum(${dailySpend.tokens}) FILTER (WHERE ${and(shared, today)}), 0)::float8`,
      sharedMonth: sql<number>`coalesce(sum(${dailySpend.tokens}) FILTER (WHERE ${shared}), 0)::float8`,
    })
    .from(dailySpend)
    .where(and(eq(dailySpend.payer, payer), sql`${dailySpend.day} >= ${month}`));
  return {
    today: Number(row?.today ?? 0),
    month: Number(row?.month ?? 0),
    sharedToday: Number(row?.sharedToday ?? 0),
    sharedMonth: Number(row?.sharedMonth ?? 0),
  };
}

/** This process is alive: its runs are its own. */
export async function heartbeat(db: Db, { processId }: { processId: string }) {
  await db
    .insert(processes)
    .values({ id: processId })
    .onConflictDoUpdate({ target: processes.id, set: { heartbeatAt: sql`now()` } });
}

/** At start-up: forgets processes silent for a day (their runs were marked long ago). */
export async function pruneProcesses(db: Db) {
  await db.delete(processes).where(lt(processes.heartbeatAt, sql`now() - interval '1 day'`));
}

/**
 * Runs left `running` by a process that is gone become `interrupted`, keeping the events they
 * recorded; nothing re-runs by itself. A process is gone when it has not beaten for `staleAfterMs`
 * (0: every other process is gone — right for PGlite, where the lock file means one process per
 * data directory). With several processes on one PostgreSQL, each sweeps now and then.
 */
export async function markInterruptedRuns(db: Db, { processId, staleAfterMs = 0 }: { processId: string; staleAfterMs?: number }): Promise<number> {
  const alive = db
    .select({ id: processes.id })
    .from(processes)
    .where(gt(processes.heartbeatAt, sql`now() - make_interval(secs => ${staleAfterMs / 1000})`));
  // It ended when its last recorded event happened, not when a restart noticed (maybe hours later).
  const lastEventMs = sql`coalesce((SELECT (e.event->>'t')::float8 FROM run_events e WHERE e.run_id = ${runs.id} ORDER BY e.seq DESC LIMIT 1), 0)`;
  const marked = await db
    .update(runs)
    .set({
      status: "interrupted",
      finishedAt: sql`${runs.startedAt} + make_interval(secs => ${lastEventMs} / 1000)`,
      error: { code: "interrupted", message: "the server stopped while this run was in progress" },
    })
    .where(and(eq(runs.status, "running"), ne(runs.processId, processId), staleAfterMs > 0 ? notInArray(runs.processId, alive) : undefined))
    .returning({ id: runs.id });
  return marked.length;
}

// ── Share links ─────────────────────────────────────────────────────────────────

export async function createShareLink(db: Db, { owner, workflowId, version, allowRun = false }: { owner: string; workflowId: string; version: number; allowRun?: boolean }) {
  const workflow = await getWorkflowById(db, { owner, id: workflowId, version });
  if (!workflow) return null;
  const id = newShareId();
  await db.insert(shareLinks).values({ id, owner, workflowId, version, allowRun });
  return { id };
}

/** The owner's links to one of their workflows, newest first; null when the workflow is not theirs. */
export async function listShareLinks(db: Db, { owner, workflowId }: { owner: string; workflowId: string }) {
  if (!(await owns(db, { owner, id: workflowId }))) return null;
  return db
    .select({ id: shareLinks.id, version: shareLinks.version, allowRun: shareLinks.allowRun, createdAt: shareLinks.createdAt, revokedAt: shareLinks.revokedAt })
    .from(shareLinks)
    .where(and(eq(shareLinks.workflowId, workflowId), eq(shareLinks.owner, owner)))
    .orderBy(desc(shareLinks.createdAt));
}

export async function setShareLinkAllowRun(db: Db, { owner, id, allowRun }: { owner: string; id: string; allowRun: boolean }): Promise<boolean> {
  const updated = await db
    .update(shareLinks)
    .set({ allowRun })
    .where(and(eq(shareLinks.id, id), eq(shareLinks.owner, owner), isNull(shareLinks.revokedAt)))
    .returning({ id: shareLinks.id });
  return updated.length > 0;
}

export async function revokeShareLink(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const revoked = await db
    .update(shareLinks)
    .set({ revokedAt: new Date() })
    .where(and(eq(shareLinks.id, id), eq(shareLinks.owner, owner)))
    .returning({ id: shareLinks.id });
  return revoked.length > 0;
}

export type SharedVersion =
  | { status: "not-found" | "revoked" }
  | { status: "ok"; linkId: string; workflowId: string; owner: string; version: number; allowRun: boolean; document: WorkflowDocument };

/** What a share link opens: read-only, and only while it is not revoked. */
export async function getSharedVersion(db: Db, { id }: { id: string }): Promise<SharedVersion> {
  const [link] = await db.select().from(shareLinks).where(eq(shareLinks.id, id));
  if (!link) return { status: "not-found" };
  if (link.revokedAt) return { status: "revoked" };
  const [row] = await db.select().from(workflowVersions).where(and(eq(workflowVersions.workflowId, link.workflowId), eq(workflowVersions.version, link.version)));
  const document = row ? parseDocument(row.document) : null;
  if (!document?.ok) return { status: "not-found" };
  return { status: "ok", linkId: link.id, workflowId: link.workflowId, owner: link.owner, version: link.version, allowRun: link.allowRun, document: document.document };
}

/**
 * The run a share link shows: the owner's newest finished run of exactly the shared version
 * (a run of unsaved edits is not that version, so it is never shown).
 */
export async function latestRunOfVersion(db: Db, { owner, workflowId, version, pageSize }: { owner: string; workflowId: string; version: number } & Paged): Promise<RunRecord | null> {
  return recordOf(db, await latestRunOfVersionRow(db, { owner, workflowId, version }), { pageSize });
}

async function latestRunOfVersionRow(db: Db, { owner, workflowId, version }: { owner: string; workflowId: string; version: number }) {
  if (!isStoredVersion(version)) return undefined;
  const [row] = await db
    .select()
    .from(runs)
    .where(and(eq(runs.owner, owner), eq(runs.workflowId, workflowId), eq(runs.version, version), eq(runs.edited, false), eq(runs.source, "editor"), ne(runs.status, "running")))
    .orderBy(desc(runs.startedAt))
    .limit(1);
  return row;
}

// ── Retention ───────────────────────────────────────────────────────────────────

/** Makes the room of deleted run events reusable (a plain VACUUM: no exclusive lock, pages the visibility map marks clean are skipped). */
export async function vacuumRunEvents(db: Db): Promise<void> {
  await db.execute(sql`VACUUM run_events`);
}

/** PostgreSQL's autovacuum threshold for a table: 50 dead row versions plus a fifth of its rows. */
const VACUUM_THRESHOLD = { base: 50, scale: 0.2 };

/**
 * Vacuums `runs` once its dead row versions pass PostgreSQL's autovacuum threshold, for PGlite,
 * which runs no autovacuum. Every finished run leaves one behind (the finish changes `status`,
 * which partial indexes read, so the row is written anew); left alone, the table holds about a
 * dead version for each live row and grows by both. Answers whether it vacuumed. A plain VACUUM
 * takes no exclusive lock; on PGlite it holds the server's thread while it runs (6 ms with 2,800
 * dead versions among 3,000 runs, 29 ms with 9,800 among 20,000).
 */
export async function vacuumRunsWhenDue(db: Db): Promise<boolean> {
  const result = (await db.execute(
    sql`SELECT n_dead_tup::float8 AS dead, n_live_tup::float8 AS live FROM pg_stat_user_tables WHERE relid = 'runs'::regclass`,
  )) as unknown as { rows: Array<{ dead: number; live: number }> };
  const row = result.rows[0];
  if (!row || row.dead <= VACUUM_THRESHOLD.base + VACUUM_THRESHOLD.scale * row.live) return false;
  await db.execute(sql`VACUUM runs`);
  return true;
}

/**
 * Deletes the events of runs that finished more than `days` days ago, at most `batch` rows per
 * call (so a sweep never holds the database for long); the runs' rows and results stay. Answers
 * how many rows went: the caller calls again while that is `batch`.
 */
export async function deleteExpiredRunEvents(db: Db, { days, batch = 5_000 }: { days: number; batch?: number }): Promise<number> {
  const expired = db
    .select({ runId: runEvents.runId, seq: runEvents.seq })
    .from(runEvents)
    .innerJoin(runs, eq(runs.id, runEvents.runId))
    .where(and(ne(runs.status, "running"), lt(runs.finishedAt, sql`now() - make_interval(secs => ${days * 86_400})`)))
    .limit(batch);
  const deleted = await db
    .delete(runEvents)
    .where(sql`(${runEvents.runId}, ${runEvents.seq}) IN (${expired})`)
    .returning({ seq: runEvents.seq });
  return deleted.length;
}

// ── Accounts, invitations and claims (team mode) ─────────────────────────────────

/** A server-wide value, decided by the first process to ask and then the same for all. */
export async function settingOrCreate(db: Db, { key, create }: { key: string; create: () => string }): Promise<string> {
  await db.insert(serverSettings).values({ key, value: create() }).onConflictDoNothing();
  const [row] = await db.select({ value: serverSettings.value }).from(serverSettings).where(eq(serverSettings.key, key));
  if (!row) throw new Error(`setting ${key} could not be stored`);
  return row.value;
}

/** Takes a one-time claim (e.g. "the first account is the admin"); true for the one caller that got it. */
export async function takeClaim(db: Db, { key, value }: { key: string; value: string }): Promise<boolean> {
  const inserted = await db.insert(serverSettings).values({ key, value }).onConflictDoNothing().returning({ key: serverSettings.key });
  return inserted.length > 0;
}

export async function countUsers(db: Db): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(authUsers);
  return row?.n ?? 0;
}

export async function listMembers(db: Db) {
  return db.select({ id: authUsers.id, name: authUsers.name, email: authUsers.email, role: authUsers.role, createdAt: authUsers.createdAt }).from(authUsers).orderBy(asc(authUsers.createdAt));
}

export async function createInvite(db: Db, { createdBy, email, tokenHash, expiresAt }: { createdBy: string; email?: string; tokenHash: string; expiresAt: Date }) {
  const id = randomUUID();
  await db.insert(invites).values({ id, createdBy, email: email ?? null, tokenHash, expiresAt });
  return { id };
}

/**
 * Uses an invitation, atomically: by its token (when the sign-up carries one), or the open
 * invitation for exactly this address (GitHub, Google or OIDC sign-ups carry no token). An
 * invitation bound to an address works only for that address. True when one was used.
 */
export async function useInvite(db: Db, { tokenHash, email }: { tokenHash?: string; email: string }): Promise<boolean> {
  const usable = and(isNull(invites.usedAt), isNull(invites.revokedAt), gt(invites.expiresAt, sql`now()`));
  const which = tokenHash ? and(eq(invites.tokenHash, tokenHash), sql`(${invites.email} IS NULL OR ${invites.email} = ${email})`) : eq(invites.email, email);
  const picked = db.select({ id: invites.id }).from(invites).where(and(usable, which)).limit(1).for("update", { skipLocked: true });
  const used = await db
    .update(invites)
    .set({ usedAt: sql`now()`, usedBy: email })
    .where(and(usable, inArray(invites.id, picked)))
    .returning({ id: invites.id });
  return used.length > 0;
}

export async function listInvites(db: Db) {
  return db
    .select({ id: invites.id, email: invites.email, createdAt: invites.createdAt, expiresAt: invites.expiresAt, usedAt: invites.usedAt, usedBy: invites.usedBy, revokedAt: invites.revokedAt })
    .from(invites)
    .orderBy(desc(invites.createdAt))
    .limit(100);
}

export async function revokeInvite(db: Db, { id }: { id: string }): Promise<boolean> {
  const revoked = await db
    .update(invites)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(invites.id, id), isNull(invites.usedAt), isNull(invites.revokedAt)))
    .returning({ id: invites.id });
  return revoked.length > 0;
}

/** How many workflows an identity owns (the claim offer after signing in; a legacy browser cookie's proof). */
export async function countWorkflows(db: Db, { owner }: { owner: string }): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(workflows).where(eq(workflows.owner, owner));
  return row?.n ?? 0;
}

/**
 * Moves everything a browser identity owns — workflows, their links, its runs — into an account,
 * in one transaction. Answers how many workflows moved.
 */
export async function claimWorkflows(db: Db, { from, to }: { from: string; to: string }): Promise<number> {
  return db.transaction(async (tx) => {
    const moved = await tx.update(workflows).set({ owner: to }).where(eq(workflows.owner, from)).returning({ id: workflows.id });
    await tx.update(shareLinks).set({ owner: to }).where(eq(shareLinks.owner, from));
    await tx.update(runs).set({ owner: to }).where(eq(runs.owner, from));
    await tx.update(runs).set({ payer: to }).where(eq(runs.payer, from));
    return moved.length;
  });
}
