import type { RunLimits } from "../limits";
import type { RunWarning } from "./events";
import type { ModelCall, TokenUsage } from "./model-port";

export type ModelResult = { text: string; object?: unknown; usage: TokenUsage; finishReason: string };

/** What a model call of a node may ask for beyond the call itself. */
export type CallOptions = {
  /** Validates a structured result; throw to fail the node with `invalid-output`. */
  parse?: (value: unknown) => unknown;
};

export type InstanceContext = {
  callModel(call: ModelCall, options?: CallOptions): Promise<ModelResult>;
};

/** What a node kind's `execute` can see and do. The engine owns streaming, retries and limits. */
export type NodeContext<Config> = {
  nodeId: string;
  config: Config;
  /** Read-only run state (inputs + every node's written keys). */
  state: Readonly<Record<string, unknown>>;
  /** 1-based: how many times this node has run in this run, counting this one. */
  iteration: number;
  limits: RunLimits;
  /** The document's default model, used when a node names none. */
  defaultModel: string;
  /** The node's inbound neighbours' written keys, in edge order (for aggregate defaults). */
  upstreamKeys: string[];
  /** True when the port closes a loop (an evaluator `revise` or gate `fail` back-edge). */
  isLoopPort(port: string): boolean;
  /** Loop bound for this node: min(config, run limit). */
  maxIterations(configured: number | undefined): number;
  render(template: string, extra?: Record<string, unknown>): string;
  callModel(call: ModelCall, options?: CallOptions): Promise<ModelResult>;
  /**
   * Runs one instance per item, concurrently up to `concurrency` (and the run's model-call cap),
   * each with its own events; results keep item order. `after` items wait for all the others.
   */
  runInstances<T>(
    items: ReadonlyArray<{ label: string; waitForOthers?: boolean }>,
    concurrency: number,
    run: (index: number, instance: InstanceContext, earlier: ReadonlyArray<T | undefined>) => Promise<{ value: T; output: unknown }>,
  ): Promise<T[]>;
  /** Records a run warning attributed to this node. */
  warn(warning: Omit<RunWarning, "nodeId">): void;
  signal: AbortSignal;
  /**
   * Embeds texts with an embedding model (`ModelPort.embed`) under the run's bounds: the call cap,
   * a concurrency slot, the first-token timeout, retries and cancellation. One vector per text.
   */
  embed(model: string, texts: string[]): Promise<number[][]>;
  /**
   * A join's gathering round (docs/architecture.md §4.15): 1 on its first execution, k after its
   * branches were run again k−1 times. Starts at 1 again when an enclosing loop goes round.
   */
  round: number;
  /**
   * Which nodes would run again to recompute the branches that wrote `keys` (each branch's chain back
   * to the fork), or why they cannot (nothing re-runnable, or a run limit would be reached). Asking
   * changes nothing; returning `rerun` from `execute` does it.
   */
  planRerun(keys: ReadonlyArray<string>): RerunPlan;
};

/** What re-running some branches of a join would do (NodeContext.planRerun). */
export type RerunPlan =
  | {
      ok: true;
      /** The branches that can run again, with the node ids that would re-run for each. */
      branches: Array<{ key: string; nodes: string[] }>;
      /** Keys whose branch cannot run again, and why. */
      skipped: Array<{ key: string; reason: string }>;
    }
  | { ok: false; reason: string };

export type NodeResult = {
  /** State keys this node writes (only its own). */
  writes: Record<string, unknown>;
  /** The ports that fire; the others die. Defaults to every out-port. */
  ports?: string[];
  /** What the UI shows as the node's output (defaults to `writes`). */
  output?: unknown;
  /**
   * A join asks for the branches that wrote these keys to run again (see `planRerun`), then runs
   * again itself with their new outputs; nothing downstream fires meanwhile. `note` is appended to
   * the prompt of every model call of the nodes that re-run.
   */
  rerun?: { keys: string[]; note: string };
};
