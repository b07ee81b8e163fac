import "server-only";
import { randomBytes, randomUUID } from "node:crypto";
import { and, asc, desc, eq, ne } from "drizzle-orm";
import { CURRENT_VERSION, parseDocument, summariseChanges, type RunEvent, type ValidationIssue, type WorkflowDocument } from "@/lib/workflow";
import type { Db } from "./connect";
import { runEvents, runs, shareLinks, workflowVersions, workflows } from "./schema";
import { normaliseJson } from "./text";

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

export async function createWorkflow(db: Db, { owner, document }: { owner: string; document: unknown }): Promise<SaveResult> {
  const doc = parsed(document);
  if (!doc.ok) return doc;
  const id = randomUUID();
  await db.transaction(async (tx) => {
    await tx.insert(workflows).values({ id, owner, name: doc.document.name, latestVersion: 1 });
    await tx.insert(workflowVersions).values({ workflowId: id, version: 1, schemaVersion: CURRENT_VERSION, document: doc.document, summary: summariseChanges(null, doc.document) });
  });
  return { ok: true, id, version: 1 };
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

export async function getWorkflowById(db: Db, { owner, id, version }: { owner: string; id: string; version?: number }) {
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

export async function listVersions(db: Db, { owner, id }: { owner: string; id: string }) {
  const [workflow] = await db.select({ id: workflows.id }).from(workflows).where(and(eq(workflows.id, id), eq(workflows.owner, owner)));
  if (!workflow) return null;
  return db
    .select({ version: workflowVersions.version, summary: workflowVersions.summary, createdAt: workflowVersions.createdAt })
    .from(workflowVersions)
    .where(eq(workflowVersions.workflowId, id))
    .orderBy(desc(workflowVersions.version));
}

export async function listWorkflows(db: Db, { owner }: { owner: string }) {
  return db
    .select({ id: workflows.id, name: workflows.name, latestVersion: workflows.latestVersion, updatedAt: workflows.updatedAt })
    .from(workflows)
    .where(eq(workflows.owner, owner))
    .orderBy(desc(workflows.updatedAt));
}

export async function deleteWorkflow(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const deleted = await db.delete(workflows).where(and(eq(workflows.id, id), eq(workflows.owner, owner))).returning({ id: workflows.id });
  return deleted.length > 0;
}

// ── Runs as records ──────────────────────────────────────────────────────────────

export async function createRun(db: Db, run: { id: string; owner: string; workflowId?: string; version?: number; inputs: Record<string, unknown>; processId: string }) {
  await db.insert(runs).values({ ...run, inputs: normaliseJson(run.inputs), status: "running" });
}

/** Stores a batch of events (the recorder batches them so writes never slow the stream). */
export async function appendRunEvents(db: Db, { runId, events }: { runId: string; events: ReadonlyArray<RunEvent> }) {
  if (!events.length) return;
  await db.insert(runEvents).values(events.map((event) => ({ runId, seq: event.seq, event: normaliseJson(event) })));
}

export async function finishRun(db: Db, { runId, finished }: { runId: string; finished: Extract<RunEvent, { type: "run-finished" }> }) {
  await db
    .update(runs)
    .set({
      status: finished.status,
      outputs: normaliseJson(finished.outputs),
      usage: finished.usage,
      warnings: normaliseJson(finished.warnings),
      error: finished.error ? normaliseJson(finished.error) : null,
      finishedAt: new Date(),
    })
    .where(eq(runs.id, runId));
}

export async function getRunEvents(db: Db, { owner, runId }: { owner: string; runId: string }): Promise<RunEvent[] | null> {
  const [run] = await db.select({ id: runs.id }).from(runs).where(and(eq(runs.id, runId), eq(runs.owner, owner)));
  if (!run) return null;
  const rows = await db.select({ event: runEvents.event }).from(runEvents).where(eq(runEvents.runId, runId)).orderBy(asc(runEvents.seq));
  return rows.map((row) => row.event as RunEvent);
}

export async function getRun(db: Db, { owner, runId }: { owner: string; runId: string }) {
  const [run] = await db.select().from(runs).where(and(eq(runs.id, runId), eq(runs.owner, owner)));
  return run ?? null;
}

/**
 * At start-up: runs left `running` by a process that is gone become `interrupted`, keeping the
 * events they recorded. Nothing re-runs by itself.
 */
export async function markInterruptedRuns(db: Db, { processId }: { processId: string }): Promise<number> {
  const marked = await db
    .update(runs)
    .set({ status: "interrupted", finishedAt: new Date(), error: { code: "interrupted", message: "the server stopped while this run was in progress" } })
    .where(and(eq(runs.status, "running"), ne(runs.processId, processId)))
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

export async function revokeShareLink(db: Db, { owner, id }: { owner: string; id: string }): Promise<boolean> {
  const revoked = await db
    .update(shareLinks)
    .set({ revokedAt: new Date() })
    .where(and(eq(shareLinks.id, id), eq(shareLinks.owner, owner)))
    .returning({ id: shareLinks.id });
  return revoked.length > 0;
}

/** What a share link opens: read-only, and only while it is not revoked. */
export async function getSharedVersion(db: Db, { id }: { id: string }) {
  const [link] = await db.select().from(shareLinks).where(eq(shareLinks.id, id));
  if (!link) return { status: "not-found" } as const;
  if (link.revokedAt) return { status: "revoked" } as const;
  const [row] = await db.select().from(workflowVersions).where(and(eq(workflowVersions.workflowId, link.workflowId), eq(workflowVersions.version, link.version)));
  const document = row ? parseDocument(row.document) : null;
  if (!document?.ok) return { status: "not-found" } as const;
  return { status: "ok", document: document.document, version: link.version, allowRun: link.allowRun } as const;
}
