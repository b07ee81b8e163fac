import { describe, expect, it } from "vitest";
import { createModels } from "@/lib/server/models";
import { runWorkflow } from "../engine/run";
import { parseDocument, type WorkflowDocument } from "../schema";
import { findTemplate } from "../templates";
import { evaluateDataset, rowRunFromEvents, type RowRunner } from "./run";
import { compareEvaluations, percentile, summarise } from "./summary";
import type { Assertion, Dataset, RowResult } from "./types";

const assertions: Assertion[] = [
  { id: "capital", key: "answer", kind: "contains", value: "Paris" },
  { id: "short", key: "answer", kind: "length_between", max: 40, label: "Short answer" },
];

const result = (rowId: string, index: number, passes: boolean[], latencyMs: number, costUsd: number | null = 0): RowResult => ({
  rowId,
  index,
  runId: `run-${rowId}`,
  status: "succeeded",
  outputs: {},
  verdicts: passes.map((pass, i) => ({ assertionId: assertions[i].id, pass, reason: pass ? "ok" : "no" })),
  pass: passes.every(Boolean),
  usage: { inputTokens: 10, outputTokens: 5 },
  latencyMs,
  costUsd,
});

describe("summarise", () => {
  it("pass rate overall and per assertion, p50/p95 latency, tokens and cost", () => {
    const results = [result("a", 0, [true, true], 100, 0.01), result("b", 1, [true, false], 300, 0.02), result("c", 2, [false, true], 200, 0.03)];
    const summary = summarise(results, assertions, 4);
    expect(summary).toMatchObject({ rows: 4, finished: 3, passed: 1, latencyMs: { p50: 200, p95: 300 }, usage: { inputTokens: 30, outputTokens: 15 } });
    expect(summary.passRate).toBeCloseTo(1 / 3, 10);
    expect(summary.costUsd).toBeCloseTo(0.06, 10);
    expect(summary.perAssertion).toEqual([
      { assertionId: "capital", label: 'answer contains "Paris"', passed: 2, failed: 1, passRate: 2 / 3 },
      { assertionId: "short", label: "Short answer", passed: 2, failed: 1, passRate: 2 / 3 },
    ]);
  });

  it("an unknown cost anywhere makes the total unknown; no rows is a zero summary", () => {
    expect(summarise([result("a", 0, [true, true], 1, 0.5), result("b", 1, [true, true], 1, null)], assertions).costUsd).toBeNull();
    expect(summarise([], assertions, 5)).toMatchObject({ rows: 5, finished: 0, passRate: 0, latencyMs: { p50: 0, p95: 0 }, costUsd: 0 });
  });

  it("nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([7], 95)).toBe(7);
  });
});

