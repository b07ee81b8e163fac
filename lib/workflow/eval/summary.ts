import { describeAssertion } from "./assertions";
import type { Assertion, EvalComparison, EvalSummary, RowChange, RowResult } from "./types";

/** Summaries of an evaluation and comparisons of two, computed from row results alone. */

/** Nearest-rank percentile (0 for no values). */
export function percentile(values: ReadonlyArray<number>, p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * Pass rates (overall and per assertion, over the rows that finished), p50/p95 latency, tokens
 * and cost. `total` is the dataset's row count (more than the results when cancelled). Row-level
 * assertions count for the rows that have them.
 */
export function summarise(results: ReadonlyArray<RowResult>, assertions: ReadonlyArray<Assertion>, total: number = results.length): EvalSummary {
  const labels = new Map(assertions.map((assertion) => [assertion.id, describeAssertion(assertion)]));
  const counts = new Map<string, { passed: number; failed: number }>(assertions.map((assertion) => [assertion.id, { passed: 0, failed: 0 }]));
  let passed = 0;
  let cost: number | null = 0;
  const usage = { inputTokens: 0, outputTokens: 0 };
  for (const result of results) {
    if (result.pass) passed++;
    usage.inputTokens += result.usage.inputTokens;
    usage.outputTokens += result.usage.outputTokens;
    cost = cost === null || result.costUsd === null ? null : cost + result.costUsd;
    for (const verdict of result.verdicts) {
      let count = counts.get(verdict.assertionId);
      if (!count) counts.set(verdict.assertionId, (count = { passed: 0, failed: 0 }));
      if (verdict.pass) count.passed++;
      else count.failed++;
    }
  }
  const latencies = results.map((result) => result.latencyMs);
  return {
    rows: total,
    finished: results.length,
    passed,
    passRate: results.length ? passed / results.length : 0,
    perAssertion: [...counts].map(([assertionId, count]) => ({
      assertionId,
      label: labels.get(assertionId) ?? assertionId,
      ...count,
      passRate: count.passed + count.failed ? count.passed / (count.passed + count.failed) : 0,
    })),
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95) },
    usage,
    costUsd: cost,
  };
}

function changeOf(before: RowResult | undefined, after: RowResult | undefined): RowChange {
  if (!before) return "added";
  if (!after) return "removed";
  if (before.pass === after.pass) return after.pass ? "same-pass" : "same-fail";
  return after.pass ? "fixed" : "broken";
}

export type EvaluationOutcome = { results: ReadonlyArray<RowResult>; summary: EvalSummary };

/**
 * Two evaluations side by side (two versions of a workflow, or two workflows on one dataset),
 * rows matched by row id: fixed, broken, same, added or removed; which assertions changed
 * verdict; and the summary deltas (after minus before). Rows follow `after`, then the removed ones.
 */
export function compareEvaluations(before: EvaluationOutcome, after: EvaluationOutcome): EvalComparison {
  const beforeById = new Map(before.results.map((result) => [result.rowId, result]));
  const afterIds = new Set(after.results.map((result) => result.rowId));
  const ordered = [...[...after.results].sort((a, b) => a.index - b.index), ...before.results.filter((result) => !afterIds.has(result.rowId)).sort((a, b) => a.index - b.index)];
  const rows = ordered.map((result) => {
    const was = beforeById.get(result.rowId);
    const now = afterIds.has(result.rowId) ? result : undefined;
    const verdictsBefore = new Map(was?.verdicts.map((verdict) => [verdict.assertionId, verdict.pass]) ?? []);
    const verdictsAfter = new Map(now?.verdicts.map((verdict) => [verdict.assertionId, verdict.pass]) ?? []);
    const ids = [...new Set([...verdictsBefore.keys(), ...verdictsAfter.keys()])];
    const verdictChanges = ids
      .filter((id) => verdictsBefore.get(id) !== verdictsAfter.get(id))
      .map((assertionId) => ({ assertionId, before: verdictsBefore.get(assertionId), after: verdictsAfter.get(assertionId) }));
    return { rowId: result.rowId, before: was, after: now, change: changeOf(was, now), verdictChanges };
  });
  const tokens = (summary: EvalSummary) => summary.usage.inputTokens + summary.usage.outputTokens;
  const a = before.summary;
  const b = after.summary;
  return {
    rows,
    summary: {
      before: a,
      after: b,
      passRateDelta: b.passRate - a.passRate,
      p50Delta: b.latencyMs.p50 - a.latencyMs.p50,
      p95Delta: b.latencyMs.p95 - a.latencyMs.p95,
      tokensDelta: tokens(b) - tokens(a),
      costDelta: a.costUsd === null || b.costUsd === null ? null : b.costUsd - a.costUsd,
    },
  };
}
