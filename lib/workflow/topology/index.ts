/** Topology from the task: metrics and routing of task DAGs, building workflows from plans, advice, agreement. */
export { taskMetrics, skeletonShare, NEAR_DUPLICATE_SHARE, SKELETON_PRESENCE, NEAR_DUPLICATE_MIN_ITEMS, type TaskDag, type TaskMetrics } from "./metrics";
export { routeTopology, describeMetrics, TOPOLOGIES, PARALLEL_CAP, HIERARCHICAL_MAX_DEPTH, type Topology, type RouteDecision } from "./route";
export { repairPlan, plannerPrompt, PLANNER_SCHEMA, PLANNER_SYSTEM, MAX_SUBTASKS, MAX_TASK_CHARS, PLANNER_TASK_MARKER, type Subtask, type RepairResult } from "./plan";
export { buildWorkflow, planDag, TopologyBuildError, TASK_KEY, STEP_CONTEXT, ASSIGN_MARKER, VERIFY_INSTRUCTION, RESULTS_LINE, type BuildRequest, type BuiltWorkflow } from "./build";
export { adviseWorkflow, SOURCES, REDUNDANT_PROMPT_SIMILARITY, REDUNDANT_MAX_DIFFERENT_WORDS, type Advice, type AdviceFix, type AdviceKind, type AdviceReport, type AdviceSource, type DependencyAnalysis } from "./advise";
export {
  agreementReport,
  recheckNote,
  roundsSentence,
  embeddingModelsUsed,
  withEmbeddingModel,
  DEFAULT_AGREEMENT_THRESHOLD,
  OUTLIER_RATIO,
  MAX_RERUN_ROUNDS,
  RECHECK_MARKER,
  type AgreementReport,
  type AgreementRound,
  type EmbeddingSimilarity,
} from "./agreement";
export { simulateLatency, type NodeLatency } from "./latency";
export { textSimilarity } from "./text";
