import { randomUUID } from "node:crypto";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Dataset, RowResult } from "@/lib/workflow/eval/types";
import type { Database } from "./connect";
import { backends, template } from "@/testing/databases";
import * as e from "./eval-queries";
import * as q from "./queries";
import { evalResults, runs } from "./schema";

/** The same suite on in-memory PGlite and, when TEST_DATABASE_URL is set, on PostgreSQL. */
let owners = 0;
const newOwner = () => `eval-owner-${Date.now()}-${owners++}`;

const dataset = (rows = 2, name = "Topics"): Dataset => ({
  name,
  rows: Array.from({ length: rows }, (_, i) => ({ id: `r${i + 1}`, inputs: { topic: `topic ${i + 1}` }, expected: { joke: `joke ${i + 1}` } })),
  assertions: [{ id: "a1", kind: "contains", key: "joke", value: "topic" }],
});

const result = (rowId: string, index: number, pass: boolean, runId = ""): RowResult => ({
  rowId,
  index,
  runId,
  status: "succeeded",
  outputs: { joke: `a joke ${rowId}` },
  verdicts: [{ assertionId: "a1", pass, reason: pass ? "contains" : "does not contain \"topic\"" }],
  pass,
  usage: { inputTokens: 10, outputTokens: 20 },
  latencyMs: 120,
  costUsd: 0,
});

