import { z } from "zod";
import { FieldSchema, modelId, stateKey } from "../kinds/common";
import { MAX_PATTERN_LENGTH } from "../condition";
import type { RunStatus } from "../engine/events";
import type { TokenUsage } from "../engine/model-port";

/**
 * Evaluations (issue 15): the shared contract between the pure core (`lib/workflow/eval`), the
 * server (`lib/server/evals*`), the editor and the CLI. Everything here is data; nothing runs code.
 *
 * A dataset belongs to a workflow: rows of input values plus optional expectations (reference
 * values per output key). Assertions are declarative, like gate conditions, and each names the
 * output key it checks. An evaluation runs one saved version over a dataset; each row's run is an
 * ordinary run; each row gets one verdict per assertion; a summary and a comparison are computed
 * from the row results alone.
 */

export const MAX_DATASET_ROWS = 10_000;
/** Files larger than this are refused before parsing (CSV or JSONL). */
export const MAX_DATASET_BYTES = 5_000_000;
export const MAX_ASSERTIONS = 30;

export type InputValue = string | number | boolean;

/** One dataset row: the workflow's inputs, and optional expected values by output key. */
export const DatasetRowSchema = z.strictObject({
  /** Stable within a dataset (assigned at import; kept across edits, so comparisons match rows by it). */
  id: z.string().min(1).max(64),
  inputs: z.record(stateKey, z.union([z.string().max(100_000), z.number().finite(), z.boolean()])),
  /** Expected (reference) values by output key, for `equals` and `similar` assertions that omit their own value. */
  expected: z.record(stateKey, z.string().max(100_000)).optional(),
  /** Assertions that apply to this row only, in addition to the dataset's. */
  assertions: z.lazy(() => z.array(AssertionSchema).max(MAX_ASSERTIONS)).optional(),
});
export type DatasetRow = z.infer<typeof DatasetRowSchema>;

const assertionBase = {
  /** Stable id within its dataset (verdicts and comparisons refer to it). */
  id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, "may only contain letters, digits, _ and -"),
  /** The output key it checks (a key of the run's outputs, or of its final state). */
  key: stateKey,
  /** How it reads in the results grid (default: generated from the assertion). */
  label: z.string().max(120).optional(),
};

export const AssertionSchema = z.discriminatedUnion("kind", [
  /** Equal to `value`, or to the row's expected value for `key` when `value` is omitted. */
  z.strictObject({ ...assertionBase, kind: z.literal("equals"), value: z.string().max(100_000).optional(), ignoreCase: z.boolean().optional(), trim: z.boolean().optional() }),
  z.strictObject({ ...assertionBase, kind: z.enum(["contains", "not_contains"]), value: z.string().min(1).max(2_000), ignoreCase: z.boolean().optional() }),
  /** A regular expression on the same linear-time engine as gate conditions. */
  z.strictObject({ ...assertionBase, kind: z.literal("matches"), pattern: z.string().min(1).max(MAX_PATTERN_LENGTH), ignoreCase: z.boolean().optional() }),
  /** Length in characters (of the formatted value) between min and max inclusive; at least one bound. */
  z.strictObject({ ...assertionBase, kind: z.literal("length_between"), min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() }),
  /**
   * Valid against a field schema: `fields` when given, else the structured-output fields of the
   * node that writes `key` (refused at configuration when that node has none).
   */
  z.strictObject({ ...assertionBase, kind: z.literal("schema"), fields: z.array(FieldSchema).min(1).max(30).optional() }),
  /**
   * Similarity to a reference (`reference`, else the row's expected value) at least `threshold`
   * (0–1). Lexical by default; `embedding` uses the configured embedding model.
   */
  z.strictObject({
    ...assertionBase,
    kind: z.literal("similar"),
    reference: z.string().max(100_000).optional(),
    threshold: z.number().min(0).max(1),
    method: z.enum(["lexical", "embedding"]).optional(),
    model: modelId.optional(),
  }),
  /** An LLM judge with a rubric: structured output `{ pass, reason }` from its own model. */
  z.strictObject({ ...assertionBase, kind: z.literal("judge"), rubric: z.string().trim().min(1).max(4_000), model: modelId.optional() }),
]);
export type Assertion = z.infer<typeof AssertionSchema>;
export type AssertionKind = Assertion["kind"];

export const DatasetSchema = z.strictObject({
  name: z.string().trim().min(1).max(120),
  rows: z.array(DatasetRowSchema).max(MAX_DATASET_ROWS),
  assertions: z.array(AssertionSchema).max(MAX_ASSERTIONS),
});
export type Dataset = z.infer<typeof DatasetSchema>;

/** One assertion's verdict on one row. `error` is set when the assertion could not be judged (it then fails). */
export type Verdict = {
  assertionId: string;
  pass: boolean;
  /** A score in 0–1 where the kind has one (similarity, judge). */
  score?: number;
  /** Why, in a sentence a person reads in the grid ("expected to contain \"Paris\"", the judge's reason…). */
  reason: string;
  error?: boolean;
  /** Tokens the check itself spent (a judge's call), and on which model: counted in the row's usage and cost. */
  usage?: TokenUsage;
  model?: string;
};

/** What one row's run produced, as the evaluator sees it (from its run-finished event). */
export type RowRun = {
  runId: string;
  status: RunStatus;
  outputs: Record<string, unknown>;
  state: Record<string, unknown>;
  usage: TokenUsage;
  ms: number;
  error?: { code: string; message: string };
  /** Tokens per model id, for the cost estimate. */
  usageByModel?: Record<string, TokenUsage>;
};

export type RowResult = {
  rowId: string;
  index: number;
  runId: string;
  status: RunStatus;
  outputs: Record<string, unknown>;
  verdicts: Verdict[];
  /** Every assertion passed and the run succeeded. */
  pass: boolean;
  /** The run's tokens plus what its checks spent (judges). */
  usage: TokenUsage;
  latencyMs: number;
  /** Estimated cost in US dollars; null when a model's price is unknown. */
  costUsd: number | null;
};

/** Price per million tokens, by model id (demo models cost zero). */
export type PriceTable = Record<string, { inputPerMTok: number; outputPerMTok: number }>;

export type EvalSummary = {
  rows: number;
  finished: number;
  passed: number;
  passRate: number;
  perAssertion: Array<{ assertionId: string; label: string; passed: number; failed: number; passRate: number }>;
  latencyMs: { p50: number; p95: number };
  usage: TokenUsage;
  costUsd: number | null;
};

export type RowChange = "fixed" | "broken" | "same-pass" | "same-fail" | "added" | "removed";

export type EvalComparison = {
  rows: Array<{ rowId: string; before?: RowResult; after?: RowResult; change: RowChange; verdictChanges: Array<{ assertionId: string; before?: boolean; after?: boolean }> }>;
  summary: { before: EvalSummary; after: EvalSummary; passRateDelta: number; p50Delta: number; p95Delta: number; tokensDelta: number; costDelta: number | null };
};

export type EvalStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "interrupted";

/** Progress of an evaluation, as the progress bar shows it. */
export type EvalProgress = { total: number; done: number; passed: number; failed: number; running: number; etaMs: number | null };