describe("compareEvaluations", () => {
  /** Two versions of one workflow on one dataset: version 2 answers row q2 in French. */
  const dataset: Dataset = {
    name: "capitals",
    rows: [
      { id: "q1", inputs: { country: "France" } },
      { id: "q2", inputs: { country: "Belgium" } },
      { id: "q3", inputs: { country: "Spain" } },
    ],
    assertions,
  };
  const version =
    (answers: Record<string, string>): RowRunner =>
    async (row) => ({ runId: `${row.id}-run`, status: "succeeded", outputs: { answer: answers[row.id] }, state: {}, usage: { inputTokens: 5, outputTokens: 5 }, ms: 10, usageByModel: { "demo:fast": { inputTokens: 5, outputTokens: 5 } } });

  it("matches rows by id: one row flips from pass to fail, the others stay, with the assertion that changed", async () => {
    const v1 = await evaluateDataset({ dataset, runRow: version({ q1: "Paris", q2: "Brussels, not Paris", q3: "Madrid" }) });
    const v2 = await evaluateDataset({ dataset, runRow: version({ q1: "Paris", q2: "Bruxelles", q3: "Madrid" }) });
    const comparison = compareEvaluations(v1, v2);
    expect(comparison.rows.map((row) => [row.rowId, row.change, row.verdictChanges])).toEqual([
      ["q1", "same-pass", []],
      ["q2", "broken", [{ assertionId: "capital", before: true, after: false }]],
      ["q3", "same-fail", []],
    ]);
    expect(comparison.summary.passRateDelta).toBeCloseTo(-1 / 3, 10);
    expect(comparison.summary.tokensDelta).toBe(0);
    expect(comparison.summary.costDelta).toBe(0);
    // The other way round the same row is fixed.
    expect(compareEvaluations(v2, v1).rows[1]).toMatchObject({ rowId: "q2", change: "fixed" });
  });

  it("two versions of the routing template on the demo model: renaming a route breaks exactly the row that needed it", async () => {
    const models = createModels({ demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 });
    const parsed = parseDocument(findTemplate("routing")!.json);
    if (!parsed.ok) throw new Error("the routing template does not parse");
    const v1 = parsed.document;
    // Version 2 calls the poem route "verse": requests for a poem no longer name a route.
    const v2: WorkflowDocument = {
      ...v1,
      nodes: v1.nodes.map((node) =>
        node.kind === "router" ? { ...node, config: { ...node.config, routes: node.config.routes.map((r) => (r.name === "poem" ? { name: "verse", description: "The request asks for verse." } : r)) } } : node,
      ),
      edges: v1.edges.map((edge) => (edge.sourcePort === "poem" ? { ...edge, sourcePort: "verse" } : edge)),
    };
    const routed: Dataset = {
      name: "requests",
      rows: [
        { id: "joke", inputs: { input: "a joke about otters" }, expected: { decision: "joke" } },
        { id: "poem", inputs: { input: "a poem about snow" }, expected: { decision: "poem" } },
        { id: "story", inputs: { input: "a story about tides" }, expected: { decision: "story" } },
      ],
      assertions: [
        { id: "routed", key: "decision", kind: "equals" },
        { id: "answered", key: "output", kind: "length_between", min: 20 },
      ],
    };
    const evaluate = (document: WorkflowDocument) =>
      evaluateDataset({ document, dataset: routed, runRow: (row, _i, signal) => rowRunFromEvents(runWorkflow(document, { inputs: row.inputs, models: models.port, signal })) });
    const comparison = compareEvaluations(await evaluate(v1), await evaluate(v2));
    expect(comparison.rows.map((row) => [row.rowId, row.change, row.verdictChanges])).toEqual([
      ["joke", "same-pass", []],
      ["poem", "broken", [{ assertionId: "routed", before: true, after: false }]],
      ["story", "same-pass", []],
    ]);
    expect(comparison.rows[1].after!.verdicts[0].reason).toMatch(/^expected "poem"; got "/);
    expect(comparison.summary.passRateDelta).toBeCloseTo(-1 / 3, 10);
    expect(comparison.summary.costDelta).toBe(0);
  });

  it("rows only in the second are added, only in the first removed; deltas are after minus before", () => {
    const before = [result("a", 0, [true, true], 100), result("gone", 1, [false, false], 100)];
    const after = [result("a", 0, [true, true], 300, null), result("new", 1, [true, true], 500, null)];
    const comparison = compareEvaluations({ results: before, summary: summarise(before, assertions) }, { results: after, summary: summarise(after, assertions) });
    expect(comparison.rows.map((row) => [row.rowId, row.change])).toEqual([
      ["a", "same-pass"],
      ["new", "added"],
      ["gone", "removed"],
    ]);
    expect(comparison.rows[1].verdictChanges).toEqual([
      { assertionId: "capital", before: undefined, after: true },
      { assertionId: "short", before: undefined, after: true },
    ]);
    expect(comparison.summary).toMatchObject({ passRateDelta: 0.5, p50Delta: 200, p95Delta: 400, costDelta: null });
  });
});
