import type { RunError, RunEvent, RunReuseSummary, RunStatus, RunWarning, TokenUsage } from "@/lib/workflow";

/**
 * The run slice of the editor: what the canvas shows while a run streams. Built from RunEvents
 * by a pure reducer, applied in batches (one per animation frame). Nodes not touched by a batch
 * keep their object identity, so only their own cards re-render. None of this reaches the document.
 */

export type NodeRunStatus = "queued" | "running" | "succeeded" | "failed" | "skipped" | "cancelled";

export type Span = { start: number; end?: number; iteration: number; status: NodeRunStatus };

export type InstanceRun = {
  index: number;
  label: string;
  status: NodeRunStatus;
  text: string;
  output?: unknown;
  span?: Span;
  error?: string;
  /** Taken from this earlier run (Retry failed instances), not called again. */
  reusedFrom?: string;
};

export type NodeRun = {
  status: NodeRunStatus;
  /** Streamed text of the current iteration. */
  text: string;
  /** A structured answer's JSON text as it streams (parsed when shown). */
  json?: string;
  /** The latest partial structured object, from runs recorded before JSON deltas. */
  partial?: unknown;
  output?: unknown;
  ports?: string[];
  iteration: number;
  model?: string;
  usage?: TokenUsage;
  ms?: number;
  error?: { code: string; message: string };
  retry?: { attempt: number; delayMs: number; message: string };
  instances: InstanceRun[];
  /** One span per iteration, on the run's time axis (ms). */
  spans: Span[];
  /** Not executed: its output came from this earlier run (Run from here). */
  reusedFrom?: string;
  /** Not executed: the document pins its output. */
  pinned?: boolean;
};

export type RunState = {
  runId: string;
  /** performance.now() on the client when the run began, for live elapsed times. */
  clientStart: number;
  status: RunStatus | "running";
  /** Run-relative time of the newest event (ms). */
  t: number;
  /** Set while a recorded run is replayed: the replay's position (ms), which running clocks show. */
  frozenAt?: number;
  nodes: Record<string, NodeRun>;
  warnings: RunWarning[];
  outputs?: Record<string, unknown>;
  usage?: TokenUsage;
  error?: RunError;
  ms?: number;
  /** The default model of the document the editor ran (absent for a recorded run being replayed). */
  model?: string;
  /** A run from given nodes of an earlier run: which run and which nodes it reused. */
  reuse?: RunReuseSummary;
  /**
   * The server ran it, so it has a record (its `run-started` carries the server's start stamp). A
   * run refused before it started (busy, rate-limited, an invalid document, …) has none: nothing to share.
   */
  recorded?: boolean;
  /** Model calls the run made (runs recorded before this was counted have none). */
  calls?: number;
  /** The final state (inputs and every key written). */
  state?: Record<string, unknown>;
  /** Rounds in which a join re-ran some of its branches (an aggregate's agreement policy), in order. */
  reruns?: BranchRerun[];
};

export type BranchRerun = { nodeId: string; round: number; keys: string[]; nodes: string[]; t: number };

const EMPTY_NODE: NodeRun = Object.freeze({ status: "queued", text: "", iteration: 0, instances: [], spans: [] }) as NodeRun;

export function startRunState(runId: string, nodeIds: string[], clientStart = 0): RunState {
  return { runId, clientStart, status: "running", t: 0, nodes: Object.fromEntries(nodeIds.map((id) => [id, EMPTY_NODE])), warnings: [] };
}

function closeSpan(spans: Span[], end: number, status: NodeRunStatus): Span[] {
  const last = spans.at(-1);
  if (!last || last.end !== undefined) return spans;
  return [...spans.slice(0, -1), { ...last, end, status }];
}

function withInstance(node: NodeRun, index: number, change: (instance: InstanceRun) => InstanceRun): NodeRun {
  const instances = [...node.instances];
  // Instances can report before the node's plan event when events are batched: create them as needed.
  for (let i = instances.length; i <= index; i++) instances[i] = { index: i, label: `Item ${i + 1}`, status: "queued", text: "" };
  instances[index] = change(instances[index]);
  return { ...node, instances };
}

