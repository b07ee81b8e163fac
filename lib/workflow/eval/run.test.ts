import { describe, expect, it } from "vitest";
import { createModels } from "@/lib/server/models";
import { sleep } from "../engine/clock";
import { runWorkflow } from "../engine/run";
import { parseDocument, type WorkflowDocument } from "../schema";
import { TEMPLATES } from "../templates";
import { input, llm, workflow } from "../testing/build";
import { VirtualClock } from "../testing/virtual-clock";
import type { EvalServices } from "./assertions";
import { DEFAULT_PRICES } from "./cost";
import { createModelJudge } from "./judge";
import { EvalConfigError, evaluateDataset, rowRunFromEvents, type RowRunner } from "./run";
import type { Assertion, Dataset, EvalProgress, RowRun } from "./types";

const models = createModels({ demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 });
const judge = createModelJudge(models.port, "demo:fast");

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(TEMPLATES.find((t) => t.id === id)!.json);
  if (!parsed.ok) throw new Error(`template ${id} is invalid`);
  return parsed.document;
}

/** Each row an ordinary engine run on the demo model, as the CLI and the server run them. */
const engineRows =
  (document: WorkflowDocument): RowRunner =>
  (row, _index, signal) =>
    rowRunFromEvents(runWorkflow(document, { inputs: row.inputs, models: models.port, signal }));

/** Per template: the key checked, a passing check of its own, and two rows (with the topic each must mention). */
const CASES: Record<string, { key: string; passing: Assertion; rows: Array<{ input: string; mentions: string }> }> = {
  "prompt-chaining": { key: "joke", passing: { id: "two-lines", key: "joke", kind: "matches", pattern: "\\n" }, rows: [{ input: "otters", mentions: "otters" }, { input: "penguins", mentions: "penguins" }] },
  parallelization: { key: "combined_output", passing: { id: "has-poem", key: "combined_output", kind: "contains", value: "POEM", ignoreCase: true }, rows: [{ input: "otters", mentions: "otters" }, { input: "tides", mentions: "tides" }] },
  routing: { key: "output", passing: { id: "routed", key: "decision", kind: "equals" }, rows: [{ input: "a poem about snow", mentions: "snow" }, { input: "a story about otters", mentions: "otters" }] },
  "orchestrator-worker": { key: "final_report", passing: { id: "sections", key: "final_report", kind: "matches", pattern: "^## Introduction" }, rows: [{ input: "tides", mentions: "tides" }, { input: "bridges", mentions: "bridges" }] },
  "evaluator-optimizer": { key: "joke", passing: { id: "graded", key: "funny_or_not", kind: "equals", value: "pass" }, rows: [{ input: "otters", mentions: "otters" }, { input: "owls", mentions: "owls" }] },
};

describe("an evaluation of each template over a small dataset with the demo model", () => {
  it.each(TEMPLATES.map((t) => t.id))("%s: passing assertions pass, the deliberately failing one fails on every row", async (id) => {
    const document = template(id);
    const spec = CASES[id];
    const inputKey = document.inputs[0].key;
    const dataset: Dataset = {
      name: id,
      rows: spec.rows.map((row, i) => ({
        id: `row${i + 1}`,
        inputs: { [inputKey]: row.input },
        // The routing rows expect the route their request names.
        ...(id === "routing" ? { expected: { decision: /poem|story|joke/.exec(row.input)![0] } } : {}),
        assertions: [{ id: "mentions-topic", key: spec.key, kind: "judge", rubric: `Mentions "${row.mentions}".` }],
      })),
      assertions: [spec.passing, { id: "not-empty", key: spec.key, kind: "length_between", min: 20 }, { id: "impossible", key: spec.key, kind: "contains", value: "a sentence no model writes" }],
    };
    const { status, results, summary } = await evaluateDataset({ document, dataset, runRow: engineRows(document), services: { judge }, concurrency: 2 });
    expect(status).toBe("succeeded");
    expect(results.map((r) => [r.rowId, r.status])).toEqual([["row1", "succeeded"], ["row2", "succeeded"]]);
    for (const result of results) {
      const verdicts = Object.fromEntries(result.verdicts.map((v) => [v.assertionId, v]));
      expect(verdicts[spec.passing.id].pass, verdicts[spec.passing.id].reason).toBe(true);
      expect(verdicts["not-empty"].pass, verdicts["not-empty"].reason).toBe(true);
      expect(verdicts["mentions-topic"].pass, verdicts["mentions-topic"].reason).toBe(true);
      expect(verdicts.impossible).toEqual({ assertionId: "impossible", pass: false, reason: 'expected to contain "a sentence no model writes"; it does not' });
      expect(result.pass).toBe(false);
      expect(result.costUsd).toBe(0);
      expect(result.runId).toMatch(/./);
    }
    expect(summary.passRate).toBe(0);
    expect(Object.fromEntries(summary.perAssertion.map((a) => [a.assertionId, a.passRate]))).toEqual({ [spec.passing.id]: 1, "not-empty": 1, impossible: 0, "mentions-topic": 1 });
    expect(summary.usage.outputTokens).toBeGreaterThan(0);
  });
});

