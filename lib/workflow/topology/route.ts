import type { TaskMetrics } from "./metrics";

/**
 * The topology router (AdaptOrch, Feb 2026): a pure function of the task DAG's metrics. The
 * thresholds are named here and explained, with their sources, in the README ("Topology").
 */

export const TOPOLOGIES = ["sequential", "parallel", "hierarchical", "hybrid"] as const;
export type Topology = (typeof TOPOLOGIES)[number];

/**
 * The widest fan-out built as plain parallel branches. Trellis runs at most 8 model calls of a
 * run at once by default, so a wider stage queues anyway; past it a coordinator that hands out
 * the work (orchestrator → workers) bounds the fan-out and verifies the merge (Kim et al. 2025:
 * independent agents merged unchecked amplify errors ~17×, a verifying coordinator ~4×).
 */
export const PARALLEL_CAP = 8;
/**
 * A coordinator with workers expresses "items, then what needs all of them" (a worker's dependent
 * items run after the others), so hierarchical is chosen only for DAGs at most this deep.
 */
export const HIERARCHICAL_MAX_DEPTH = 2;

export type RouteDecision = {
  topology: Topology;
  /** Why, in a few words ("a chain of 3 steps", "2 stages"). */
  detail: string;
  /** "4 subtasks, width 3, depth 2, coupling 0.17 → hybrid: 2 stages". */
  explanation: string;
};

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;

export function describeMetrics(metrics: TaskMetrics): string {
  return `${plural(metrics.n, "subtask")}, width ${metrics.width}, depth ${metrics.depth}, coupling ${metrics.coupling.toFixed(2)}`;
}

/**
 * sequential when ω = 1 (every subtask needs the one before: multi-agent set-ups lose 39–70% on
 * sequential reasoning, Kim et al. 2025); hierarchical when the fan-out is items of one kind of
 * work or wider than PARALLEL_CAP (and the DAG fits a coordinator); parallel when δ = 1; hybrid
 * otherwise: each level a parallel stage, the levels chained.
 */
export function routeTopology(metrics: TaskMetrics): RouteDecision {
  const { n, width, depth } = metrics;
  let topology: Topology;
  let detail: string;
  if (n <= 1 || width <= 1) {
    topology = "sequential";
    detail = n <= 1 ? "one step" : `a chain of ${n} steps`;
  } else if (depth <= HIERARCHICAL_MAX_DEPTH && (metrics.nearDuplicate || width > PARALLEL_CAP)) {
    topology = "hierarchical";
    detail = metrics.nearDuplicate
      ? `a coordinator hands ${width} items of one kind of work to workers`
      : `a coordinator hands out ${width} subtasks, more than ${PARALLEL_CAP} at once`;
  } else if (depth === 1) {
    topology = "parallel";
    detail = `${width} branches at once, then a checked merge`;
  } else {
    topology = "hybrid";
    detail = `${depth} stages`;
  }
  return { topology, detail, explanation: `${describeMetrics(metrics)} → ${topology}: ${detail}` };
}