function endInstance(node: NodeRun, index: number, t: number, status: NodeRunStatus, extra: Partial<InstanceRun> = {}): NodeRun {
  return withInstance(node, index, (instance) => ({
    ...instance,
    ...extra,
    status,
    span: instance.span ? { ...instance.span, end: t, status } : undefined,
  }));
}

function reduceNode(node: NodeRun, event: RunEvent): NodeRun {
  switch (event.type) {
    case "node-started":
      if (event.instance !== undefined) {
        return withInstance(node, event.instance, (instance) => ({
          ...instance,
          label: event.label ?? instance.label,
          status: "running",
          span: { start: event.t, iteration: event.iteration, status: "running" },
        }));
      }
      return {
        ...node,
        status: "running",
        text: "",
        json: undefined,
        partial: undefined,
        output: undefined,
        error: undefined,
        retry: undefined,
        ports: undefined,
        iteration: event.iteration,
        model: event.model ?? node.model,
        instances: event.iteration > 1 ? [] : node.instances,
        spans: [...node.spans, { start: event.t, iteration: event.iteration, status: "running" }],
      };
    case "node-instances":
      return {
        ...node,
        instances: event.labels.map((label, index) => ({ ...(node.instances[index] ?? { index, status: "queued" as const, text: "" }), index, label })),
      };
    case "node-delta":
      if (event.instance !== undefined) return withInstance(node, event.instance, (instance) => ({ ...instance, text: instance.text + (event.text ?? "") }));
      if (event.text !== undefined) return { ...node, text: node.text + event.text, retry: undefined };
      if (event.json !== undefined) return { ...node, json: (node.json ?? "") + event.json, retry: undefined };
      return { ...node, partial: event.partial };
    case "node-finished":
      if (event.instance !== undefined) return endInstance(node, event.instance, event.t, "succeeded", { output: event.output, ...(event.reused ? { reusedFrom: event.reused.runId } : {}) });
      return {
        ...node,
        ...(event.reused ? { reusedFrom: event.reused.runId } : {}),
        ...(event.pinned ? { pinned: true } : {}),
        status: "succeeded",
        output: event.output,
        ports: event.ports,
        usage: event.usage,
        ms: event.ms,
        retry: undefined,
        spans: closeSpan(node.spans, event.t, "succeeded"),
      };
    case "node-skipped":
      return { ...node, status: "skipped" };
    case "node-failed":
      if (event.instance !== undefined) return endInstance(node, event.instance, event.t, "failed", { error: event.message });
      return { ...node, status: "failed", error: { code: event.code, message: event.message }, spans: closeSpan(node.spans, event.t, "failed") };
    case "node-cancelled":
      if (event.instance !== undefined) return endInstance(node, event.instance, event.t, "cancelled");
      return { ...node, status: "cancelled", spans: closeSpan(node.spans, event.t, "cancelled") };
    case "node-retry":
      // The next attempt streams from scratch.
      return event.instance !== undefined
        ? withInstance(node, event.instance, (instance) => ({ ...instance, text: "" }))
        : { ...node, text: "", retry: { attempt: event.attempt, delayMs: event.delayMs, message: event.message } };
    default:
      return node;
  }
}

