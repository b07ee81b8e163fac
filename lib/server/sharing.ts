import "server-only";
import { z } from "zod";
import type { RecordedRun, WorkflowDocument } from "@/lib/workflow";
import { getDatabase } from "./db";
import {
  copyName,
  createShareLink,
  createWorkflow,
  getRunEventsPage,
  getSharedRun,
  getSharedVersion,
  latestRunOfVersion,
  listShareLinks,
  revokeShareLink,
  setShareLinkAllowRun,
  shareRun,
  unshareRun,
  type RunAccess,
  type RunEventsPage,
  type RunRecord,
} from "./db/queries";
import { isDatabaseUnavailable } from "./db/errors";
import { ensureIdentity, identityFromCookieHeader, readIdentity } from "./identity";
import { invalid, replayPage, type ActionResult } from "./workflows";

/**
 * Share links (docs/architecture.md §7.8): `/s/<id>` opens a saved version read-only with its latest run
 * replayed; `/r/<id>` opens one run. What a visitor receives is the document, the run's events
 * and a few labels — never an owner id, a key, a base URL or a cookie.
 */

const Id = z.string().uuid();
const ShareId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);
const NOT_YOURS = { code: "not-found", message: "this does not exist or is not yours" } as const;

export type ShareLinkInfo = { id: string; version: number; allowRun: boolean; createdAt: string; revokedAt: string | null };

export async function shareLinksOf(raw: unknown): Promise<ActionResult<ShareLinkInfo[]>> {
  const request = z.strictObject({ workflowId: Id }).safeParse(raw);
  if (!request.success) return invalid(request.error);
  const owner = await readIdentity();
  const { db } = await getDatabase();
  const links = owner ? await listShareLinks(db, { owner, workflowId: request.data.workflowId }) : null;
  if (!links) return { ok: false, error: NOT_YOURS };
  return { ok: true, data: links.map((l) => ({ ...l, createdAt: l.createdAt.toISOString(), revokedAt: l.revokedAt?.toISOString() ?? null })) };
}

export const CreateShareRequest = z.strictObject({ workflowId: Id, version: z.number().int().min(1), allowRun: z.boolean() });

export async function createShare(raw: unknown): Promise<ActionResult<{ id: string }>> {
  const request = CreateShareRequest.safeParse(raw);
  if (!request.success) return invalid(request.error);
  const owner = await readIdentity();
  const { db } = await getDatabase();
  const link = owner ? await createShareLink(db, { owner, ...request.data }) : null;
  return link ? { ok: true, data: link } : { ok: false, error: NOT_YOURS };
}

export async function updateShare(raw: unknown): Promise<ActionResult<{ id: string }>> {
  const request = z.strictObject({ id: ShareId, allowRun: z.boolean().optional(), revoke: z.literal(true).optional() }).safeParse(raw);
  if (!request.success) return invalid(request.error);
  const owner = await readIdentity();
  const { db } = await getDatabase();
  const { id, allowRun, revoke } = request.data;
  let ok = Boolean(owner);
  if (owner && revoke) ok = await revokeShareLink(db, { owner, id });
  else if (owner && allowRun !== undefined) ok = await setShareLinkAllowRun(db, { owner, id, allowRun });
  return ok ? { ok: true, data: { id } } : { ok: false, error: NOT_YOURS };
}

/** Gives one of the caller's runs a link (`/r/<id>`), or takes it away. */
export async function shareRunLink(raw: unknown): Promise<ActionResult<{ id: string | null }>> {
  const request = z.strictObject({ runId: Id, unshare: z.literal(true).optional() }).safeParse(raw);
  if (!request.success) return invalid(request.error);
  const owner = await readIdentity();
  const { db } = await getDatabase();
  if (!owner) return { ok: false, error: NOT_YOURS };
  if (request.data.unshare) return (await unshareRun(db, { owner, runId: request.data.runId })) ? { ok: true, data: { id: null } } : { ok: false, error: NOT_YOURS };
  const link = await shareRun(db, { owner, runId: request.data.runId });
  return link ? { ok: true, data: link } : { ok: false, error: NOT_YOURS };
}

/** Through which link a visitor reads a run's remaining events (none: its owner, by cookie). */
export type ReplayAccess = { runLink: string } | { shareLink: string } | null;

/** Where the events after the first page load from: the run's events route, naming the link that opened it. */
export function moreEventsUrl(runId: string, access: ReplayAccess): string {
  const via = access === null ? "" : "runLink" in access ? `run:${access.runLink}` : `link:${access.shareLink}`;
  return `/api/runs/${runId}/events?via=${encodeURIComponent(via)}`;
}

