import { resolveInputs } from "../inputs";
import { describeIssues } from "../issues";
import { effectiveLimits, type RunLimits } from "../limits";
import type { WorkflowDocument } from "../schema";
import { compileWorkflow, type CompiledWorkflow } from "../validate";
import { systemClock, type Clock } from "./clock";
import type { RunError, RunEvent } from "./events";
import type { ModelPort } from "./model-port";
import type { RunReuse } from "./reuse";
import type { RunResume } from "./resume";
import { Run } from "./scheduler";

/**
 * The engine's one entry point: a parsed document in, an AsyncIterable of RunEvents out. The
 * parts live beside it: the scheduler (readiness, loops, finishing), the map pool (a worker's
 * instances), model calls (retries, timeouts, streaming) and the node context (what a kind sees).
 */

export type RunOptions = {
  inputs?: Record<string, unknown>;
  models: ModelPort;
  /** Aborting it cancels the run: every in-flight call is aborted and the run ends `cancelled`. */
  signal?: AbortSignal;
  /** Operator limits; the document's settings may only lower them. */
  limits?: Partial<RunLimits>;
  runId?: string;
  clock?: Clock;
  /** Jitter source for backoff (tests pass a fixed one). */
  random?: () => number;
  /**
   * Deltas of one node (or worker instance) arriving within this many milliseconds are sent as
   * one event. 0 (the default) sends one event per delta.
   */
  coalesceMs?: number;
  /**
   * Run from given nodes of an earlier run (see `planReuse`): the nodes it lists answer their
   * recorded results without running; the rest run as usual.
   */
  reuse?: RunReuse;
  /**
   * Resume the run after an earlier attempt of it stopped (see `resumeFromEvents`): the executions
   * it finished answer their recorded results; the rest run as usual.
   */
  resume?: RunResume;
};

const ZERO_USAGE = Object.freeze({ inputTokens: 0, outputTokens: 0 });

/**
 * Runs a workflow document and streams its events. Never throws: an invalid document or
 * inputs end the run `failed` with the issues in `run-finished.error`.
 */
export function runWorkflow(document: WorkflowDocument, options: RunOptions): AsyncIterable<RunEvent> {
  const compiled = compileWorkflow(document, options.limits);
  if (!compiled.ok) {
    return failedBeforeStart(document, options, {
      code: "invalid-document",
      message: `the workflow is not valid:\n${describeIssues(compiled.issues)}`,
      issues: compiled.issues,
    });
  }
  return runCompiled(compiled.workflow, options);
}

function failedBeforeStart(document: WorkflowDocument, options: RunOptions, error: RunError): AsyncIterable<RunEvent> {
  const runId = options.runId ?? globalThis.crypto.randomUUID();
  const events: RunEvent[] = [
    { seq: 0, t: 0, type: "run-started", runId, workflow: document.name, inputs: options.inputs ?? {} },
    { seq: 1, t: 0, type: "run-finished", status: "failed", outputs: {}, state: {}, usage: { ...ZERO_USAGE }, warnings: [], error, ms: 0 },
  ];
  return {
    async *[Symbol.asyncIterator]() {
      yield* events;
    },
  };
}

/** Runs an already compiled workflow (the benchmark times this part alone). */
export function runCompiled(workflow: CompiledWorkflow, options: RunOptions): AsyncIterable<RunEvent> {
  const resolved = resolveInputs(workflow.document, options.inputs);
  if (!resolved.ok) {
    return failedBeforeStart(workflow.document, options, {
      code: "invalid-inputs",
      message: describeIssues(resolved.issues),
      issues: resolved.issues,
    });
  }
  const run = new Run(workflow, {
    runId: options.runId ?? globalThis.crypto.randomUUID(),
    inputs: resolved.values,
    models: options.models,
    signal: options.signal,
    limits: effectiveLimits(options.limits, workflow.document.settings?.limits),
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    coalesceMs: options.coalesceMs ?? 0,
    reuse: options.reuse,
    resume: options.resume,
  });
  return run.channel;
}