describe.each(backends)("evaluation queries on %s", (_, open) => {
  let database: Database;
  beforeAll(async () => {
    database = await open();
  }, 30_000);
  afterAll(async () => database?.close());

  async function workflow(owner: string, id = "prompt-chaining") {
    const created = await q.createWorkflow(database.db, { owner, document: template(id) });
    if (!created.ok) throw new Error("not created");
    return created.id;
  }

  it("puts what a row's checks spent on its run record, where the owner's daily spend counts it; a retried write does not count it twice", async () => {
    const owner = newOwner();
    const workflowId = await workflow(owner);
    const ds = await e.createDataset(database.db, { owner, workflowId, dataset: dataset(1) });
    if (!ds.ok) throw new Error("dataset not created");
    const started = await e.createEvaluation(database.db, { owner, workflowId, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 1, processId: "p" });
    if (!started.ok) throw new Error("evaluation not created");
    const runId = randomUUID();
    await q.createRun(database.db, { id: runId, owner, payer: owner, source: "eval", workflowId, version: 1, document: template("prompt-chaining"), inputs: { topic: "t" }, processId: "p" });
    await q.finishRun(database.db, { runId, finished: { seq: 1, t: 1, type: "run-finished", status: "succeeded", outputs: {}, state: {}, usage: { inputTokens: 100, outputTokens: 50 }, warnings: [], ms: 1 } });
    const judged: RowResult = {
      ...result("r1", 0, true, runId),
      verdicts: [
        { assertionId: "a1", pass: true, reason: "fine", usage: { inputTokens: 30, outputTokens: 7 }, model: "demo:default" },
        { assertionId: "a2", pass: true, reason: "close", usage: { inputTokens: 12, outputTokens: 0 }, model: "demo:embed" },
      ],
    };
    await e.recordEvalResult(database.db, { evaluationId: started.id, result: judged });
    await e.recordEvalResult(database.db, { evaluationId: started.id, result: judged });
    const [run] = await database.db.select({ usage: runs.usage, checkUsage: runs.checkUsage }).from(runs).where(eq(runs.id, runId));
    expect(run).toEqual({ usage: { inputTokens: 100, outputTokens: 50 }, checkUsage: { inputTokens: 42, outputTokens: 7 } });
    expect((await q.tokenUsage(database.db, { payer: owner })).today).toBe(150 + 49);
  });

  it("keeps every saved dataset as a version, for its owner only; a stale base is a conflict and an invalid dataset stores nothing", async () => {
    const owner = newOwner();
    const workflowId = await workflow(owner);
    const created = await e.createDataset(database.db, { owner, workflowId, dataset: dataset(2) });
    if (!created.ok) throw new Error("dataset not created");
    expect(created.version).toBe(1);
    expect(await e.saveDatasetVersion(database.db, { owner, id: created.id, dataset: dataset(3, "Topics v2"), baseVersion: 1 })).toEqual({ ok: true, id: created.id, version: 2 });
    expect(await e.saveDatasetVersion(database.db, { owner, id: created.id, dataset: dataset(4), baseVersion: 1 })).toEqual({ ok: false, code: "conflict", latestVersion: 2 });
    const invalid = await e.saveDatasetVersion(database.db, { owner, id: created.id, dataset: { ...dataset(1), rows: [{ id: "", inputs: {} }] }, baseVersion: 2 });
    expect(invalid).toMatchObject({ ok: false, code: "invalid-dataset", message: expect.stringContaining("rows.0.id") });

    expect((await e.getDataset(database.db, { owner, id: created.id }))?.dataset.rows).toHaveLength(3);
    expect((await e.getDataset(database.db, { owner, id: created.id, version: 1 }))?.dataset).toEqual(dataset(2));
    expect((await e.listDatasetVersions(database.db, { owner, id: created.id }))?.map((v) => [v.version, v.rows])).toEqual([
      [2, 3],
      [1, 2],
    ]);
    expect(await e.listDatasets(database.db, { owner, workflowId })).toEqual([expect.objectContaining({ id: created.id, name: "Topics v2", latestVersion: 2, rows: 3 })]);

    // Anyone else: nothing, and nothing changes.
    const other = newOwner();
    expect(await e.getDataset(database.db, { owner: other, id: created.id })).toBeNull();
    expect(await e.listDatasets(database.db, { owner: other, workflowId })).toBeNull();
    expect(await e.listDatasetVersions(database.db, { owner: other, id: created.id })).toBeNull();
    expect(await e.createDataset(database.db, { owner: other, workflowId, dataset: dataset(1) })).toEqual({ ok: false, code: "not-found" });
    expect(await e.saveDatasetVersion(database.db, { owner: other, id: created.id, dataset: dataset(1), baseVersion: 2 })).toEqual({ ok: false, code: "not-found" });
    expect(await e.deleteDataset(database.db, { owner: other, id: created.id })).toBe(false);
    expect((await e.getDataset(database.db, { owner, id: created.id }))?.version).toBe(2);
  });

  it("records an evaluation of a workflow version over a dataset version with its row results, counts its progress, and shows it only to its owner", async () => {
    const owner = newOwner();
    const workflowId = await workflow(owner);
    const ds = await e.createDataset(database.db, { owner, workflowId, dataset: dataset(3) });
    if (!ds.ok) throw new Error("dataset not created");
    const other = newOwner();
    expect(await e.createEvaluation(database.db, { owner: other, workflowId, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 2, processId: "p" })).toEqual({ ok: false, code: "not-found" });
    expect(await e.createEvaluation(database.db, { owner, workflowId, version: 9, datasetId: ds.id, datasetVersion: 1, concurrency: 2, processId: "p" })).toEqual({ ok: false, code: "not-found" });
    const started = await e.createEvaluation(database.db, { owner, workflowId, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 2, processId: "p" });
    if (!started.ok) throw new Error("evaluation not created");
    expect(started.total).toBe(3);
    expect(await e.setEvaluationStatus(database.db, { id: started.id, status: "running" })).toBe(true);

    // A row's result points at its ordinary run record.
    const runId = randomUUID();
    await q.createRun(database.db, { id: runId, owner, workflowId, version: 1, document: template("prompt-chaining"), inputs: { topic: "t" }, processId: "p" });
    await e.recordEvalResult(database.db, { evaluationId: started.id, result: result("r2", 1, false, runId) });
    await e.recordEvalResult(database.db, { evaluationId: started.id, result: result("r1", 0, true) });
    // A row refused before admission names a run that was never recorded: stored without it.
    await e.recordEvalResult(database.db, { evaluationId: started.id, result: result("r3", 2, false, randomUUID()) });
    expect((await e.getEvaluationWithResults(database.db, { owner, id: started.id }))?.results.find((r) => r.rowId === "r3")?.runId).toBe("");
    await database.db.delete(evalResults).where(and(eq(evalResults.evaluationId, started.id), eq(evalResults.rowId, "r3")));
    // A retried write replaces the row, never duplicates it.
    await e.recordEvalResult(database.db, { evaluationId: started.id, result: result("r1", 0, true) });
    expect(await e.evaluationCounts(database.db, { owner, id: started.id })).toMatchObject({ status: "running", total: 3, done: 2, passed: 1 });
    expect(await e.evaluationCounts(database.db, { owner: other, id: started.id })).toBeNull();

    const summary = { rows: 3, finished: 2, passed: 1, passRate: 0.5, perAssertion: [], latencyMs: { p50: 120, p95: 120 }, usage: { inputTokens: 20, outputTokens: 40 }, costUsd: 0 };
    expect(await e.setEvaluationStatus(database.db, { id: started.id, status: "cancelled", summary })).toBe(true);
    // Once ended it stays ended.
    expect(await e.setEvaluationStatus(database.db, { id: started.id, status: "succeeded" })).toBe(false);

    const read = await e.getEvaluationWithResults(database.db, { owner, id: started.id });
    expect(read?.evaluation).toMatchObject({ status: "cancelled", workflowName: "Prompt chaining", datasetName: "Topics", version: 1, datasetVersion: 1, summary });
    expect(read?.evaluation.finishedAt).toBeInstanceOf(Date);
    expect(read?.results.map((r) => [r.rowId, r.pass, r.runId])).toEqual([
      ["r1", true, ""],
      ["r2", false, runId],
    ]);
    expect(await e.getEvaluationWithResults(database.db, { owner: other, id: started.id })).toBeNull();
    expect((await e.listEvaluations(database.db, { owner, workflowId }))?.map((x) => x.id)).toEqual([started.id]);
    expect(await e.listEvaluations(database.db, { owner: other, workflowId })).toBeNull();
    expect(await e.deleteEvaluation(database.db, { owner: other, id: started.id })).toBe(false);
  });

  it("lists an evaluation of another workflow over this workflow's dataset (two topologies, one dataset)", async () => {
    const owner = newOwner();
    const first = await workflow(owner, "prompt-chaining");
    const second = await workflow(owner, "parallelization");
    const ds = await e.createDataset(database.db, { owner, workflowId: first, dataset: dataset(1) });
    if (!ds.ok) throw new Error("dataset not created");
    const evaluation = await e.createEvaluation(database.db, { owner, workflowId: second, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 1, processId: "p" });
    if (!evaluation.ok) throw new Error("evaluation not created");
    expect((await e.listEvaluations(database.db, { owner, workflowId: first }))?.map((x) => [x.id, x.workflowName])).toEqual([[evaluation.id, "Parallelization"]]);
    expect((await e.listEvaluations(database.db, { owner, workflowId: second }))?.map((x) => x.id)).toEqual([evaluation.id]);
  });

  it("marks evaluations of a process that is gone interrupted, keeping their finished rows, and leaves a live process's alone", async () => {
    const owner = newOwner();
    const workflowId = await workflow(owner);
    const ds = await e.createDataset(database.db, { owner, workflowId, dataset: dataset(2) });
    if (!ds.ok) throw new Error("dataset not created");
    const gone = `gone-${randomUUID()}`;
    const live = `live-${randomUUID()}`;
    await q.heartbeat(database.db, { processId: live });
    const orphan = await e.createEvaluation(database.db, { owner, workflowId, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 1, processId: gone });
    const kept = await e.createEvaluation(database.db, { owner, workflowId, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 1, processId: live });
    if (!orphan.ok || !kept.ok) throw new Error("evaluations not created");
    await e.setEvaluationStatus(database.db, { id: orphan.id, status: "running" });
    await e.recordEvalResult(database.db, { evaluationId: orphan.id, result: result("r1", 0, true) });

    expect(await e.markInterruptedEvaluations(database.db, { processId: "me", staleAfterMs: 30_000 })).toBeGreaterThanOrEqual(1);
    const read = await e.getEvaluationWithResults(database.db, { owner, id: orphan.id });
    expect(read?.evaluation).toMatchObject({ status: "interrupted", error: { code: "interrupted" } });
    expect(read?.results).toHaveLength(1);
    expect((await e.getEvaluation(database.db, { owner, id: kept.id }))?.status).toBe("queued");
  });

  it("shares an evaluation or a comparison read-only until revoked; only the owner shares or revokes", async () => {
    const owner = newOwner();
    const workflowId = await workflow(owner);
    const ds = await e.createDataset(database.db, { owner, workflowId, dataset: dataset(1) });
    if (!ds.ok) throw new Error("dataset not created");
    const a = await e.createEvaluation(database.db, { owner, workflowId, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 1, processId: "p" });
    const b = await e.createEvaluation(database.db, { owner, workflowId, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 1, processId: "p" });
    if (!a.ok || !b.ok) throw new Error("evaluations not created");
    await e.recordEvalResult(database.db, { evaluationId: b.id, result: result("r1", 0, true) });
    const other = newOwner();
    expect(await e.createEvalShareLink(database.db, { owner: other, evaluationId: a.id })).toBeNull();
    expect(await e.createEvalShareLink(database.db, { owner: other, evaluationId: a.id, afterId: b.id })).toBeNull();

    const link = await e.createEvalShareLink(database.db, { owner, evaluationId: a.id, afterId: b.id });
    expect(link?.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const shared = await e.getSharedEvaluations(database.db, { id: link!.id });
    if (shared.status !== "ok") throw new Error("not shared");
    expect([shared.before.evaluation.id, shared.after?.evaluation.id, shared.after?.results.length]).toEqual([a.id, b.id, 1]);
    expect((await e.listEvalShareLinks(database.db, { owner, evaluationId: b.id })).map((l) => l.id)).toEqual([link!.id]);
    expect(await e.listEvalShareLinks(database.db, { owner: other, evaluationId: b.id })).toEqual([]);

    expect(await e.revokeEvalShareLink(database.db, { owner: other, id: link!.id })).toBe(false);
    expect((await e.getSharedEvaluations(database.db, { id: link!.id })).status).toBe("ok");
    expect(await e.revokeEvalShareLink(database.db, { owner, id: link!.id })).toBe(true);
    expect(await e.getSharedEvaluations(database.db, { id: link!.id })).toEqual({ status: "revoked" });
    expect(await e.getSharedEvaluations(database.db, { id: "no-such-link-000000000" })).toEqual({ status: "not-found" });
  });

  it("deleting a workflow deletes its datasets, their versions, its evaluations, their results and links", async () => {
    const owner = newOwner();
    const workflowId = await workflow(owner);
    const ds = await e.createDataset(database.db, { owner, workflowId, dataset: dataset(1) });
    if (!ds.ok) throw new Error("dataset not created");
    const evaluation = await e.createEvaluation(database.db, { owner, workflowId, version: 1, datasetId: ds.id, datasetVersion: 1, concurrency: 1, processId: "p" });
    if (!evaluation.ok) throw new Error("evaluation not created");
    await e.recordEvalResult(database.db, { evaluationId: evaluation.id, result: result("r1", 0, true) });
    const link = await e.createEvalShareLink(database.db, { owner, evaluationId: evaluation.id });
    expect(await q.deleteWorkflow(database.db, { owner, id: workflowId })).toBe(true);
    expect(await e.getDataset(database.db, { owner, id: ds.id })).toBeNull();
    expect(await e.getEvaluation(database.db, { owner, id: evaluation.id })).toBeNull();
    expect(await e.getSharedEvaluations(database.db, { id: link!.id })).toEqual({ status: "not-found" });
    const left = await database.db.execute<{ n: number }>(
      // Nothing of it is left anywhere, not only unreachable.
      sql`SELECT (SELECT count(*) FROM eval_dataset_versions WHERE dataset_id = ${ds.id}) + (SELECT count(*) FROM eval_results WHERE evaluation_id = ${evaluation.id}) AS n`,
    );
    expect(Number((left as unknown as { rows: Array<{ n: number }> }).rows[0]?.n)).toBe(0);
  });
});