/** A fake row run on a virtual clock: `latency(index)` ms, then outputs; a cancel mid-way ends it as cancelled. */
function timedRows(clock: VirtualClock, latency: (index: number) => number, events: string[] = []): RowRunner {
  return async (row, index, signal) => {
    events.push(`start ${index}`);
    try {
      await sleep(clock, latency(index), signal);
    } catch {
      events.push(`aborted ${index}`);
      return { runId: `run${index}`, status: "cancelled", outputs: {}, state: {}, usage: { inputTokens: 0, outputTokens: 0 }, ms: clock.now(), error: { code: "cancelled", message: "cancelled" } };
    }
    events.push(`end ${index}`);
    const run: RowRun = { runId: `run${index}`, status: "succeeded", outputs: { answer: `answer ${row.inputs.topic}` }, state: {}, usage: { inputTokens: 3, outputTokens: 4 }, ms: latency(index), usageByModel: { "demo:fast": { inputTokens: 3, outputTokens: 4 } } };
    return run;
  };
}

const sixRows: Dataset = {
  name: "six",
  rows: Array.from({ length: 6 }, (_, i) => ({ id: `r${i + 1}`, inputs: { topic: `t${i}` } })),
  assertions: [{ id: "says-answer", key: "answer", kind: "contains", value: "answer" }],
};

