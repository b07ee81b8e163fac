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
 */

/** A finished execution's result as an earlier attempt recorded it. */
export type RecalledExecution = NodeResult & { usage: TokenUsage };

export type RunResume = {
  /** The recorded result of one execution (`instance` for a map worker's item), or undefined when it must run. */
  recall(nodeId: string, iteration: number, instance?: number): RecalledExecution | undefined;
};

const keyOf = (nodeId: string, iteration: number, instance?: number) => `${nodeId}\u0000${iteration}\u0000${instance ?? ""}`;

/** The executions an earlier attempt finished, from the events it sent (its `node-finished` events). */
export function resumeFromEvents(document: WorkflowDocument, events: ReadonlyArray<RunEvent>): RunResume & { size: number } {
  const nodes = new Map(document.nodes.map((node) => [node.id, node]));
  const finished = new Map<string, RecalledExecution>();
  for (const event of events) {
    if (event.type !== "node-finished") continue;
    const node = nodes.get(event.nodeId);
    if (!node) continue;
    // An instance's recorded output is its value; a node's output stands for the keys it wrote.
    const writes = event.instance === undefined ? writesOf(node, event.output) : {};
    // A join's round that asked for a re-run asks again, so the branches run again as they did.
    finished.set(keyOf(event.nodeId, event.iteration, event.instance), { writes, ports: event.ports, output: event.output, usage: event.usage, ...(event.rerun ? { rerun: event.rerun } : {}) });
  }
  return {
    size: finished.size,
    recall: (nodeId, iteration, instance) => finished.get(keyOf(nodeId, iteration, instance)),
  };
}
