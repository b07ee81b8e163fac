/** Evaluations (issue 15): datasets, assertions, the evaluation runner, summaries, comparisons and cost. Pure. */
export * from "./types";
export { parseDataset, datasetToCsv, datasetToJsonl, type DatasetFormat, type DatasetIssue, type ParseDatasetOptions, type ParseDatasetResult } from "./dataset";
export {
  assertionProblems,
  parseAssertions,
  checkAssertion,
  describeAssertion,
  resolveAssertions,
  producedKeys,
  fieldsWriting,
  vectorCosine,
  type AssertionOptions,
  type EmbedAnswer,
  type EvalServices,
  type JudgeAnswer,
  type JudgeRequest,
} from "./assertions";
export { createModelJudge, judgePrompt, JUDGE_SCHEMA, JUDGE_SYSTEM, type JudgeOptions } from "./judge";
export { createPortEmbedder, DEFAULT_EMBEDDING_MODEL } from "./embed";
export { DEFAULT_PRICES, PriceTableSchema, parsePriceTable, loadPriceTable, priceOf, estimateCost, usageByModel, addModelUsage, type PriceTableResult } from "./cost";
export {
  evaluateDataset,
  scoreRow,
  rowRunFromEvents,
  EvalConfigError,
  DEFAULT_EVAL_CONCURRENCY,
  MAX_EVAL_CONCURRENCY,
  type EvaluateOptions,
  type EvaluationResult,
  type RowRunner,
} from "./run";
export { summarise, compareEvaluations, percentile, type EvaluationOutcome } from "./summary";