/** Applies a batch of events. Returns the same object when nothing changed. */
export function applyRunEvents(run: RunState, events: ReadonlyArray<RunEvent>): RunState {
  if (!events.length) return run;
  let nodes = run.nodes;
  let copied = false;
  let next: RunState = run;
  for (const event of events) {
    if (event.type === "run-started" || event.type === "loop-iteration") {
      next = { ...next, t: event.t };
      if (event.type === "run-started") {
        if (event.reuse) next.reuse = event.reuse;
        if (event.at !== undefined) next.recorded = true;
      }
      continue;
    }
    if (event.type === "warning") {
      next = { ...next, t: event.t, warnings: [...next.warnings, event.warning] };
      continue;
    }
    if (event.type === "branches-rerun") {
      const { nodeId, round, keys, nodes: rerun, t } = event;
      next = { ...next, t, reruns: [...(next.reruns ?? []), { nodeId, round, keys, nodes: rerun, t }] };
      if (!copied) {
        nodes = { ...nodes };
        copied = true;
      }
      // The join waits for its branches again: nothing left it yet (its last output stays in view).
      const join = nodes[nodeId] ?? EMPTY_NODE;
      nodes[nodeId] = { ...join, status: "queued", ports: undefined };
      continue;
    }
    if (event.type === "run-finished") {
      if (!copied) nodes = { ...nodes };
      copied = true;
      // Whatever was still queued or running when the run ended did not run.
      for (const [id, node] of Object.entries(nodes)) {
        if (node.status === "running") nodes[id] = { ...node, status: "cancelled", spans: closeSpan(node.spans, event.ms, "cancelled") };
      }
      next = { ...next, t: event.t, status: event.status, outputs: event.outputs, usage: event.usage, error: event.error, ms: event.ms, warnings: event.warnings, calls: event.calls, state: event.state };
      continue;
    }
    if (!copied) {
      nodes = { ...nodes };
      copied = true;
    }
    nodes[event.nodeId] = reduceNode(nodes[event.nodeId] ?? EMPTY_NODE, event);
    next = { ...next, t: event.t };
  }
  return { ...next, nodes };
}

/** Marks a run that ended without its final event (a lost connection, a server error) as failed. */
export function abandonRun(run: RunState, message: string, code = "connection"): RunState {
  if (run.status !== "running") return run;
  const ended = applyRunEvents(run, [
    { seq: -1, t: run.t, type: "run-finished", status: "failed", outputs: {}, state: {}, usage: { inputTokens: 0, outputTokens: 0 }, warnings: run.warnings, error: { code, message }, ms: run.t },
  ]);
  return { ...ended, frozenAt: undefined };
}

/** How a recorded run without its final event ended (the server stopped mid-run): shown at the replay's end. */
export const INTERRUPTED = "The server stopped while this run was in progress; everything that completed before is shown.";

/** The end of a recorded run: its final event's time (or its last event's, for an unfinished record). */
export function recordedDuration(events: ReadonlyArray<RunEvent>): number {
  const last = events.at(-1);
  return last ? (last.type === "run-finished" ? Math.max(last.ms, last.t) : last.t) : 0;
}

/**
 * A recorded run as it stood `at` ms after it started: the same reducer the live run uses, over
 * the events up to that moment. Past the end it is the finished run.
 */
export function replayRun(runId: string, nodeIds: string[], events: ReadonlyArray<RunEvent>, at = Infinity, interrupted = false): RunState {
  const upTo = events.findIndex((event) => event.t > at);
  const state = advanceReplay(startRunState(runId, nodeIds), events, 0, upTo === -1 ? events.length : upTo, at);
  return interrupted ? endInterrupted(state, events, at) : state;
}

/** At the end of an interrupted run's record, the replay says how it ended instead of running forever. */
export function endInterrupted(state: RunState, events: ReadonlyArray<RunEvent>, at: number): RunState {
  return at >= recordedDuration(events) ? abandonRun(state, INTERRUPTED, "interrupted") : state;
}

/** Applies events [from, to) to a replay state (replays moving forward do not start over). */
export function advanceReplay(run: RunState, events: ReadonlyArray<RunEvent>, from: number, to: number, at: number): RunState {
  const next = applyRunEvents(run, events.slice(from, to));
  if (next.status !== "running") return next.frozenAt === undefined ? next : { ...next, frozenAt: undefined };
  const position = Number.isFinite(at) ? at : next.t;
  return { ...next, t: Math.max(next.t, position), frozenAt: position };
}

export type EdgeRunState = "idle" | "flowing" | "taken" | "dead";

/** What an edge shows: data flowing out of a running node, the branch taken, or a dead branch. */
export function edgeRunState(run: RunState | null, source: string, sourcePort: string): EdgeRunState {
  const node = run?.nodes[source];
  if (!node) return "idle";
  if (node.status === "running") return "flowing";
  if (node.status === "skipped") return "dead";
  if (node.status === "succeeded") return node.ports && !node.ports.includes(sourcePort) ? "dead" : "taken";
  return "idle";
}
