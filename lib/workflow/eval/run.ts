import { systemClock, type Clock } from "../engine/clock";
import type { RunEvent } from "../engine/events";
import { addUsage } from "../engine/model-call";
import type { TokenUsage } from "../engine/model-port";
import { issue } from "../issues";
import type { WorkflowDocument } from "../schema";
import { assertionProblems, checkAssertion, resolveAssertions, type EvalServices } from "./assertions";
import { addModelUsage, DEFAULT_PRICES, estimateCost, usageByModel } from "./cost";
import { summarise } from "./summary";
import type { Assertion, Dataset, DatasetRow, EvalProgress, EvalSummary, PriceTable, RowResult, RowRun } from "./types";

/**
 * Runs a dataset through a workflow: a bounded pool of row runs (each an ordinary run, started by
 * the caller's `runRow`), every assertion checked on each finished row, progress with an ETA.
 * Cancelling stops new rows, aborts running ones and keeps the rows that finished.
 */

export const DEFAULT_EVAL_CONCURRENCY = 4;
export const MAX_EVAL_CONCURRENCY = 32;

export type RowRunner = (row: DatasetRow, index: number, signal: AbortSignal) => Promise<RowRun>;

export type EvaluateOptions = {
  dataset: Dataset;
  /** The dataset's assertions when omitted. Rows' own assertions are added to these. */
  assertions?: ReadonlyArray<Assertion>;
  /** When given, assertions are checked against it first (a bad one throws EvalConfigError) and schema assertions take its fields. */
  document?: WorkflowDocument;
  runRow: RowRunner;
  /** Rows run at once (default 4, at most 32). */
  concurrency?: number;
  signal?: AbortSignal;
  services?: EvalServices;
  prices?: PriceTable;
  onResult?: (result: RowResult) => void;
  onProgress?: (progress: EvalProgress) => void;
  clock?: Clock;
};

export type EvaluationResult = {
  status: "succeeded" | "cancelled";
  /** Finished rows, in dataset order. */
  results: RowResult[];
  summary: EvalSummary;
};

/** A configuration that cannot run (bad assertions); `issues` says where. */
export class EvalConfigError extends Error {
  readonly code = "invalid-assertions";
  constructor(readonly issues: ReturnType<typeof assertionProblems>) {
    super(issues.map((found) => `${found.path}: ${found.message}`).join("; "));
    this.name = "EvalConfigError";
  }
}

/**
 * What a run's events add up to for the evaluator; the events are consumed to the end. With the
 * `document` that ran, an aggregate's embedding tokens are priced at its embedding model.
 */
export async function rowRunFromEvents(events: AsyncIterable<RunEvent>, onEvent?: (event: RunEvent) => void, document?: WorkflowDocument): Promise<RowRun> {
  const seen: RunEvent[] = [];
  let runId = "";
  for await (const event of events) {
    onEvent?.(event);
    if (event.type === "run-started") runId = event.runId;
    if (event.type === "node-started" || event.type === "node-finished") seen.push(event);
    if (event.type === "run-finished") {
      return {
        runId,
        status: event.status,
        outputs: event.outputs,
        state: event.state,
        usage: event.usage,
        ms: event.ms,
        ...(event.error ? { error: { code: event.error.code, message: event.error.message } } : {}),
        usageByModel: usageByModel(seen, document),
      };
    }
  }
  return { runId, status: "failed", outputs: {}, state: {}, usage: { inputTokens: 0, outputTokens: 0 }, ms: 0, error: { code: "no-result", message: "the run ended without a result" } };
}

function failedRun(error: unknown): RowRun {
  return {
    runId: "",
    status: "failed",
    outputs: {},
    state: {},
    usage: { inputTokens: 0, outputTokens: 0 },
    ms: 0,
    error: { code: "row-run-failed", message: error instanceof Error ? error.message : String(error) },
  };
}

/** Checks one row's run against its assertions (the dataset's, then its own) and prices it. */
export async function scoreRow(
  row: DatasetRow,
  index: number,
  run: RowRun,
  assertions: ReadonlyArray<Assertion>,
  { services = {}, prices = DEFAULT_PRICES, signal }: { services?: EvalServices; prices?: PriceTable; signal?: AbortSignal } = {},
): Promise<RowResult> {
  const all = [...assertions, ...(row.assertions ?? [])];
  const verdicts = await Promise.all(all.map((assertion) => checkAssertion(assertion, { row, run }, services, signal)));
  const tokens = run.usage.inputTokens + run.usage.outputTokens;
  let costUsd = run.usageByModel ? estimateCost(run.usageByModel, prices) : tokens ? null : 0;
  const usage = { ...run.usage };
  const checks: Record<string, TokenUsage> = {};
  for (const verdict of verdicts) {
    if (!verdict.usage) continue;
    addUsage(usage, verdict.usage);
    addModelUsage(checks, verdict.model ?? "unknown:model", verdict.usage);
  }
  const checksCost = estimateCost(checks, prices);
  costUsd = costUsd === null || checksCost === null ? null : costUsd + checksCost;
  return {
    rowId: row.id,
    index,
    runId: run.runId,
    status: run.status,
    outputs: run.outputs,
    verdicts,
    pass: run.status === "succeeded" && verdicts.every((verdict) => verdict.pass),
    usage,
    latencyMs: run.ms,
    costUsd,
  };
}

