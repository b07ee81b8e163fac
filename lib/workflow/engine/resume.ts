import type { WorkflowDocument } from "../schema";
import type { NodeResult } from "./context";
import type { RunEvent } from "./events";
import type { TokenUsage } from "./model-port";
import { writesOf } from "./reuse";

/**
 * Resuming a run an earlier attempt of which stopped part-way (cluster mode: its worker died or
 * handed it over). The run starts again from the beginning with the same document and inputs, and
 * every node execution the earlier attempt finished — keyed by node id, the node's iteration in the
 * run and, for a map worker, the item's index — answers its recorded result without calling a
 * model. The scheduler's semantics are unchanged: the executions are recalled in whatever order the
 * dataflow reaches them, so the run arrives where the earlier attempt was and goes on from there.
 *
 * The run's limits hold across attempts: its wall time counts from the run's first start
 * (`elapsedMs`), and the model calls and tokens of earlier attempts count against `maxModelCalls`
 * and `maxTokens` (`modelCalls`, and each recalled execution's usage).
 */

/** A finished execution's result as an earlier attempt recorded it. */
export type RecalledExecution = NodeResult & { usage: TokenUsage; calls?: number };

export type RunResume = {
  /** The recorded result of one execution (`instance` for a map worker's item), or undefined when it must run. */
  recall(nodeId: string, iteration: number, instance?: number): RecalledExecution | undefined;
  /** How long the run had been going when this attempt starts (ms since its first attempt started). */
  elapsedMs: number;
  /** Model calls earlier attempts made (attempts of a call included). */
  modelCalls: number;
};

const keyOf = (nodeId: string, iteration: number, instance?: number) => `${nodeId}\u0000${iteration}\u0000${instance ?? ""}`;

/**
 * The executions an earlier attempt finished, from the events it sent (its `node-finished` events),
 * and what it spent. `now` (epoch ms) against `run-started.at` says how long the run has been going;
 * without `at` (or a clock that went back) the last event's time stands for it.
 *
 * Model calls: a finished execution's `calls`; an execution stopped part-way counts the attempts its
 * events show (its start, then each `node-retry`) — what it spent on the dead worker is not known
 * more exactly — except a map worker's own execution, whose instances count theirs.
 */
export function resumeFromEvents(document: WorkflowDocument, events: ReadonlyArray<RunEvent>, now = Date.now()): RunResume & { size: number } {
  const nodes = new Map(document.nodes.map((node) => [node.id, node]));
  const finished = new Map<string, RecalledExecution>();
  let modelCalls = 0;
  /**
   * Per node or instance, the execution it is in: whether it calls a model itself, its attempts so
   * far, and those lost to stopped workers (a `worker-lost` retry numbered k restarted it after k - 1).
   */
  const open = new Map<string, { calls: boolean; attempts: number; lost: number }>();
  const current = (event: { nodeId: string; instance?: number }) => `${event.nodeId}\u0000${event.instance ?? ""}`;
  for (const event of events) {
    if (event.type === "node-started") {
      open.set(current(event), { calls: event.instance !== undefined || event.model !== undefined, attempts: 1, lost: 0 });
    } else if (event.type === "node-instances") {
      const parent = open.get(current(event));
      if (parent) parent.calls = false;
    } else if (event.type === "node-retry") {
      const execution = open.get(current(event));
      if (execution) {
        execution.attempts = Math.max(execution.attempts, event.attempt);
        if (event.code === "worker-lost") execution.lost = event.attempt - 1;
      }
    } else if (event.type === "node-failed" || event.type === "node-cancelled") {
      open.delete(current(event));
    }
    if (event.type !== "node-finished") continue;
    // The finishing attempt's calls are in its event; those lost to stopped workers before it are not.
    modelCalls += (event.calls ?? 0) + (open.get(current(event))?.lost ?? 0);
    open.delete(current(event));
    const node = nodes.get(event.nodeId);
    if (!node) continue;
    // An instance's recorded output is its value; a node's output stands for the keys it wrote.
    const writes = event.instance === undefined ? writesOf(node, event.output) : {};
    // A join's round that asked for a re-run asks again, so the branches run again as they did.
    finished.set(keyOf(event.nodeId, event.iteration, event.instance), {
      writes,
      ports: event.ports,
      output: event.output,
      usage: event.usage,
      ...(event.calls ? { calls: event.calls } : {}),
      ...(event.rerun ? { rerun: event.rerun } : {}),
    });
  }
  for (const execution of open.values()) if (execution.calls) modelCalls += execution.attempts;
  const first = events[0];
  const last = events.at(-1)?.t ?? 0;
  const elapsedMs = first?.type === "run-started" && first.at ? Math.max(last, now - first.at) : last;
  return {
    size: finished.size,
    elapsedMs,
    modelCalls,
    recall: (nodeId, iteration, instance) => finished.get(keyOf(nodeId, iteration, instance)),
  };
}
