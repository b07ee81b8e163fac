import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEvent, RunEventOf } from "@/lib/workflow";
import { DatabaseLockedError, openDatabase, type Database } from "./connect";
import { backends, template } from "@/testing/databases";
import * as q from "./queries";
import { runs } from "./schema";
import { normaliseJson } from "./text";
import { tempDir } from "@/testing/temp-dirs";

/**
 * One conformance suite for every backend: in-memory PGlite always, PostgreSQL too when
 * TEST_DATABASE_URL is set (CI installs and starts one).
 */
let owners = 0;
const newOwner = () => `owner-${Date.now()}-${owners++}`;
/** Admission with room for everything but the per-minute limit under test, and no daily budget. */
const roomyAdmission = (owner: string): q.Admission => ({ liveForMs: 60_000, maxRunning: 1_000, maxRunningPerIdentity: 1_000, maxModelSlots: 1_000, wantedSlots: 1, budget: { payer: owner, dailyTokens: 0, runTokens: 1_000 } });

describe.each(backends)("query module on %s", (_, open) => {
  let database: Database;
  beforeAll(async () => {
    database = await open();
  }, 30_000);
  afterAll(async () => database?.close());

  it("creates a workflow and reads it back for its owner only", async () => {
    const owner = newOwner();
    const created = await q.createWorkflow(database.db, { owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const read = await q.getWorkflowById(database.db, { owner, id: created.id });
    expect(read?.document).toEqual(template("routing"));
    expect(read?.version).toBe(1);
    expect(await q.getWorkflowById(database.db, { owner: newOwner(), id: created.id })).toBeNull();
    expect((await q.listWorkflows(database.db, { owner })).map((w) => w.name)).toEqual(["Routing"]);
  });

  it("creates a workflow under a client-chosen id once: a retried or repeated first save finds it, for its owner only", async () => {
    const owner = newOwner();
    const id = globalThis.crypto.randomUUID();
    expect(await q.createWorkflow(database.db, { owner, document: template("routing"), id })).toEqual({ ok: true, id, version: 1 });
    // The same request again (its answer was lost): the same workflow, no new version.
    expect(await q.createWorkflow(database.db, { owner, document: template("routing"), id })).toEqual({ ok: true, id, version: 1 });
    // Pressed again after more typing: the change lands as a version of that workflow.
    expect(await q.createWorkflow(database.db, { owner, document: { ...template("routing"), name: "Routing, again" }, id })).toEqual({ ok: true, id, version: 2 });
    expect(await q.createWorkflow(database.db, { owner: newOwner(), document: template("routing"), id })).toEqual({ ok: false, code: "not-found" });
    expect((await q.listWorkflows(database.db, { owner })).map((w) => [w.id, w.name])).toEqual([[id, "Routing, again"]]);
    const other = globalThis.crypto.randomUUID();
    const twice = await Promise.all([0, 1].map(() => q.createWorkflow(database.db, { owner, document: template("parallelization"), id: other })));
    expect(twice.map((result) => result.ok && result.version)).toEqual([1, 1]);
    expect(await q.listWorkflows(database.db, { owner })).toHaveLength(2);
  });

  it("refuses to store a document that does not parse", async () => {
    const result = await q.createWorkflow(database.db, { owner: newOwner(), document: { format: "trellis.workflow", version: 1 } });
    expect(result).toMatchObject({ ok: false, code: "invalid-document" });
  });

  it("saves immutable versions and detects a save on top of a stale version", async () => {
    const owner = newOwner();
    const created = await q.createWorkflow(database.db, { owner, document: template("parallelization") });
    if (!created.ok) throw new Error("not created");
    const edited = { ...template("parallelization"), name: "Parallel v2", nodes: template("parallelization").nodes.filter((n) => n.id !== "n_note") };
    expect(await q.saveVersion(database.db, { owner, id: created.id, document: edited, baseVersion: 1 })).toEqual({ ok: true, id: created.id, version: 2 });
    // A second tab still on version 1:
    expect(await q.saveVersion(database.db, { owner, id: created.id, document: template("parallelization"), baseVersion: 1 })).toEqual({ ok: false, code: "conflict", latestVersion: 2 });
    const versions = await q.listVersions(database.db, { owner, id: created.id });
    expect(versions?.map((v) => [v.version, v.summary])).toEqual([
      [2, "1 removed, renamed"],
      [1, "first version (7 nodes)"],
    ]);
    expect((await q.getWorkflowById(database.db, { owner, id: created.id, version: 1 }))?.document.name).toBe("Parallelization");
  });

  it("refuses other identities for save, delete, version history, share, revoke and run history", async () => {
    const owner = newOwner();
    const stranger = newOwner();
    const created = await q.createWorkflow(database.db, { owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    expect(await q.saveVersion(database.db, { owner: stranger, id: created.id, document: template("routing"), baseVersion: 1 })).toEqual({ ok: false, code: "not-found" });
    expect(await q.listVersions(database.db, { owner: stranger, id: created.id })).toBeNull();
    expect(await q.createShareLink(database.db, { owner: stranger, workflowId: created.id, version: 1 })).toBeNull();
    const link = await q.createShareLink(database.db, { owner, workflowId: created.id, version: 1 });
    expect(await q.revokeShareLink(database.db, { owner: stranger, id: link!.id })).toBe(false);
    await q.createRun(database.db, { id: `run-${stranger}`, owner, workflowId: created.id, version: 1, document: template("routing"), inputs: {}, processId: "p" });
    expect(await q.getRunEvents(database.db, { owner: stranger, runId: `run-${stranger}` })).toBeNull();
    expect(await q.getRunRecord(database.db, { owner: stranger, runId: `run-${stranger}` })).toBeNull();
    expect(await q.listRuns(database.db, { owner: stranger, workflowId: created.id })).toBeNull();
    expect(await q.shareRun(database.db, { owner: stranger, runId: `run-${stranger}` })).toBeNull();
    expect(await q.listShareLinks(database.db, { owner: stranger, workflowId: created.id })).toBeNull();
    expect(await q.setShareLinkAllowRun(database.db, { owner: stranger, id: link!.id, allowRun: true })).toBe(false);
    expect(await q.renameWorkflow(database.db, { owner: stranger, id: created.id, name: "Mine now" })).toEqual({ ok: false, code: "not-found" });
    expect(await q.duplicateWorkflow(database.db, { owner: stranger, id: created.id })).toEqual({ ok: false, code: "not-found" });
    expect(await q.deleteWorkflow(database.db, { owner: stranger, id: created.id })).toBe(false);
    expect(await q.deleteWorkflow(database.db, { owner, id: created.id })).toBe(true);
  });

  it("normalises NUL characters and lone surrogates instead of failing the save", async () => {
    const owner = newOwner();
    const doc = { ...template("routing"), name: "Nul\u0000 name", description: "half a pair: \uD83D end" };
    const created = await q.createWorkflow(database.db, { owner, document: doc });
    if (!created.ok) throw new Error(`not created: ${JSON.stringify(created)}`);
    const read = await q.getWorkflowById(database.db, { owner, id: created.id });
    expect(read?.document.name).toBe("Nul name");
    expect(read?.document.description).toBe("half a pair: \uFFFD end");
  });

  it("records runs with their events and marks runs of a gone process interrupted, keeping what completed", async () => {
    const owner = newOwner();
    const events: RunEvent[] = [
      { seq: 0, t: 0, type: "run-started", runId: "r", workflow: "w", inputs: {} },
      { seq: 1, t: 1, type: "node-started", nodeId: "a", iteration: 1 },
      { seq: 2, t: 5, type: "node-delta", nodeId: "a", text: "partial \u0000text" },
    ];
    await q.createRun(database.db, { id: `old-${owner}`, owner, document: template("routing"), inputs: { topic: "x" }, processId: "gone" });
    await q.appendRunEvents(database.db, { runId: `old-${owner}`, events });
    await q.createRun(database.db, { id: `live-${owner}`, owner, document: template("routing"), inputs: {}, processId: "me" });
    // A peer that is still beating keeps its runs when a sweep allows silence up to 30 s.
    const peer = `peer-${owner}`;
    await q.heartbeat(database.db, { processId: peer });
    await q.createRun(database.db, { id: `peer-${owner}`, owner, document: template("routing"), inputs: {}, processId: peer });
    expect(await q.markInterruptedRuns(database.db, { processId: "me", staleAfterMs: 30_000 })).toBeGreaterThanOrEqual(1);
    expect((await q.getRun(database.db, { owner, runId: `old-${owner}` }))?.status).toBe("interrupted");
    expect((await q.getRun(database.db, { owner, runId: `peer-${owner}` }))?.status).toBe("running");
    // With one process per data directory (PGlite) every other process is gone.
    expect(await q.markInterruptedRuns(database.db, { processId: "me" })).toBeGreaterThanOrEqual(1);
    expect((await q.getRun(database.db, { owner, runId: `peer-${owner}` }))?.status).toBe("interrupted");
    expect((await q.getRun(database.db, { owner, runId: `old-${owner}` }))?.status).toBe("interrupted");
    expect((await q.getRun(database.db, { owner, runId: `live-${owner}` }))?.status).toBe("running");
    const stored = await q.getRunEvents(database.db, { owner, runId: `old-${owner}` });
    expect(stored?.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(stored?.[2]).toMatchObject({ type: "node-delta", text: "partial text" });
    // Stored exactly as emitted, key order included (jsonb would put shorter keys first).
    expect(Object.keys(stored![0])).toEqual(["seq", "t", "type", "runId", "workflow", "inputs"]);
    await q.finishRun(database.db, {
      runId: `live-${owner}`,
      finished: { seq: 3, t: 9, type: "run-finished", status: "succeeded", outputs: { a: 1 }, state: {}, usage: { inputTokens: 1, outputTokens: 2 }, warnings: [], ms: 9 },
    });
    expect((await q.getRun(database.db, { owner, runId: `live-${owner}` }))?.status).toBe("succeeded");
  });

  it("stores a run's last events with its result in one statement: each event's exact text, normalised, once however often it is retried", async () => {
    const owner = newOwner();
    const runId = `last-${owner}`;
    await q.createRun(database.db, { id: runId, owner, document: template("routing"), inputs: { topic: "nul\u0000 and \uDC00 alone" }, processId: "p" });
    const finished: RunEventOf<"run-finished"> = {
      seq: 3, t: 9, type: "run-finished", status: "failed", outputs: { z: "last", a: "😀 \u0000" }, state: { b: 2.5, a: [1e21] },
      usage: { inputTokens: 1, outputTokens: 2 }, warnings: [{ code: "not-recorded", message: "\uD83D" }], error: { code: "e", message: "m" }, ms: 9,
    };
    const events: RunEvent[] = [
      { seq: 0, t: 0, type: "run-started", runId, workflow: "w", inputs: {} },
      { seq: 1, t: 1, type: "node-started", nodeId: "a", iteration: 1 },
      { seq: 2, t: 5, type: "node-delta", nodeId: "a", text: "é \\u0000 \u0000 \uD83D" },
      finished,
    ];
    await q.finishRun(database.db, { runId, finished, events });
    await q.finishRun(database.db, { runId, finished, events });
    const rows = await database.db.execute<{ text: string }>(sql`SELECT event::text AS text FROM run_events WHERE run_id = ${runId} ORDER BY seq`);
    const texts = (rows as unknown as { rows: Array<{ text: string }> }).rows.map((row) => row.text);
    expect(texts).toEqual(events.map((event) => JSON.stringify(normaliseJson(event))));
    expect(texts[2]).toBe('{"seq":2,"t":5,"type":"node-delta","nodeId":"a","text":"é \\\\u0000  \uFFFD"}');
    const run = await q.getRun(database.db, { owner, runId });
    expect(run).toMatchObject({ status: "failed", outputs: { z: "last", a: "😀 " }, usage: { inputTokens: 1, outputTokens: 2 }, warnings: [{ code: "not-recorded", message: "\uFFFD" }], error: { code: "e", message: "m" } });
    expect(run?.inputs).toEqual({ topic: "nul and \uFFFD alone" });
    expect(run?.finishedAt).toBeInstanceOf(Date);
  });

  it("stores the batches of several runs written together in one statement, each event's exact text, and one run's refused batch fails only its own", async () => {
    const owner = newOwner();
    const ids = [`g1-${owner}`, `g2-${owner}`];
    for (const id of ids) await q.createRun(database.db, { id, owner, document: template("routing"), inputs: {}, processId: "p" });
    const batch = (runId: string): RunEvent[] => [
      { seq: 0, t: 0, type: "run-started", runId, workflow: "w", inputs: { z: 1, a: "😀 é" } },
      { seq: 1, t: 2, type: "node-delta", nodeId: "a", text: `of ${runId}\u0000` },
    ];
    const written = await Promise.allSettled([...ids, `missing-${owner}`].map((runId) => q.appendRunEventsGrouped(database.db, { runId, events: batch(runId) })));
    expect(written.map((result) => result.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    for (const runId of ids) {
      const rows = await database.db.execute(sql`SELECT event::text AS text FROM run_events WHERE run_id = ${runId} ORDER BY seq`);
      expect((rows as unknown as { rows: Array<{ text: string }> }).rows.map((row) => row.text)).toEqual(batch(runId).map((event) => JSON.stringify(normaliseJson(event))));
    }
  });

  it("opens a share link read-only until it is revoked", async () => {
    const owner = newOwner();
    const created = await q.createWorkflow(database.db, { owner, document: template("evaluator-optimizer") });
    if (!created.ok) throw new Error("not created");
    const link = await q.createShareLink(database.db, { owner, workflowId: created.id, version: 1 });
    expect(link?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await q.getSharedVersion(database.db, { id: link!.id })).toMatchObject({ status: "ok", version: 1, allowRun: false });
    expect(await q.revokeShareLink(database.db, { owner, id: link!.id })).toBe(true);
    expect(await q.getSharedVersion(database.db, { id: link!.id })).toEqual({ status: "revoked" });
    expect(await q.getSharedVersion(database.db, { id: "nope" })).toEqual({ status: "not-found" });
  });

  it("renames as a new version, duplicates, and lists each workflow's last run status", async () => {
    const owner = newOwner();
    const created = await q.createWorkflow(database.db, { owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    expect(await q.renameWorkflow(database.db, { owner, id: created.id, name: "Support triage" })).toEqual({ ok: true, id: created.id, version: 2 });
    expect((await q.getWorkflowById(database.db, { owner, id: created.id }))?.document.name).toBe("Support triage");
    const copy = await q.duplicateWorkflow(database.db, { owner, id: created.id });
    if (!copy.ok) throw new Error("not duplicated");
    await q.createRun(database.db, { id: `r1-${owner}`, owner, workflowId: created.id, version: 2, document: template("routing"), inputs: {}, processId: "p" });
    const list = await q.listWorkflows(database.db, { owner });
    expect(list.map((w) => [w.name, w.latestVersion, w.lastRunStatus])).toEqual([
      ["Support triage (copy)", 1, null],
      ["Support triage", 2, "running"],
    ]);
  });

  it("counts an identity's recent runs per source, for rate limits every process agrees on", async () => {
    const owner = newOwner();
    for (const source of ["editor", "editor", "share"] as const) {
      await q.createRun(database.db, { id: `rate-${owner}-${Math.random()}`, owner, document: template("routing"), inputs: {}, processId: "p", source });
    }
    const editor = await q.recentRuns(database.db, { owner, source: "editor", windowMs: 60_000 });
    expect(editor.count).toBe(2);
    expect(editor.freeInMs).toBeGreaterThan(50_000);
    expect(editor.freeInMs).toBeLessThanOrEqual(60_000);
    expect((await q.recentRuns(database.db, { owner, source: "share", windowMs: 60_000 })).count).toBe(1);
    expect(await q.recentRuns(database.db, { owner: newOwner(), source: "editor", windowMs: 60_000 })).toEqual({ count: 0, freeInMs: 0 });
  });

  it("counts only the rate window, and names when the newest runs up to the limit leave it", async () => {
    const owner = newOwner();
    const startedAgo = async (id: string, seconds: number) => {
      await q.createRun(database.db, { id, owner, document: template("routing"), inputs: {}, processId: "p", source: "editor" });
      await database.db.update(runs).set({ startedAt: sql`now() - make_interval(secs => ${seconds})` }).where(eq(runs.id, id));
    };
    // Runs long gone from the window do not count, however many there are.
    for (let i = 0; i < 40; i++) await startedAgo(`old-${owner}-${i}`, 120 + i);
    for (const [i, seconds] of [50, 20, 10].entries()) await startedAgo(`recent-${owner}-${i}`, seconds);
    expect((await q.recentRuns(database.db, { owner, source: "editor", windowMs: 60_000 })).count).toBe(3);
    // At a limit of 2, the identity has room once the second newest (20 s ago) leaves, in about
    // 40 s: not when the oldest in the window (50 s ago) does, which would still leave two.
    const atTwo = await q.recentRuns(database.db, { owner, source: "editor", windowMs: 60_000, limit: 2 });
    expect(atTwo.count).toBe(2);
    expect(atTwo.freeInMs).toBeGreaterThan(35_000);
    expect(atTwo.freeInMs).toBeLessThanOrEqual(40_000);
    const admission = roomyAdmission(owner);
    const start = (id: string, limit: number) =>
      q.createRunWithinRate(database.db, { id, owner, source: "editor", windowMs: 60_000, limit, admission, document: template("routing"), inputs: {}, processId: "p" });
    const refused = await start(`refused-${owner}`, 2);
    expect(refused).toMatchObject({ ok: false, code: "rate-limited" });
    if (refused.ok || refused.code !== "rate-limited") throw new Error("not rate-limited");
    expect(refused.freeInMs).toBeGreaterThan(35_000);
    expect(refused.freeInMs).toBeLessThanOrEqual(40_000);
    expect(await start(`admitted-${owner}`, 4)).toMatchObject({ ok: true });
    expect(await start(`full-${owner}`, 4)).toMatchObject({ ok: false, code: "rate-limited" });
  });

  it("reads no run of the window to admit a run with no per-minute limit (an evaluation's row)", async () => {
    const owner = newOwner();
    for (let i = 0; i < 5; i++) await q.createRun(database.db, { id: `eval-${owner}-${i}`, owner, document: template("routing"), inputs: {}, processId: "p", source: "eval" });
    const admission = roomyAdmission(owner);
    // Index entries this transaction has read from runs_owner_source, the rate count's index.
    await database.db.transaction(async (tx) => {
      const read = async () => {
        const result = (await tx.execute(sql`SELECT pg_stat_get_xact_tuples_returned('runs_owner_source'::regclass)::int AS n`)) as unknown as { rows: Array<{ n: number }> };
        return result.rows[0].n;
      };
      const start = (id: string, limit: number | null) =>
        q.createRunWithinRate(tx, { id, owner, source: "eval", windowMs: 60_000, limit, admission, document: template("routing"), inputs: {}, processId: "p" });
      const before = await read();
      expect(await start(`unlimited-${owner}`, null)).toMatchObject({ ok: true });
      const unlimited = (await read()) - before;
      expect(await start(`limited-${owner}`, 1_000)).toMatchObject({ ok: true });
      const limited = (await read()) - before - unlimited;
      expect(unlimited).toBe(0);
      // The counted start read the five runs and the one just admitted.
      expect(limited).toBeGreaterThanOrEqual(6);
    });
  });

  it("admits at most the limit of runs when 60 requests of one identity arrive at once", async () => {
    const owner = newOwner();
    const attempts = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        q.createRunWithinRate(database.db, { id: `burst-${owner}-${i}`, owner, source: "editor", windowMs: 60_000, limit: 30, document: template("routing"), inputs: {}, processId: "p" }),
      ),
    );
    expect(attempts.filter((a) => a.ok)).toHaveLength(30);
    const refused = attempts.filter((a) => !a.ok);
    expect(refused).toHaveLength(30);
    for (const attempt of refused) expect(attempt).toMatchObject({ ok: false, code: "rate-limited", freeInMs: expect.any(Number) });
    expect((await q.recentRuns(database.db, { owner, source: "editor", windowMs: 60_000 })).count).toBe(30);
    // Each identity and source has its own allowance; a taken id is a duplicate, not a second run.
    const share = { owner, source: "share" as const, windowMs: 60_000, limit: 1, document: template("routing"), inputs: {}, processId: "p" };
    expect(await q.createRunWithinRate(database.db, { ...share, id: `share-${owner}` })).toEqual({ ok: true });
    expect(await q.createRunWithinRate(database.db, { ...share, id: `burst-${owner}-0`, limit: 5 })).toEqual({ ok: false, code: "duplicate" });
  }, 60_000);

  it("answers not-found for version numbers no database integer holds, instead of failing", async () => {
    const owner = newOwner();
    const created = await q.createWorkflow(database.db, { owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    for (const version of [2 ** 31, 2 ** 53, 1e300, 1.5, 0, -1]) {
      expect(await q.getWorkflowById(database.db, { owner, id: created.id, version })).toBeNull();
      expect(await q.latestRunOfVersion(database.db, { owner, workflowId: created.id, version })).toBeNull();
      expect(await q.createShareLink(database.db, { owner, workflowId: created.id, version })).toBeNull();
    }
    expect((await q.getWorkflowById(database.db, { owner, id: created.id, version: 2 ** 31 - 1 }))).toBeNull();
  });

  it("gives an interrupted run the duration it ran (to its last event), not the time until a restart noticed", async () => {
    const owner = newOwner();
    await q.createRun(database.db, { id: `cut-${owner}`, owner, document: template("routing"), inputs: {}, processId: "gone" });
    await q.createRun(database.db, { id: `empty-${owner}`, owner, document: template("routing"), inputs: {}, processId: "gone" });
    await q.appendRunEvents(database.db, {
      runId: `cut-${owner}`,
      events: [
        { seq: 0, t: 0, type: "run-started", runId: "r", workflow: "w", inputs: {} },
        { seq: 1, t: 1_250, type: "node-started", nodeId: "a", iteration: 1 },
      ],
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await q.markInterruptedRuns(database.db, { processId: "me" });
    const cut = await q.getRun(database.db, { owner, runId: `cut-${owner}` });
    expect(cut?.finishedAt!.getTime() - cut!.startedAt.getTime()).toBe(1_250);
    const empty = await q.getRun(database.db, { owner, runId: `empty-${owner}` });
    expect(empty?.finishedAt!.getTime()).toBe(empty?.startedAt.getTime());
  });

  it("stores a batch of events once when a write is retried after it went through", async () => {
    const owner = newOwner();
    await q.createRun(database.db, { id: `retry-${owner}`, owner, document: template("routing"), inputs: {}, processId: "p" });
    const events: RunEvent[] = [{ seq: 0, t: 0, type: "run-started", runId: "r", workflow: "w", inputs: {} }];
    await q.appendRunEvents(database.db, { runId: `retry-${owner}`, events });
    await q.appendRunEvents(database.db, { runId: `retry-${owner}`, events });
    expect(await q.getRunEvents(database.db, { owner, runId: `retry-${owner}` })).toHaveLength(1);
  });

  it("keeps the document that ran, lists runs, and shares one run by an unguessable id", async () => {
    const owner = newOwner();
    const created = await q.createWorkflow(database.db, { owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const edited = { ...template("routing"), name: "Edited, not saved" };
    expect(await q.createRun(database.db, { id: `a-${owner}`, owner, workflowId: created.id, version: 1, document: template("routing"), inputs: { q: 1 }, processId: "p" })).toBe(true);
    expect(await q.createRun(database.db, { id: `a-${owner}`, owner, document: template("routing"), inputs: {}, processId: "p" })).toBe(false);
    await q.createRun(database.db, { id: `b-${owner}`, owner, workflowId: created.id, version: 1, document: edited, edited: true, inputs: {}, processId: "p" });
    const finished: RunEventOf<"run-finished"> = { seq: 1, t: 3, type: "run-finished", status: "succeeded", outputs: {}, state: {}, usage: { inputTokens: 1, outputTokens: 1 }, warnings: [], ms: 3 };
    await q.appendRunEvents(database.db, { runId: `a-${owner}`, events: [{ seq: 0, t: 0, type: "run-started", runId: `a-${owner}`, workflow: "Routing", inputs: {} }, finished] });
    await q.finishRun(database.db, { runId: `a-${owner}`, finished });
    await q.finishRun(database.db, { runId: `b-${owner}`, finished });
    expect((await q.listRuns(database.db, { owner, workflowId: created.id }))?.map((r) => [r.id, r.edited])).toEqual([
      [`b-${owner}`, true],
      [`a-${owner}`, false],
    ]);
    // A share link shows the newest run of exactly its version: the edited run is not that version.
    expect((await q.latestRunOfVersion(database.db, { owner, workflowId: created.id, version: 1 }))?.run.id).toBe(`a-${owner}`);
    const record = await q.getRunRecord(database.db, { owner, runId: `b-${owner}` });
    expect(record?.document.name).toBe("Edited, not saved");
    const shared = await q.shareRun(database.db, { owner, runId: `a-${owner}` });
    expect(shared?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(await q.shareRun(database.db, { owner, runId: `a-${owner}` })).toEqual(shared);
    const opened = await q.getSharedRun(database.db, { shareId: shared!.id });
    expect(opened?.events.map((e) => e.type)).toEqual(["run-started", "run-finished"]);
    expect(opened?.run.inputs).toEqual({ q: 1 });
    expect(await q.unshareRun(database.db, { owner, runId: `a-${owner}` })).toBe(true);
    expect(await q.getSharedRun(database.db, { shareId: shared!.id })).toBeNull();
  });

  it("serves a run's events in pages, to whoever may see them", async () => {
    const owner = newOwner();
    const created = await q.createWorkflow(database.db, { owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const runId = `paged-${owner}`;
    await q.createRun(database.db, { id: runId, owner, workflowId: created.id, version: 1, document: template("routing"), inputs: {}, processId: "p" });
    const events: RunEvent[] = [{ seq: 0, t: 0, type: "run-started", runId, workflow: "Routing", inputs: {} }, { seq: 1, t: 0, type: "node-started", nodeId: "a", iteration: 1 }];
    for (let i = 0; i < 48; i++) events.push({ seq: events.length, t: 1 + i * 50, type: "node-delta", nodeId: "a", text: `${i % 10}` });
    const finished: RunEventOf<"run-finished"> = { seq: events.length, t: 2_500, type: "run-finished", status: "succeeded", outputs: {}, state: {}, usage: { inputTokens: 1, outputTokens: 1 }, warnings: [], ms: 2_500 };
    events.push(finished);
    for (let i = 0; i < events.length; i += 16) await q.appendRunEvents(database.db, { runId, events: events.slice(i, i + 16) });
    await q.finishRun(database.db, { runId, finished });
    const stored = (await q.getRunEvents(database.db, { owner, runId }))!;
    expect(stored).toEqual(events);

    const firstPage = await q.runEventsPage(database.db, { runId, limit: 20 });
    expect(firstPage).toMatchObject({ more: true });
    expect(firstPage.events).toEqual(stored.slice(0, 20));
    const rest = await q.runEventsPage(database.db, { runId, after: firstPage.events.at(-1)!.seq, limit: 1_000 });
    expect(rest.more).toBe(false);
    expect([...firstPage.events, ...rest.events]).toEqual(stored);
    const record = await q.getRunRecord(database.db, { owner, runId });
    expect(record).toMatchObject({ more: false, events: stored });

    // Access: the owner, the run's own link, the share link whose replay it is; nobody else.
    const page = (access: q.RunAccess) => q.getRunEventsPage(database.db, { runId, access, limit: 5 });
    expect((await page({ owner }))?.events).toHaveLength(5);
    expect(await page({ owner: newOwner() })).toBeNull();
    expect(await page({ runLink: "not-a-link-0000000" })).toBeNull();
    const runLink = await q.shareRun(database.db, { owner, runId });
    expect((await page({ runLink: runLink!.id }))?.events).toHaveLength(5);
    const link = await q.createShareLink(database.db, { owner, workflowId: created.id, version: 1 });
    expect((await page({ shareLink: link!.id }))?.events).toHaveLength(5);
    // A newer run of the version takes the link's replay over: the older one is no longer reachable through it.
    await q.createRun(database.db, { id: `newer-${owner}`, owner, workflowId: created.id, version: 1, document: template("routing"), inputs: {}, processId: "p" });
    await q.finishRun(database.db, { runId: `newer-${owner}`, finished });
    expect(await page({ shareLink: link!.id })).toBeNull();
    await q.revokeShareLink(database.db, { owner, id: link!.id });
    expect(await q.getRunEventsPage(database.db, { runId: `newer-${owner}`, access: { shareLink: link!.id } })).toBeNull();
  });

  it("deletes the events of runs finished longer ago than the retention, in bounded batches, keeping each run and its result", async () => {
    const owner = newOwner();
    const finished: RunEventOf<"run-finished"> = { seq: 3, t: 30, type: "run-finished", status: "succeeded", outputs: { joke: "ha" }, state: {}, usage: { inputTokens: 1, outputTokens: 2 }, warnings: [], ms: 30 };
    const events = (runId: string): RunEvent[] => [
      { seq: 0, t: 0, type: "run-started", runId, workflow: "w", inputs: {} },
      { seq: 1, t: 1, type: "node-started", nodeId: "a", iteration: 1 },
      { seq: 2, t: 200, type: "node-delta", nodeId: "a", text: "ha" },
      finished,
    ];
    for (const name of ["old", "recent", "running"]) {
      const runId = `${name}-${owner}`;
      await q.createRun(database.db, { id: runId, owner, document: template("routing"), inputs: {}, processId: "p" });
      await q.appendRunEvents(database.db, { runId, events: events(runId) });
      if (name !== "running") await q.finishRun(database.db, { runId, finished });
    }
    // "old" finished 10 days ago; "running" started then but is still running.
    await database.db.update(runs).set({ startedAt: sql`now() - interval '10 days'`, finishedAt: sql`now() - interval '10 days' + interval '30 milliseconds'` }).where(eq(runs.id, `old-${owner}`));
    await database.db.update(runs).set({ startedAt: sql`now() - interval '10 days'` }).where(eq(runs.id, `running-${owner}`));
    let deleted = 0;
    for (let batch; (batch = await q.deleteExpiredRunEvents(database.db, { days: 7, batch: 3 })) > 0; ) {
      expect(batch).toBeLessThanOrEqual(3);
      deleted += batch;
    }
    expect(deleted).toBeGreaterThanOrEqual(4);
    expect(await q.getRunEvents(database.db, { owner, runId: `old-${owner}` })).toEqual([]);
    expect(await q.getRunEvents(database.db, { owner, runId: `recent-${owner}` })).toHaveLength(4);
    expect(await q.getRunEvents(database.db, { owner, runId: `running-${owner}` })).toHaveLength(4);
    // What they leave is made reusable (PGlite has no autovacuum), on either backend.
    await q.vacuumRunEvents(database.db);
    // The run and its result stay: its replay is its result.
    const old = await q.getRunRecord(database.db, { owner, runId: `old-${owner}` });
    expect(old?.run).toMatchObject({ status: "succeeded", outputs: { joke: "ha" } });
    expect(old?.events).toEqual([{ seq: 0, t: 30, type: "run-finished", status: "succeeded", outputs: { joke: "ha" }, state: {}, usage: { inputTokens: 1, outputTokens: 2 }, warnings: [], ms: 30 }]);
  });
});

describe("runs on PGlite, which has no autovacuum", () => {
  it("vacuums runs once the versions finished runs leave behind pass the autovacuum threshold", async () => {
    const database = await openDatabase({});
    try {
      const dead = async () => {
        // Statistics reach the shared counters at most once a second unless a flush is asked for.
        await database.db.execute(sql`SELECT pg_stat_force_next_flush()`);
        const result = (await database.db.execute(sql`SELECT n_dead_tup::int AS dead FROM pg_stat_user_tables WHERE relid = 'runs'::regclass`)) as unknown as { rows: Array<{ dead: number }> };
        return result.rows[0].dead;
      };
      const finished: RunEventOf<"run-finished"> = { seq: 0, t: 1, type: "run-finished", status: "succeeded", outputs: {}, state: {}, usage: { inputTokens: 1, outputTokens: 1 }, warnings: [], ms: 1 };
      const finishRuns = async (from: number, count: number) => {
        for (let i = from; i < from + count; i++) {
          await q.createRun(database.db, { id: `vacuum-${i}`, owner: "vacuum", document: template("routing"), inputs: {}, processId: "p" });
          await q.finishRun(database.db, { runId: `vacuum-${i}`, finished });
        }
      };
      // 40 finished runs leave 40 dead versions: under 50 + a fifth of 40.
      await finishRuns(0, 40);
      const few = await dead();
      expect(few).toBeGreaterThan(0);
      expect(few).toBeLessThanOrEqual(58);
      expect(await q.vacuumRunsWhenDue(database.db)).toBe(false);
      // 100 more: up to 140 dead among 140 rows, past 50 + 28.
      await finishRuns(40, 100);
      expect(await dead()).toBeGreaterThan(78);
      expect(await q.vacuumRunsWhenDue(database.db)).toBe(true);
      expect(await dead()).toBe(0);
      expect(await q.vacuumRunsWhenDue(database.db)).toBe(false);
      expect((await q.getRun(database.db, { owner: "vacuum", runId: "vacuum-139" }))?.status).toBe("succeeded");
    } finally {
      await database.close();
    }
  }, 60_000);
});

describe("embedded data directory", () => {
  it("refuses a second process on the same data directory with a clear message", async () => {
    const dir = join(tempDir("trellis-db-"), "data");
    // A lock held by another live process (our parent stands in for it).
    writeFileSync(`${dir}.lock`, String(process.ppid));
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(DatabaseLockedError);
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/in use by another Trellis process/);
  });

  it("takes over a stale lock, applies migrations once, and keeps data across restarts", async () => {
    const dir = join(tempDir("trellis-db-"), "data");
    writeFileSync(`${dir}.lock`, "999999");
    const first = await openDatabase({ dataDir: dir });
    const created = await q.createWorkflow(first.db, { owner: "o", document: template("routing") });
    await first.close();
    const second = await openDatabase({ dataDir: dir });
    if (!created.ok) throw new Error("not created");
    expect((await q.getWorkflowById(second.db, { owner: "o", id: created.id }))?.name).toBe("Routing");
    await second.close();
  }, 30_000);
});
