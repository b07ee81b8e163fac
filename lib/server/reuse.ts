import "server-only";
import { z } from "zod";
import { parseDocument, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import { planReuse, type ReusePlan, type ReuseResult } from "@/lib/workflow/engine/reuse";
import { getDatabase } from "./db";
import type { Db } from "./db/connect";
import { getRun, getRunEvents } from "./db/queries";
import { readIdentity } from "./identity";
import type { ActionResult } from "./workflows";

/**
 * Run from here and Compare runs (issue 16) on the server: an earlier run is read from its record
 * (the exact document that ran and every event), and only ever one of the caller's own runs.
 */

const NodeId = z.string().min(1).max(64);

/** What a run request adds to run from given nodes of an earlier run (StartRunInput.reuse). */
export const ReuseRequest = z.strictObject({
  runId: z.string().uuid(),
  from: z.array(NodeId).min(1).max(50),
  mode: z.enum(["all", "failed-instances"]).optional(),
});
export type ReuseRequest = z.infer<typeof ReuseRequest>;

export type StoredRun = {
  runId: string;
  status: string;
  startedAt: string;
  version: number | null;
  edited: boolean;
  workflowId: string | null;
  document: WorkflowDocument;
  events: RunEvent[];
};

/** One of the owner's runs with its document and all its events; null when it is not theirs (or not readable). */
export async function loadStoredRun(db: Db, { owner, runId }: { owner: string; runId: string }): Promise<StoredRun | null> {
  const row = await getRun(db, { owner, runId });
  const parsed = row ? parseDocument(row.document) : null;
  if (!row || !parsed?.ok) return null;
  const events = (await getRunEvents(db, { owner, runId })) ?? [];
  return {
    runId,
    status: row.status,
    startedAt: row.startedAt.toISOString(),
    version: row.version,
    edited: row.edited,
    workflowId: row.workflowId,
    document: parsed.document,
    events,
  };
}

/** Plans a run of `document` from given nodes of one of the owner's runs. */
export async function planFromRun(db: Db, { owner, document, request }: { owner: string; document: WorkflowDocument; request: ReuseRequest }): Promise<ReuseResult> {
  const earlier = await loadStoredRun(db, { owner, runId: request.runId });
  if (!earlier) return { ok: false, code: "not-found", message: "that run does not exist or is not yours" };
  return planReuse({ document, earlier: { runId: earlier.runId, document: earlier.document, events: earlier.events }, from: request.from, mode: request.mode });
}

export type RunFromPreview = Pick<ReusePlan, "from" | "rerun" | "reused" | "pinned" | "unfinished" | "stale" | "suggestedFrom" | "instances">;

const PreviewRequest = z.strictObject({ document: z.unknown(), reuse: ReuseRequest });

const notYours = { ok: false as const, error: { code: "not-found", message: "that run does not exist or is not yours" } };

/** What Run from here would do (which nodes re-run, which are reused, what is stale), before it runs. */
export async function previewRunFrom(raw: unknown): Promise<ActionResult<RunFromPreview>> {
  const request = PreviewRequest.safeParse(raw);
  if (!request.success) return { ok: false, error: { code: "invalid-request", message: request.error.issues[0]?.message ?? "invalid request" } };
  const parsed = parseDocument(request.data.document);
  if (!parsed.ok) return { ok: false, error: { code: "invalid-document", message: "the workflow is not valid", issues: parsed.issues } };
  const owner = await readIdentity();
  if (!owner) return notYours;
  const { db } = await getDatabase();
  const planned = await planFromRun(db, { owner, document: parsed.document, request: request.data.reuse });
  if (!planned.ok) return { ok: false, error: { code: planned.code, message: planned.message } };
  const { from, rerun, reused, pinned, unfinished, stale, suggestedFrom, instances } = planned.plan;
  return { ok: true, data: { from, rerun, reused, pinned, unfinished, stale, suggestedFrom, instances } };
}

/** One of the caller's runs, whole, for Compare runs. */
export async function storedRun(runId: unknown): Promise<ActionResult<StoredRun>> {
  if (!z.string().uuid().safeParse(runId).success) return notYours;
  const owner = await readIdentity();
  if (!owner) return notYours;
  const { db } = await getDatabase();
  const run = await loadStoredRun(db, { owner, runId: runId as string });
  return run ? { ok: true, data: run } : notYours;
}