/** Problems of the dataset's and the rows' assertions against the workflow, before anything runs. */
function configProblems(assertions: ReadonlyArray<Assertion>, rows: ReadonlyArray<DatasetRow>, document: WorkflowDocument, canEmbed: boolean) {
  const shared = new Set(assertions.map((assertion) => assertion.id));
  return [
    ...assertionProblems(assertions, document, { canEmbed }),
    ...rows.flatMap((row, i) => [
      ...assertionProblems(row.assertions ?? [], document, { canEmbed, path: `rows[${i}].assertions` }),
      // A row's own assertion may share an id with other rows' (one column in the summary), not with the dataset's.
      ...(row.assertions ?? []).flatMap((assertion, j) =>
        shared.has(assertion.id) ? [issue("duplicate-assertion-id", `rows[${i}].assertions[${j}].id`, `"${assertion.id}" is already the id of one of the dataset's assertions`)] : [],
      ),
    ]),
  ].filter((found) => found.severity === "error");
}

/**
 * Runs every row and scores it. Resolves when every row has finished or the evaluation was
 * cancelled; rejects with EvalConfigError before any row runs when an assertion cannot work, and
 * with the error of `onResult`/`onProgress` when one throws (the evaluation is cancelled first).
 */
export async function evaluateDataset(options: EvaluateOptions): Promise<EvaluationResult> {
  const { dataset, document, runRow, services, prices, onResult, onProgress, clock = systemClock } = options;
  let assertions = [...(options.assertions ?? dataset.assertions)];
  let rows = dataset.rows;
  if (document) {
    const problems = configProblems(assertions, rows, document, Boolean(services?.embed));
    if (problems.length) throw new EvalConfigError(problems);
    assertions = resolveAssertions(assertions, document);
    rows = rows.map((row) => (row.assertions ? { ...row, assertions: resolveAssertions(row.assertions, document) } : row));
  }
  const concurrency = Math.max(1, Math.min(MAX_EVAL_CONCURRENCY, Math.floor(options.concurrency ?? DEFAULT_EVAL_CONCURRENCY)));
  const total = rows.length;

  // One controller for the whole evaluation: the caller's cancel reaches every running row.
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  const signal = controller.signal;

  const results: RowResult[] = [];
  let running = 0;
  let passed = 0;
  let wallTotal = 0;
  const progress = (): EvalProgress => {
    const done = results.length;
    const meanMs = done ? wallTotal / done : null;
    const remaining = total - done;
    return {
      total,
      done,
      passed,
      failed: done - passed,
      running,
      etaMs: meanMs === null ? null : remaining === 0 ? 0 : Math.round((meanMs * remaining) / Math.min(concurrency, remaining)),
    };
  };

  let next = 0;
  const worker = async () => {
    while (!signal.aborted && next < total) {
      const index = next++;
      const row = rows[index];
      running++;
      onProgress?.(progress());
      const started = clock.now();
      let run: RowRun;
      try {
        run = await runRow(row, index, signal);
      } catch (error) {
        run = failedRun(error);
      }
      // A row cancelled with the evaluation did not finish: it has no result. One that finished just before is kept.
      if (signal.aborted && (run.status === "cancelled" || run.error?.code === "row-run-failed")) {
        running--;
        break;
      }
      const result = await scoreRow(row, index, run, assertions, { services, prices, signal });
      running--;
      // Its judge or embedding call was cut short by the cancel: not a verdict.
      if (signal.aborted && result.verdicts.some((verdict) => verdict.error)) break;
      wallTotal += clock.now() - started;
      results.push(result);
      if (result.pass) passed++;
      onResult?.(result);
      onProgress?.(progress());
    }
  };
  const failures: unknown[] = [];
  const guarded = () =>
    worker().catch((error: unknown) => {
      failures.push(error);
      controller.abort();
    });
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, total) }, guarded));
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (failures.length) throw failures[0];
  results.sort((a, b) => a.index - b.index);
  const everyAssertion = [...assertions, ...rows.flatMap((row) => row.assertions ?? [])];
  const unique = [...new Map(everyAssertion.map((assertion) => [assertion.id, assertion])).values()];
  return { status: signal.aborted ? "cancelled" : "succeeded", results, summary: summarise(results, unique, total) };
}
