import { randomUUID } from "node:crypto";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunEventOf } from "@/lib/workflow";
import type { RowResult } from "@/lib/workflow/eval/types";
import type { Database, Db } from "./connect";
import { backends, template } from "@/testing/databases";
import * as e from "./eval-queries";
import { MIGRATIONS_FOLDER, migratePgliteDatabase } from "./migrate";
import * as q from "./queries";
import { runs } from "./schema";
import { tempDir } from "@/testing/temp-dirs";

/**
 * The daily spend ledger (daily_spend) that admission reads instead of summing the day's runs: a
 * trigger on runs keeps it equal to what the runs that ended used, per payer, scope and UTC day the
 * run started on. On in-memory PGlite and, when TEST_DATABASE_URL is set, on PostgreSQL.
 */
const newPayer = () => `spend-${randomUUID()}`;
type Source = "editor" | "share" | "eval";
type Usage = { inputTokens: number; outputTokens: number };

const ended = (usage: Usage, status: "succeeded" | "failed" | "cancelled" = "succeeded"): RunEventOf<"run-finished"> => ({
  seq: 1,
  t: 1,
  type: "run-finished",
  status,
  outputs: {},
  state: {},
  usage,
  warnings: [],
  ms: 1,
});

async function rows<T>(db: Db, query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

/** A run of `payer` in progress (as admission records it), started `daysAgo` UTC days before today. */
async function startRun(db: Db, { payer, source = "editor", daysAgo = 0, tokenBudget = 1_000 }: { payer: string; source?: Source; daysAgo?: number; tokenBudget?: number }) {
  const id = randomUUID();
  await q.createRun(db, { id, owner: payer, payer, source, document: template("routing"), inputs: {}, processId: "spend-test", tokenBudget });
  if (daysAgo) await db.update(runs).set({ startedAt: sql`now() - make_interval(days => ${daysAgo})` }).where(eq(runs.id, id));
  return id;
}

/** The payer's ledger rows, as `scope day` → tokens (rows at 0 left out). */
async function ledger(db: Db, payer: string): Promise<Record<string, number>> {
  const found = await rows<{ scope: string; day: string; tokens: string | number }>(db, sql`SELECT scope, "day"::text AS day, tokens FROM daily_spend WHERE payer = ${payer} AND tokens <> 0`);
  return Object.fromEntries(found.map((row) => [`${row.scope} ${row.day}`, Number(row.tokens)]));
}

/** The same, summed from the runs as admission did before the ledger: what the ledger must always equal. */
async function summedFromRuns(db: Db, payer: string): Promise<Record<string, number>> {
  const found = await rows<{ scope: string; day: string; tokens: string | number }>(
    db,
    sql`SELECT CASE WHEN source = 'share' THEN 'share' ELSE 'own' END AS scope, (started_at AT TIME ZONE 'UTC')::date::text AS day, sum(trellis_run_tokens(usage, check_usage)) AS tokens
        FROM runs WHERE payer = ${payer} AND status <> 'running' GROUP BY 1, 2 HAVING sum(trellis_run_tokens(usage, check_usage)) <> 0`,
  );
  return Object.fromEntries(found.map((row) => [`${row.scope} ${row.day}`, Number(row.tokens)]));
}

async function utcDay(db: Db, daysAgo = 0): Promise<string> {
  const [row] = await rows<{ day: string }>(db, sql`SELECT ((now() AT TIME ZONE 'UTC')::date - ${daysAgo}::int)::text AS day`);
  return row.day;
}

describe.each(backends)("daily spend ledger on %s", (_, open) => {
  let database: Database;
  let db: Db;
  beforeAll(async () => {
    database = await open();
    db = database.db;
  }, 30_000);
  afterAll(async () => database?.close());

  it("counts a run's tokens once when it ends, not while it runs, and a repeated finish not again", async () => {
    const payer = newPayer();
    const today = await utcDay(db);
    const id = await startRun(db, { payer });
    expect(await ledger(db, payer)).toEqual({});
    await q.finishRun(db, { runId: id, finished: ended({ inputTokens: 100, outputTokens: 20 }) });
    expect(await ledger(db, payer)).toEqual({ [`own ${today}`]: 120 });
    // A retried finish (its answer was lost), and a second writer ending it otherwise (cluster mode's cancel path).
    await q.finishRun(db, { runId: id, finished: ended({ inputTokens: 100, outputTokens: 20 }) });
    await q.finishRun(db, { runId: id, finished: ended({ inputTokens: 100, outputTokens: 20 }, "cancelled") });
    expect(await ledger(db, payer)).toEqual({ [`own ${today}`]: 120 });
    const other = await startRun(db, { payer, source: "eval" });
    await Promise.all([0, 1, 2].map(() => q.finishRun(db, { runId: other, finished: ended({ inputTokens: 5, outputTokens: 5 }, "failed") })));
    expect(await ledger(db, payer)).toEqual({ [`own ${today}`]: 130 });
    expect(await ledger(db, payer)).toEqual(await summedFromRuns(db, payer));
  });

  it("adds an evaluation's check usage written after its run ended, once however often the result is written", async () => {
    const payer = newPayer();
    const today = await utcDay(db);
    const workflow = await q.createWorkflow(db, { owner: payer, document: template("prompt-chaining") });
    if (!workflow.ok) throw new Error("workflow not created");
    const dataset = await e.createDataset(db, {
      owner: payer,
      workflowId: workflow.id,
      dataset: { name: "One", rows: [{ id: "r1", inputs: { topic: "t" }, expected: {} }], assertions: [{ id: "a1", kind: "contains", key: "joke", value: "t" }] },
    });
    if (!dataset.ok) throw new Error("dataset not created");
    const evaluation = await e.createEvaluation(db, { owner: payer, workflowId: workflow.id, version: 1, datasetId: dataset.id, datasetVersion: 1, concurrency: 1, processId: "p" });
    if (!evaluation.ok) throw new Error("evaluation not created");
    const runId = await startRun(db, { payer, source: "eval" });
    await q.finishRun(db, { runId, finished: ended({ inputTokens: 100, outputTokens: 50 }) });
    const result: RowResult = {
      rowId: "r1",
      index: 0,
      runId,
      status: "succeeded",
      pass: true,
      outputs: {},
      verdicts: [{ assertionId: "a1", pass: true, reason: "judged", usage: { inputTokens: 30, outputTokens: 7 }, model: "demo:default" }],
      usage: { inputTokens: 100, outputTokens: 50 },
      latencyMs: 1,
      costUsd: null,
    };
    await e.recordEvalResult(db, { evaluationId: evaluation.id, result });
    await e.recordEvalResult(db, { evaluationId: evaluation.id, result });
    expect(await ledger(db, payer)).toEqual({ [`own ${today}`]: 187 });
    expect(await q.tokenUsage(db, { payer })).toMatchObject({ today: 187, sharedToday: 0 });
  });

  it("counts a run toward the UTC day it started on, not the day it ended", async () => {
    const payer = newPayer();
    const id = await startRun(db, { payer, daysAgo: 1 });
    await q.finishRun(db, { runId: id, finished: ended({ inputTokens: 40, outputTokens: 2 }) });
    expect(await ledger(db, payer)).toEqual({ [`own ${await utcDay(db, 1)}`]: 42 });
    expect((await q.tokenUsage(db, { payer })).today).toBe(0);
  });

  it("keeps the payer's own runs (editor, eval) and their shared links' visitors' runs apart", async () => {
    const payer = newPayer();
    const today = await utcDay(db);
    for (const [source, tokens] of [["editor", 10], ["eval", 20], ["share", 300]] as const) {
      const id = await startRun(db, { payer, source });
      await q.finishRun(db, { runId: id, finished: ended({ inputTokens: tokens, outputTokens: 0 }) });
    }
    expect(await ledger(db, payer)).toEqual({ [`own ${today}`]: 30, [`share ${today}`]: 300 });
    expect(await q.tokenUsage(db, { payer })).toEqual({ today: 30, month: expect.any(Number), sharedToday: 300, sharedMonth: expect.any(Number) });
  });

  it("follows a run the sweep marked interrupted and cluster mode took back up, and runs claimed by an account", async () => {
    const payer = newPayer();
    const today = await utcDay(db);
    const id = await startRun(db, { payer });
    await db.update(runs).set({ checkUsage: { inputTokens: 3, outputTokens: 0 } }).where(eq(runs.id, id));
    expect(await ledger(db, payer)).toEqual({});
    await q.markInterruptedRuns(db, { processId: "another-process" });
    expect((await q.getRun(db, { owner: payer, runId: id }))?.status).toBe("interrupted");
    expect(await ledger(db, payer)).toEqual({ [`own ${today}`]: 3 });
    // DBOS recovered it elsewhere (cluster.ts claimRun): running again, then it ends for good.
    await db.update(runs).set({ status: "running", error: null, finishedAt: null }).where(eq(runs.id, id));
    expect(await ledger(db, payer)).toEqual({});
    await q.finishRun(db, { runId: id, finished: ended({ inputTokens: 10, outputTokens: 10 }) });
    expect(await ledger(db, payer)).toEqual({ [`own ${today}`]: 23 });
    const account = newPayer();
    await q.claimWorkflows(db, { from: payer, to: account });
    expect(await ledger(db, payer)).toEqual({});
    expect(await ledger(db, account)).toEqual({ [`own ${today}`]: 23 });
  });

  it("admits up to the daily budget exactly: what ended, plus the budgets of live runs, from today only", async () => {
    const payer = newPayer();
    const admission = (dailyTokens: number): q.Admission => ({
      liveForMs: 60_000,
      maxRunning: 100_000,
      maxRunningPerIdentity: 100_000,
      maxModelSlots: 1_000_000,
      wantedSlots: 1,
      budget: { payer, dailyTokens, runTokens: 500 },
    });
    const admit = (dailyTokens: number, source: Source = "editor") =>
      q.createRunWithinRate(db, { id: randomUUID(), owner: payer, source, document: template("routing"), inputs: {}, processId: "spend-test", windowMs: 60_000, limit: 1_000, admission: admission(dailyTokens) });
    // Yesterday's spending and a shared link's do not count toward today's own budget.
    const yesterday = await startRun(db, { payer, daysAgo: 1 });
    await q.finishRun(db, { runId: yesterday, finished: ended({ inputTokens: 10_000, outputTokens: 0 }) });
    const shared = await startRun(db, { payer, source: "share" });
    await q.finishRun(db, { runId: shared, finished: ended({ inputTokens: 10_000, outputTokens: 0 }) });
    const done = await startRun(db, { payer });
    await q.finishRun(db, { runId: done, finished: ended({ inputTokens: 600, outputTokens: 100 }) });
    // A live run counts its budget; one left `running` past liveForMs counts what it recorded (nothing).
    await startRun(db, { payer, tokenBudget: 250 });
    const stale = await startRun(db, { payer, tokenBudget: 9_000 });
    await db.update(runs).set({ startedAt: sql`greatest(now() - interval '2 minutes', date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')` }).where(eq(runs.id, stale));
    expect(await admit(950)).toMatchObject({ ok: false, code: "budget-exceeded", used: 950, limit: 950 });
    expect(await admit(951)).toEqual({ ok: true, modelSlots: 1, tokenBudget: 1 });
    // That run now counts its budget of 1 too.
    expect(await admit(951)).toMatchObject({ ok: false, code: "budget-exceeded", used: 951 });
    expect(await admit(10_000, "share")).toMatchObject({ ok: false, code: "budget-exceeded", used: 10_000 });
    expect(await admit(10_001, "share")).toEqual({ ok: true, modelSlots: 1, tokenBudget: 1 });
  });
});

describe("daily spend migration", () => {
  it("counts what runs spent before the upgrade, per payer, scope and day, leaving runs in progress out", async () => {
    // The migrations before the ledger, then runs as that release recorded them, then the upgrade.
    const before = join(tempDir("trellis-before-ledger-"), "migrations");
    cpSync(MIGRATIONS_FOLDER, before, { recursive: true });
    const journalPath = join(before, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: Array<{ tag: string }> };
    const at = journal.entries.findIndex((entry) => entry.tag === "0004_daily_spend");
    for (const entry of journal.entries.slice(at)) rmSync(join(before, `${entry.tag}.sql`));
    writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
    const client = new PGlite();
    await migratePgliteDatabase(client, { migrationsFolder: before });
    await client.exec(`
      INSERT INTO runs (id, owner, payer, source, status, inputs, usage, check_usage, process_id, started_at) VALUES
        ('a', 'o', 'p', 'editor', 'succeeded', '{}', '{"inputTokens": 10, "outputTokens": 5}', NULL, 'x', now()),
        ('b', 'o', 'p', 'eval', 'failed', '{}', '{"inputTokens": 1, "outputTokens": 1}', '{"inputTokens": 7, "outputTokens": 0}', 'x', now()),
        ('c', 'o', 'p', 'share', 'cancelled', '{}', '{"inputTokens": 100, "outputTokens": 0}', NULL, 'x', now()),
        ('d', 'o', 'p', 'editor', 'succeeded', '{}', '{"inputTokens": 1000, "outputTokens": 0}', NULL, 'x', now() - interval '1 day'),
        ('e', 'o', 'p', 'editor', 'running', '{}', NULL, NULL, 'x', now()),
        ('f', 'o', NULL, 'editor', 'succeeded', '{}', '{"inputTokens": 5, "outputTokens": 5}', NULL, 'x', now());
    `);
    await migratePgliteDatabase(client);
    const { rows: spent } = await client.query<{ payer: string; scope: string; day: string; tokens: number }>(
      `SELECT payer, scope, "day"::text AS day, tokens::int AS tokens FROM daily_spend ORDER BY "day", scope`,
    );
    const { rows: days } = await client.query<{ today: string; yesterday: string }>(
      `SELECT (now() AT TIME ZONE 'UTC')::date::text AS today, ((now() - interval '1 day') AT TIME ZONE 'UTC')::date::text AS yesterday`,
    );
    const { today, yesterday } = days[0];
    expect(spent).toEqual([
      { payer: "p", scope: "own", day: yesterday, tokens: 1000 },
      { payer: "p", scope: "own", day: today, tokens: 24 },
      { payer: "p", scope: "share", day: today, tokens: 100 },
    ]);
    // From here on the trigger keeps it: the run in progress ends.
    await client.query(`UPDATE runs SET status = 'succeeded', usage = '{"inputTokens": 50, "outputTokens": 0}' WHERE id = 'e'`);
    expect((await client.query(`SELECT tokens::int AS tokens FROM daily_spend WHERE payer = 'p' AND scope = 'own' AND "day" = $1`, [today])).rows).toEqual([{ tokens: 74 }]);
    await client.close();
  });
});
