import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq, inArray } from "drizzle-orm";
import { findTemplate, parseDocument, type ModelCall, type WorkflowDocument } from "@/lib/workflow";
import type { Dataset } from "@/lib/workflow/eval";
import { openDatabase, type Database } from "./db/connect";
import * as e from "./db/eval-queries";
import * as q from "./db/queries";
import { runs } from "./db/schema";
import { cancelEvaluationFor, evaluationViewFor, launchEvaluation, progressOf, type EvalContext } from "./evals";
import { createModels } from "./models";
import type { AdmissionConfig } from "./config";

/** The evaluation service: rows as ordinary runs, the concurrency cap, cancel, progress, judge and prices. */

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

let database: Database;
let owners = 0;
const ADMISSION: AdmissionConfig = { maxConcurrentRuns: 20, maxConcurrentModelCalls: 64, maxRunsPerIdentity: 4, dailyTokens: 0, sharedDailyTokens: 0 };

/** Demo models at a given pace, counting the model calls in flight at once. */
function pacedModels(chunkDelayMs: number) {
  const models = createModels({ demo: { firstTokenDelayMs: 5, chunkDelayMs }, limits: {}, coalesceMs: 0 });
  const flight = { now: 0, max: 0 };
  const port = {
    async *stream(call: ModelCall, signal: AbortSignal) {
      flight.max = Math.max(flight.max, ++flight.now);
      try {
        yield* models.port.stream(call, signal);
      } finally {
        flight.now--;
      }
    },
  };
  return { flight, models: { ...models, port } };
}

function context(extra: Partial<EvalContext> = {}): EvalContext {
  return { owner: `evaluator-${Date.now()}-${owners++}`, db: database.db, processId: "test-process", models: pacedModels(1).models, admission: ADMISSION, ...extra };
}

const dataset = (rows: number, assertions: Dataset["assertions"] = []): Dataset => ({
  name: "Topics",
  rows: Array.from({ length: rows }, (_, i) => ({ id: `row-${i + 1}`, inputs: { topic: `topic number ${i + 1}` } })),
  assertions: [{ id: "has-joke", kind: "length_between", key: "joke", min: 1 }, { id: "never", kind: "contains", key: "joke", value: "ZZZ-never-there" }, ...assertions],
});

async function setUp(ctx: EvalContext, rows: number, assertions: Dataset["assertions"] = [], templateId = "prompt-chaining") {
  const workflow = await q.createWorkflow(database.db, { owner: ctx.owner, document: template(templateId) });
  if (!workflow.ok) throw new Error("workflow not created");
  const ds = await e.createDataset(database.db, { owner: ctx.owner, workflowId: workflow.id, dataset: dataset(rows, assertions) });
  if (!ds.ok) throw new Error(`dataset not created: ${JSON.stringify(ds)}`);
  return { workflowId: workflow.id, datasetId: ds.id };
}

async function launched(ctx: EvalContext, request: object) {
  const started = await launchEvaluation(ctx, request);
  if (!started.ok) throw new Error(`not started: ${started.error.message}`);
  return { ...started.data, done: started.done! };
}

beforeAll(async () => {
  database = await openDatabase({});
}, 30_000);
afterAll(async () => database?.close());

