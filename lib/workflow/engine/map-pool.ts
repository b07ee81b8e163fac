import type { InstanceContext } from "./context";
import { CancelledError, LimitError, NodeError } from "./errors";
import { addUsage, callModel, RUN_OVER } from "./model-call";
import type { TokenUsage } from "./model-port";
import type { Run } from "./scheduler";
import { CallGroup } from "./semaphore";

export type InstanceItem = { label: string; waitForOthers?: boolean };
export type InstanceWork<T> = (index: number, instance: InstanceContext, earlier: ReadonlyArray<T | undefined>) => Promise<{ value: T; output: unknown }>;

/**
 * A map node's instances (docs/architecture.md §4.6): one per item, `concurrency` lanes at a
 * time (and the run's model-call cap), each with its own events. Items that wait for the others
 * run in a second pool after the first. The first failure cancels the siblings; results keep
 * item order.
 */
export async function runInstances<T>(
  run: Run,
  n: number,
  items: ReadonlyArray<InstanceItem>,
  concurrency: number,
  work: InstanceWork<T>,
  nodeSignal: AbortSignal,
): Promise<T[]> {
  const node = run.workflow.nodes[n];
  if (items.length > run.limits.maxMapItems) {
    throw new LimitError("map-items", `the list has ${items.length} items; the limit is ${run.limits.maxMapItems}`);
  }
  run.emit({ type: "node-instances", nodeId: node.id, labels: items.map((item) => item.label) });
  const results: Array<T | undefined> = new Array(items.length);
  const siblings = new AbortController();
  const onNodeAbort = () => siblings.abort(RUN_OVER);
  if (nodeSignal.aborted) onNodeAbort();
  else nodeSignal.addEventListener("abort", onNodeAbort, { once: true });
  const group = new CallGroup(siblings.signal, RUN_OVER);
  const iteration = run.iterationOf(n);
  const reused = run.takeReusedInstances(n, items.length);

  const runOne = async (index: number) => {
    const recorded = reused?.outputs[index];
    if (recorded) {
      // Retry failed instances: one that succeeded before keeps its recorded output, uncalled.
      results[index] = recorded.output as T;
      const zero = { inputTokens: 0, outputTokens: 0 };
      run.emit({ type: "node-finished", nodeId: node.id, instance: index, output: recorded.output, usage: zero, ms: 0, iteration, reused: { runId: reused.runId } });
      return;
    }
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    const started = run.clock.now();
    run.emit({ type: "node-started", nodeId: node.id, instance: index, label: items[index].label, instances: items.length, iteration });
    const recalled = run.recallInstance(n, iteration, index);
    if (recalled) {
      // An earlier attempt of this run finished this instance: its output, without a model call.
      results[index] = recalled.output as T;
      run.addRecalledUsage(n, recalled.usage);
      run.emit({ type: "node-finished", nodeId: node.id, instance: index, output: recalled.output, usage: recalled.usage, ms: 0, iteration, ...(recalled.calls ? { calls: recalled.calls } : {}) });
      return;
    }
    const instance: InstanceContext = {
      callModel: async (call, callOptions) => {
        const result = await callModel(run, n, index, call, callOptions, group);
        addUsage(usage, result.usage);
        return result;
      },
    };
    try {
      const { value, output } = await work(index, instance, results);
      results[index] = value;
      run.checkPlaceholders(node.id, output, index);
      const calls = run.takeInstanceCalls(n, index);
      run.emit({
        type: "node-finished",
        nodeId: node.id,
        instance: index,
        output,
        usage,
        ms: run.elapsedSince(started),
        iteration,
        ...(calls ? { calls } : {}),
      });
    } catch (error) {
      if (error instanceof CancelledError || siblings.signal.aborted) {
        run.emit({ type: "node-cancelled", nodeId: node.id, instance: index });
      } else {
        const { code, message, retryable } =
          error instanceof NodeError ? error : { code: "internal", message: error instanceof Error ? error.message : String(error), retryable: false };
        run.emit({ type: "node-failed", nodeId: node.id, instance: index, code, message, retryable });
        siblings.abort(RUN_OVER);
      }
      throw error;
    }
  };

  const pool = async (indices: number[]) => {
    let next = 0;
    const lane = async () => {
      while (next < indices.length && !siblings.signal.aborted) await runOne(indices[next++]);
    };
    const lanes = Array.from({ length: Math.min(Math.max(1, concurrency), indices.length) }, lane);
    const settled = await Promise.allSettled(lanes);
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failure) throw failure.reason;
  };

  try {
    await pool(items.flatMap((item, i) => (item.waitForOthers ? [] : [i])));
    await pool(items.flatMap((item, i) => (item.waitForOthers ? [i] : [])));
  } finally {
    nodeSignal.removeEventListener("abort", onNodeAbort);
  }
  if (siblings.signal.aborted) throw new CancelledError();
  return results as T[];
}