/** A recorded run as a visitor sees it: no owner, no ids beyond the run's own. */
export function replayRecord(record: RunRecord, access: ReplayAccess = null): RecordedRun {
  const { run, events, more } = record;
  return {
    runId: run.id,
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    version: run.version,
    edited: run.edited,
    inputs: run.inputs,
    events,
    ...(more ? { more: moreEventsUrl(run.id, access) } : {}),
    // A page opened on a run in progress follows it live through the same route and access.
    ...(run.status === "running" ? { live: moreEventsUrl(run.id, access) } : {}),
  };
}

export type SharedView =
  | { status: "not-found" | "revoked" }
  | { status: "ok"; document: WorkflowDocument; version: number; allowRun: boolean; run: RecordedRun | null };

/** What `/s/<id>` shows. */
export async function sharedView(shareId: string): Promise<SharedView> {
  if (!ShareId.safeParse(shareId).success) return { status: "not-found" };
  const { db } = await getDatabase();
  const link = await getSharedVersion(db, { id: shareId });
  if (link.status !== "ok") return link;
  const run = await latestRunOfVersion(db, { owner: link.owner, workflowId: link.workflowId, version: link.version, pageSize: replayPage() });
  return { status: "ok", document: link.document, version: link.version, allowRun: link.allowRun, run: run && replayRecord(run, { shareLink: shareId }) };
}

/** What `/r/<id>` shows: the run and the document it ran. */
export async function sharedRunView(shareId: string): Promise<{ document: WorkflowDocument; run: RecordedRun } | null> {
  if (!ShareId.safeParse(shareId).success) return null;
  const { db } = await getDatabase();
  const record = await getSharedRun(db, { shareId, pageSize: replayPage() });
  return record && { document: record.document, run: replayRecord(record, { runLink: shareId }) };
}

export const ForkRequest = z.strictObject({ from: z.enum(["link", "run"]), id: ShareId });

/** Copies a shared workflow (or the document of a shared run) into the caller's ownership. */
export async function fork(raw: unknown): Promise<ActionResult<{ id: string; version: number }>> {
  const request = ForkRequest.safeParse(raw);
  if (!request.success) return invalid(request.error);
  const { from, id } = request.data;
  const { db } = await getDatabase();
  // Only the document is needed: not the replay a view would load with it.
  const document = from === "link" ? await getSharedVersion(db, { id }).then((link) => (link.status === "ok" ? link.document : null)) : (await getSharedRun(db, { shareId: id }))?.document;
  if (!document) return { ok: false, error: { code: "not-shared", message: "this link is no longer shared" } };
  const owner = await ensureIdentity();
  const created = await createWorkflow(db, { owner, document: { ...document, name: copyName(document.name) } });
  return created.ok ? { ok: true, data: { id: created.id, version: created.version } } : { ok: false, error: { code: "invalid-document", message: "the shared workflow could not be copied" } };
}

const RunId = z.string().uuid();
const Via = z.union([z.literal(""), z.string().regex(/^(run|link):[A-Za-z0-9_-]{16,64}$/)]);

export type EventsPageAnswer =
  | { status: "ok"; page: RunEventsPage }
  | { status: "invalid" | "not-found" }
  | { status: "unavailable"; message: string };

/** A page of a recorded run's events for the events route: access through the owner's cookie or the link that opened the replay. */
export async function runEventsPage(request: { runId: string; after: string | null; via: string | null; cookie: string | null }): Promise<EventsPageAnswer> {
  const after = request.after === null ? -1 : Number(request.after);
  const via = Via.safeParse(request.via ?? "");
  if (!RunId.safeParse(request.runId).success || !Number.isInteger(after) || after < -1 || after > 2_147_483_647 || !via.success) return { status: "invalid" };
  let access: RunAccess;
  if (via.data.startsWith("run:")) access = { runLink: via.data.slice(4) };
  else if (via.data.startsWith("link:")) access = { shareLink: via.data.slice(5) };
  else {
    const owner = await identityFromCookieHeader(request.cookie);
    if (!owner) return { status: "not-found" };
    access = { owner };
  }
  try {
    const { db } = await getDatabase();
    const page = await getRunEventsPage(db, { runId: request.runId, access, after, limit: replayPage() });
    return page ? { status: "ok", page } : { status: "not-found" };
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    return { status: "unavailable", message: "could not reach the database; try again in a moment" };
  }
}