describe("evaluation service", () => {
  it("runs every row as an ordinary recorded run (source eval), scores it and stores the summary", async () => {
    const ctx = context();
    const { workflowId, datasetId } = await setUp(ctx, 3);
    const { id, total, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 2 });
    expect(total).toBe(3);
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    expect(view?.evaluation.status).toBe("succeeded");
    expect(view?.rows.map((r) => r.rowId)).toEqual(["row-1", "row-2", "row-3"]);
    // Each row failed on the deliberately failing assertion and passed the other.
    for (const row of view!.rows) {
      expect(row.status).toBe("succeeded");
      expect(row.verdicts.map((v) => [v.assertionId, v.pass])).toEqual([
        ["has-joke", true],
        ["never", false],
      ]);
      expect(row.inputs).toEqual({ topic: `topic number ${row.index + 1}` });
    }
    expect(view?.summary).toMatchObject({ rows: 3, finished: 3, passed: 0, passRate: 0 });
    expect(view?.summary.perAssertion.map((a) => [a.assertionId, a.passed, a.failed])).toEqual([
      ["has-joke", 3, 0],
      ["never", 0, 3],
    ]);
    // The rows' runs are ordinary run records of the evaluated version, replayable like any other.
    const recorded = await database.db.select().from(runs).where(inArray(runs.id, view!.rows.map((r) => r.runId)));
    expect(recorded).toHaveLength(3);
    for (const run of recorded) expect(run).toMatchObject({ source: "eval", owner: ctx.owner, workflowId, version: 1, edited: false, status: "succeeded" });
    expect((await q.getRunEvents(database.db, { owner: ctx.owner, runId: recorded[0].id }))?.at(-1)?.type).toBe("run-finished");
    expect(await progressOf(database.db, { owner: ctx.owner, id })).toMatchObject({ status: "succeeded", total: 3, done: 3, passed: 0, failed: 3 });
    // Nobody else sees it.
    expect(await progressOf(database.db, { owner: "someone-else", id })).toBeNull();
    expect(await evaluationViewFor(database.db, { owner: "someone-else", id })).toBeNull();
  });

  it("keeps to its concurrency cap, itself capped by the runs an identity may have in progress", async () => {
    const paced = pacedModels(2);
    const ctx = context({ models: paced.models, admission: { ...ADMISSION, maxRunsPerIdentity: 3 } });
    const { workflowId, datasetId } = await setUp(ctx, 8);
    // prompt-chaining calls one model at a time per run: calls in flight = rows in flight.
    const { concurrency, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 10 });
    expect(concurrency).toBe(3);
    await done;
    expect(paced.flight.max).toBe(3);
  });

  it("waits out a busy server instead of failing its rows", async () => {
    // One run at a time on the whole server: the second row is refused as busy and retried until it fits.
    const ctx = context({ admission: { ...ADMISSION, maxConcurrentRuns: 1 } });
    const { workflowId, datasetId } = await setUp(ctx, 2);
    const { id, concurrency, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 2 });
    expect(concurrency).toBe(2);
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    expect(view?.rows.map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
  }, 20_000);

  it("cancel keeps the finished rows, cancels the running ones and starts no more; only the owner may cancel", async () => {
    const ctx = context({ models: pacedModels(15).models });
    const { workflowId, datasetId } = await setUp(ctx, 12);
    const { id, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 2 });
    // Wait for the first finished row.
    for (let i = 0; i < 400 && ((await progressOf(database.db, { owner: ctx.owner, id }))?.done ?? 0) < 1; i++) await new Promise((r) => setTimeout(r, 25));
    const progress = await progressOf(database.db, { owner: ctx.owner, id });
    expect(progress).toMatchObject({ status: "running", total: 12 });
    expect(progress?.running).toBeGreaterThanOrEqual(1);
    expect(progress?.etaMs).toBeGreaterThan(0);
    expect(await cancelEvaluationFor(database.db, { owner: "someone-else", id })).toBe(false);
    expect(await cancelEvaluationFor(database.db, { owner: ctx.owner, id })).toBe(true);
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    expect(view?.evaluation.status).toBe("cancelled");
    const finished = view!.rows.length;
    expect(finished).toBeGreaterThanOrEqual(1);
    expect(finished).toBeLessThan(12);
    expect(view?.summary).toMatchObject({ rows: 12, finished });
    // The rows that were running when it was cancelled end cancelled, as runs.
    const evalRuns = await database.db.select({ status: runs.status }).from(runs).where(eq(runs.owner, ctx.owner));
    expect(evalRuns.filter((r) => r.status === "running")).toEqual([]);
    expect(evalRuns.length).toBeLessThan(12);
  }, 30_000);

  it("a cancel stored by another process (sharing the database) stops the evaluation here", async () => {
    const ctx = context({ models: pacedModels(15).models });
    const { workflowId, datasetId } = await setUp(ctx, 10);
    const { id, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 1 });
    // What cancelEvaluationFor does in a process that does not run it: it ends the record.
    expect(await e.setEvaluationStatus(database.db, { id, status: "cancelled", error: { code: "cancelled", message: "cancelled by its owner" } })).toBe(true);
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    expect(view?.evaluation.status).toBe("cancelled");
    expect(view!.rows.length).toBeLessThan(10);
    expect((await database.db.select({ status: runs.status }).from(runs).where(eq(runs.owner, ctx.owner))).filter((r) => r.status === "running")).toEqual([]);
  }, 20_000);

  it("prices rows from the price table and runs an LLM judge through the server's models", async () => {
    const ctx = context({ prices: { "demo:*": { inputPerMTok: 1_000, outputPerMTok: 2_000 } } });
    const { workflowId, datasetId } = await setUp(ctx, 2, [{ id: "judged", kind: "judge", key: "joke", rubric: "Is it a joke about the topic?" }]);
    const { id, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 2 });
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    for (const row of view!.rows) {
      const expected = (row.usage.inputTokens * 1_000 + row.usage.outputTokens * 2_000) / 1_000_000;
      expect(row.costUsd).toBeCloseTo(expected, 9);
      expect(row.costUsd).toBeGreaterThan(0);
      const judged = row.verdicts.find((v) => v.assertionId === "judged");
      expect(judged?.error).toBeUndefined();
      expect(judged?.reason.length).toBeGreaterThan(0);
    }
    expect(view?.summary.costUsd).toBeCloseTo(view!.rows.reduce((sum, r) => sum + (r.costUsd ?? 0), 0), 9);
  });

  it("compares by embeddings through the server's models, and refuses an embedding model it does not have", async () => {
    const ctx = context({ models: createModels({ demo: { firstTokenDelayMs: 5, chunkDelayMs: 1 }, limits: {}, coalesceMs: 0 }) });
    const { workflowId, datasetId } = await setUp(ctx, 1, [{ id: "close", kind: "similar", key: "joke", reference: "a joke about a topic", threshold: 0, method: "embedding" }]);
    const { id, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 1 });
    await done;
    const verdict = (await evaluationViewFor(database.db, { owner: ctx.owner, id }))?.rows[0]?.verdicts.find((v) => v.assertionId === "close");
    expect(verdict).toMatchObject({ pass: true, reason: expect.stringContaining("embedding") });
    expect(verdict?.error).toBeUndefined();
    expect(typeof verdict?.score).toBe("number");

    const other = await setUp(ctx, 1, [{ id: "far", kind: "similar", key: "joke", reference: "x", threshold: 0.5, method: "embedding", model: "openai:text-embedding-3-small" }]);
    expect(await launchEvaluation(ctx, { workflowId: other.workflowId, version: 1, datasetId: other.datasetId })).toMatchObject({ ok: false, error: { message: expect.stringContaining('assertion "far"') } });
  });

  it("refuses a judge model the server does not have, and a dataset of another owner, before anything runs", async () => {
    const ctx = context();
    const { workflowId, datasetId } = await setUp(ctx, 1, [{ id: "judged", kind: "judge", key: "joke", rubric: "Funny?", model: "openai:gpt-4o" }]);
    const refused = await launchEvaluation(ctx, { workflowId, version: 1, datasetId, concurrency: 1 });
    expect(refused).toMatchObject({ ok: false, error: { code: "model-not-configured", message: expect.stringContaining("judged") } });
    expect(await launchEvaluation({ ...ctx, owner: "someone-else" }, { workflowId, version: 1, datasetId, concurrency: 1 })).toMatchObject({ ok: false, error: { code: "not-found" } });
    expect(await launchEvaluation(ctx, { workflowId, version: 1, datasetId, concurrency: 1, extra: true })).toMatchObject({ ok: false, error: { code: "invalid-request" } });
    expect(await e.listEvaluations(database.db, { owner: ctx.owner, workflowId })).toEqual([]);
  });

  it("evaluates another of the owner's workflows on this workflow's dataset (two topologies of one task)", async () => {
    const ctx = context();
    const { workflowId, datasetId } = await setUp(ctx, 2);
    const other = await q.createWorkflow(database.db, { owner: ctx.owner, document: template("parallelization") });
    if (!other.ok) throw new Error("workflow not created");
    const { id, done } = await launched(ctx, { workflowId: other.id, version: 1, datasetId, concurrency: 2 });
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    expect(view?.evaluation).toMatchObject({ workflowId: other.id, workflowName: "Parallelization", datasetId, status: "succeeded" });
    expect(view?.rows.map((r) => r.verdicts.map((v) => v.pass))).toEqual([
      [true, false],
      [true, false],
    ]);
    // Listed with the dataset's workflow too, so the two can be compared there.
    expect((await e.listEvaluations(database.db, { owner: ctx.owner, workflowId }))?.map((x) => x.id)).toContain(id);
  });

  it("is not throttled by the editor's runs per minute, and its rows leave the editor's quota alone", async () => {
    const ctx = context({ rates: { runsPerMinute: 2, sharedRunsPerMinute: 1 } });
    const { workflowId, datasetId } = await setUp(ctx, 5);
    const { id, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 2 });
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    expect(view?.rows.map((r) => r.status)).toEqual(Array(5).fill("succeeded"));
    // Five eval runs in the last minute, none counted against the two editor runs allowed.
    expect(await q.recentRuns(database.db, { owner: ctx.owner, source: "eval", windowMs: 60_000 })).toMatchObject({ count: 5 });
    expect(await q.recentRuns(database.db, { owner: ctx.owner, source: "editor", windowMs: 60_000 })).toMatchObject({ count: 0 });
  });

  it("counts the owner's editor runs of today against the same daily budget: spent there, no row starts", async () => {
    const ctx = context({ admission: { ...ADMISSION, dailyTokens: 1_000 } });
    const { workflowId, datasetId } = await setUp(ctx, 3);
    const editorRun = crypto.randomUUID();
    await q.createRun(database.db, { id: editorRun, owner: ctx.owner, payer: ctx.owner, source: "editor", document: template("prompt-chaining"), inputs: {}, processId: "test-process" });
    await q.finishRun(database.db, { runId: editorRun, finished: { seq: 1, t: 1, type: "run-finished", status: "succeeded", outputs: {}, state: {}, usage: { inputTokens: 600, outputTokens: 400 }, warnings: [], ms: 1 } });
    const { id, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 1 });
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    expect(view?.evaluation).toMatchObject({ status: "failed", error: { code: "budget-exceeded", message: expect.stringContaining("1,000 tokens") } });
    expect(view?.rows).toEqual([]);
  });

  it("counts what its judges and embedding checks spend in the row, the summary, the row's run record and the owner's daily budget", async () => {
    const ctx = context({ models: createModels({ demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 }) });
    const { workflowId, datasetId } = await setUp(ctx, 2, [
      { id: "judged", kind: "judge", key: "joke", rubric: "Is it a joke?" },
      { id: "near", kind: "similar", key: "joke", method: "embedding", reference: "a joke about a topic", threshold: 0 },
    ]);
    const { id, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 1 });
    await done;
    const view = (await evaluationViewFor(database.db, { owner: ctx.owner, id }))!;
    expect(view.rows).toHaveLength(2);
    const recorded = await database.db.select().from(runs).where(inArray(runs.id, view.rows.map((r) => r.runId)));
    const tokens = (u: { inputTokens: number; outputTokens: number } | null | undefined) => (u ? u.inputTokens + u.outputTokens : 0);
    let all = 0;
    for (const row of view.rows) {
      const run = recorded.find((r) => r.id === row.runId)!;
      const judge = row.verdicts.find((v) => v.assertionId === "judged")!;
      const near = row.verdicts.find((v) => v.assertionId === "near")!;
      // Both checks spent tokens (demo:default answers the judge, demo:embed counts its texts) and said on which model.
      expect(judge).toMatchObject({ model: "demo:default", usage: { inputTokens: expect.any(Number) } });
      expect(tokens(judge.usage)).toBeGreaterThan(0);
      expect(near).toMatchObject({ model: "demo:embed", usage: { inputTokens: expect.any(Number), outputTokens: 0 } });
      expect(near.usage!.inputTokens).toBeGreaterThan(0);
      const checks = { inputTokens: judge.usage!.inputTokens + near.usage!.inputTokens, outputTokens: judge.usage!.outputTokens };
      expect(run.checkUsage).toEqual(checks);
      const own = run.usage as { inputTokens: number; outputTokens: number };
      expect(row.usage).toEqual({ inputTokens: own.inputTokens + checks.inputTokens, outputTokens: own.outputTokens + checks.outputTokens });
      expect(row.costUsd).toBe(0);
      all += tokens(own) + tokens(checks);
    }
    expect(tokens(view.summary.usage)).toBe(all);
    // The owner's spend today includes the checks, and admission refuses a run once they fill the budget.
    expect((await q.tokenUsage(database.db, { payer: ctx.owner })).today).toBe(all);
    const attempt = (dailyTokens: number) =>
      q.createRunWithinRate(database.db, {
        id: crypto.randomUUID(),
        owner: ctx.owner,
        source: "editor",
        windowMs: 60_000,
        limit: 100,
        document: template("prompt-chaining"),
        inputs: {},
        processId: "test-process",
        admission: { liveForMs: 60_000, maxRunning: 100, maxRunningPerIdentity: 100, maxModelSlots: 100, wantedSlots: 1, budget: { payer: ctx.owner, dailyTokens, runTokens: 1_000_000 } },
      });
    expect(await attempt(all)).toMatchObject({ ok: false, code: "budget-exceeded", used: all });
    expect(await attempt(all + 10)).toMatchObject({ ok: true, tokenBudget: 10 });
  });

  it("stops at the owner's daily token budget, which its rows spend like editor runs, keeping the rows that finished", async () => {
    const ctx = context({ admission: { ...ADMISSION, dailyTokens: 1 } });
    const { workflowId, datasetId } = await setUp(ctx, 6);
    const { id, done } = await launched(ctx, { workflowId, version: 1, datasetId, concurrency: 1 });
    await done;
    const view = await evaluationViewFor(database.db, { owner: ctx.owner, id });
    expect(view?.evaluation).toMatchObject({ status: "failed", error: { code: "budget-exceeded" } });
    expect(view!.rows.length).toBeLessThan(6);
  });
});