describe("the evaluation pool", () => {
  it("runs at most `concurrency` rows at once, starting them in dataset order, and reports progress with an ETA", async () => {
    const clock = new VirtualClock();
    const events: string[] = [];
    const progress: EvalProgress[] = [];
    const result = await clock.drive(
      evaluateDataset({ dataset: sixRows, runRow: timedRows(clock, () => 100, events), concurrency: 2, clock, onProgress: (p) => progress.push(p) }),
    );
    expect(events.slice(0, 4)).toEqual(["start 0", "start 1", "end 0", "start 2"]);
    expect(Math.max(...progress.map((p) => p.running))).toBe(2);
    expect(progress.find((p) => p.done === 1)).toEqual({ total: 6, done: 1, passed: 1, failed: 0, running: 1, etaMs: 250 });
    expect(progress.at(-1)).toEqual({ total: 6, done: 6, passed: 6, failed: 0, running: 0, etaMs: 0 });
    expect(result.status).toBe("succeeded");
    expect(result.results.map((r) => r.rowId)).toEqual(["r1", "r2", "r3", "r4", "r5", "r6"]);
  });

  it("returns results in dataset order whatever order rows finish in", async () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const { results } = await clock.drive(
      evaluateDataset({ dataset: sixRows, runRow: timedRows(clock, (i) => 600 - i * 100), concurrency: 6, clock, onResult: (r) => seen.push(r.rowId) }),
    );
    expect(seen).toEqual(["r6", "r5", "r4", "r3", "r2", "r1"]);
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("cancel mid-evaluation stops new rows, aborts running ones and keeps the finished rows", async () => {
    const clock = new VirtualClock();
    const events: string[] = [];
    const controller = new AbortController();
    clock.schedule(250, () => controller.abort());
    const result = await clock.drive(evaluateDataset({ dataset: sixRows, runRow: timedRows(clock, () => 100, events), concurrency: 2, clock, signal: controller.signal }));
    expect(result.status).toBe("cancelled");
    expect(result.results.map((r) => r.rowId)).toEqual(["r1", "r2", "r3", "r4"]);
    expect(events).toContain("aborted 4");
    expect(events).toContain("aborted 5");
    expect(events.filter((e) => e.startsWith("start"))).toHaveLength(6);
    expect(result.summary).toMatchObject({ rows: 6, finished: 4, passed: 4, passRate: 1 });
  });

  it("a callback that throws (a result that cannot be stored) cancels the evaluation and rejects with its error", async () => {
    const clock = new VirtualClock();
    const events: string[] = [];
    const storing = evaluateDataset({
      dataset: sixRows,
      runRow: timedRows(clock, (i) => 100 + i, events),
      concurrency: 2,
      clock,
      onResult: (result) => {
        if (result.rowId === "r2") throw new Error("the database is unavailable");
      },
    });
    await expect(clock.drive(storing)).rejects.toThrow("the database is unavailable");
    expect(events).toContain("aborted 2");
    expect(events.filter((e) => e.startsWith("start"))).toEqual(["start 0", "start 1", "start 2"]);
  });

  it("an evaluation cancelled before it starts runs nothing", async () => {
    const clock = new VirtualClock();
    const events: string[] = [];
    const controller = new AbortController();
    controller.abort();
    const result = await clock.drive(evaluateDataset({ dataset: sixRows, runRow: timedRows(clock, () => 100, events), clock, signal: controller.signal }));
    expect(result).toMatchObject({ status: "cancelled", results: [] });
    expect(events).toEqual([]);
  });

  it("a row whose run fails, or whose runner throws, fails every assertion with the error as reason", async () => {
    const runRow: RowRunner = async (row, index) => {
      if (index === 1) throw new Error("the database is unavailable");
      return { runId: "x", status: "failed", outputs: {}, state: {}, usage: { inputTokens: 1, outputTokens: 0 }, ms: 5, error: { code: "server-error", message: "the provider failed (model demo:fast)" } };
    };
    const dataset: Dataset = { ...sixRows, rows: sixRows.rows.slice(0, 2) };
    const { results, summary } = await evaluateDataset({ dataset, runRow });
    expect(results.map((r) => r.verdicts)).toEqual([
      [{ assertionId: "says-answer", pass: false, reason: "the run failed: the provider failed (model demo:fast)" }],
      [{ assertionId: "says-answer", pass: false, reason: "the run failed: the database is unavailable" }],
    ]);
    expect(summary).toMatchObject({ finished: 2, passed: 0, passRate: 0 });
  });

  it("prices each row from its tokens per model; an unknown model makes the cost unknown", async () => {
    const runRow: RowRunner = async (_row, index) => ({
      runId: `run${index}`,
      status: "succeeded",
      outputs: { answer: "answer" },
      state: {},
      usage: { inputTokens: 1_000_000, outputTokens: 1_000_000 },
      ms: 10,
      usageByModel: { [index === 0 ? "openai:gpt-4o-mini" : "acme:secret-model"]: { inputTokens: 1_000_000, outputTokens: 1_000_000 } },
    });
    const dataset: Dataset = { ...sixRows, rows: sixRows.rows.slice(0, 2) };
    const { results, summary } = await evaluateDataset({ dataset, runRow });
    expect(results[0].costUsd).toBeCloseTo(0.75, 10);
    expect(results[1].costUsd).toBeNull();
    expect(summary.costUsd).toBeNull();
    const priced = await evaluateDataset({ dataset, runRow, prices: { "acme:*": { inputPerMTok: 1, outputPerMTok: 2 }, "openai:gpt-4o-mini": { inputPerMTok: 0, outputPerMTok: 0 } } });
    expect(priced.summary.costUsd).toBeCloseTo(3, 10);
  });

  it("counts a judge's tokens in the row's usage and cost, at the judge model's price", async () => {
    const runRow: RowRunner = async () => ({ runId: "r", status: "succeeded", outputs: { answer: "answer" }, state: {}, usage: { inputTokens: 10, outputTokens: 0 }, ms: 1, usageByModel: { "demo:fast": { inputTokens: 10, outputTokens: 0 } } });
    const paidJudge: EvalServices["judge"] = async () => ({ pass: true, reason: "fine", model: "openai:gpt-4o", usage: { inputTokens: 1_000_000, outputTokens: 100_000 } });
    const dataset: Dataset = { ...sixRows, rows: sixRows.rows.slice(0, 1), assertions: [{ id: "j", key: "answer", kind: "judge", rubric: "Is an answer." }] };
    const { results } = await evaluateDataset({ dataset, runRow, services: { judge: paidJudge } });
    expect(results[0].usage).toEqual({ inputTokens: 1_000_010, outputTokens: 100_000 });
    expect(results[0].costUsd).toBeCloseTo(2.5 + 1, 10);
    expect(results[0].verdicts[0]).toMatchObject({ model: "openai:gpt-4o", usage: { inputTokens: 1_000_000, outputTokens: 100_000 } });
  });

  it("counts an embedding check's tokens in the row's usage and cost, and in the summary", async () => {
    const runRow: RowRunner = async () => ({ runId: "r", status: "succeeded", outputs: { answer: "answer" }, state: {}, usage: { inputTokens: 10, outputTokens: 0 }, ms: 1, usageByModel: { "demo:fast": { inputTokens: 10, outputTokens: 0 } } });
    const embed: EvalServices["embed"] = async (texts, { model }) => ({ embeddings: texts.map(() => [1, 0]), model: model ?? "demo:embed", usage: { inputTokens: 1_000_000, outputTokens: 0 } });
    const dataset: Dataset = {
      ...sixRows,
      rows: sixRows.rows.slice(0, 2),
      assertions: [{ id: "s", key: "answer", kind: "similar", method: "embedding", model: "openai:text-embedding-3-small", reference: "answer", threshold: 0.5 }],
    };
    const { results, summary } = await evaluateDataset({ dataset, runRow, services: { embed }, prices: { ...DEFAULT_PRICES, "openai:text-embedding-3-small": { inputPerMTok: 0.02, outputPerMTok: 0 } } });
    expect(results[0].usage).toEqual({ inputTokens: 1_000_010, outputTokens: 0 });
    expect(results[0].costUsd).toBeCloseTo(0.02, 10);
    expect(summary.usage).toEqual({ inputTokens: 2_000_020, outputTokens: 0 });
    expect(summary.costUsd).toBeCloseTo(0.04, 10);
  });

  it("refuses assertions the workflow cannot satisfy before running any row", async () => {
    const document = workflow([input, llm("answer")], ["in->answer"]);
    const started: number[] = [];
    const runRow: RowRunner = async (_row, index) => {
      started.push(index);
      throw new Error("not reached");
    };
    const bad: Dataset = { ...sixRows, assertions: [{ id: "x", key: "answr", kind: "contains", value: "a" }] };
    await expect(evaluateDataset({ document, dataset: bad, runRow })).rejects.toThrow(EvalConfigError);
    await expect(evaluateDataset({ document, dataset: bad, runRow })).rejects.toThrow('assertions[0].key: "answr" is not produced by this workflow (it produces answer, topic)');
    expect(started).toEqual([]);
    const clash: Dataset = { ...sixRows, rows: [{ id: "r1", inputs: {}, assertions: [{ id: "says-answer", key: "answer", kind: "contains", value: "b" }] }] };
    await expect(evaluateDataset({ document, dataset: clash, runRow })).rejects.toThrow('rows[0].assertions[0].id: "says-answer" is already the id of one of the dataset\'s assertions');
  });
});
