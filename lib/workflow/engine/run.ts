import { resolveInputs } from "../inputs";
import { describeIssues } from "../issues";
import { effectiveLimits, type RunLimits } from "../limits";
import type { WorkflowDocument } from "../schema";
import { findPlaceholder, renderTemplate, TemplateError } from "../template";
import { compileWorkflow, kindOf, type CompiledWorkflow } from "../validate";
import { EventChannel } from "./channel";
import { sleep, systemClock, type Clock } from "./clock";
import type { CallOptions, InstanceContext, ModelResult, NodeContext, NodeResult } from "./context";
import { CancelledError, LimitError, NodeError } from "./errors";
import type { RunError, RunEvent, RunEventBody, RunStatus, RunWarning } from "./events";
import type { ModelCall, ModelChunk, ModelPort, TokenUsage } from "./model-port";
import { classifyModelError, retryDelay } from "./retry";
import { CallGroup, Semaphore } from "./semaphore";

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
};

const PENDING = 0;
const FIRED = 1;
const DEAD = 2;

type NodeStatus = "pending" | "running" | "done" | "skipped" | "failed" | "cancelled";

/** The abort reason for a finished run's signal (a prebuilt one: `abort()` alone builds a DOMException with a stack). */
const RUN_OVER = new CancelledError();

const ZERO_USAGE: TokenUsage = Object.freeze({ inputTokens: 0, outputTokens: 0 });

function addUsage(into: TokenUsage, usage: Partial<TokenUsage> | undefined): void {
  into.inputTokens += usage?.inputTokens ?? 0;
  into.outputTokens += usage?.outputTokens ?? 0;
}

function byteLength(text: string): number {
  // Cheap bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  return text.length * 3 <= 1_000_000 ? text.length : new TextEncoder().encode(text).length;
}

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
  const run = new Run(workflow, options, resolved.values);
  return run.channel;
}

class Run {
  readonly channel: EventChannel<RunEvent>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly limits: RunLimits;
  private readonly controller = new AbortController();
  private readonly semaphore: Semaphore;
  /** Every model call of the run, aborted together when the run ends. */
  readonly calls: CallGroup;
  private readonly runId: string;
  private startedAt = 0;
  private seq = 0;

  private readonly status: NodeStatus[];
  private readonly edgeState: Uint8Array;
  private readonly unresolved: Int32Array;
  private readonly firedIn: Int32Array;
  private readonly iterations: Int32Array;
  private readonly startedAtNode: Float64Array;
  private readonly nodeUsage: TokenUsage[];
  private readonly state: Record<string, unknown> = Object.create(null);
  private readonly usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  private readonly warnings: RunWarning[] = [];
  private running = 0;
  private modelCalls = 0;
  private finished = false;
  private outcome: { status: RunStatus; error?: RunError } | null = null;
  private detachExternal: (() => void) | null = null;
  private cancelWallTimer: (() => void) | null = null;

  constructor(
    private readonly workflow: CompiledWorkflow,
    private readonly options: RunOptions,
    private readonly inputs: Record<string, unknown>,
  ) {
    const n = workflow.nodes.length;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.limits = effectiveLimits(options.limits, workflow.document.settings?.limits);
    this.semaphore = new Semaphore(this.limits.maxConcurrency);
    this.calls = new CallGroup(this.controller.signal, RUN_OVER);
    this.runId = options.runId ?? globalThis.crypto.randomUUID();
    this.status = new Array<NodeStatus>(n).fill("pending");
    this.edgeState = new Uint8Array(workflow.edges.length);
    this.unresolved = new Int32Array(n);
    this.firedIn = new Int32Array(n);
    this.iterations = new Int32Array(n);
    this.startedAtNode = new Float64Array(n);
    this.nodeUsage = Array.from({ length: n }, () => ({ inputTokens: 0, outputTokens: 0 }));
    for (let i = 0; i < n; i++) this.unresolved[i] = workflow.incoming[i].length;
    this.channel = new EventChannel<RunEvent>(
      () => this.start(),
      () => this.cancel(),
    );
  }

  /** Stamps an event in place (bodies are always fresh literals) and queues it. */
  emit(body: RunEventBody): void {
    const event = body as RunEvent;
    event.seq = this.seq++;
    event.t = Math.round((this.clock.now() - this.startedAt) * 1000) / 1000;
    this.channel.push(event);
  }

  private start(): void {
    this.startedAt = this.clock.now();
    Object.assign(this.state, this.inputs);
    this.emit({ type: "run-started", runId: this.runId, workflow: this.workflow.document.name, inputs: { ...this.inputs } });
    const external = this.options.signal;
    if (external) {
      if (external.aborted) return this.cancel();
      const onAbort = () => this.cancel();
      external.addEventListener("abort", onAbort, { once: true });
      this.detachExternal = () => external.removeEventListener("abort", onAbort);
    }
    this.cancelWallTimer = this.clock.schedule(this.limits.maxWallTimeMs, () =>
      this.fail({ code: "limit:wall-time", message: `the run exceeded its wall time limit of ${this.limits.maxWallTimeMs} ms` }),
    );
    if (this.workflow.nodes.length === 0) return this.finish();
    this.startNode(this.workflow.inputIndex);
  }

  // ── Scheduling ──────────────────────────────────────────────────────────────

  private startNode(n: number): void {
    const node = this.workflow.nodes[n];
    const kind = kindOf(node);
    this.status[n] = "running";
    this.running++;
    const iteration = ++this.iterations[n];
    this.startedAtNode[n] = this.clock.now();
    this.nodeUsage[n] = { inputTokens: 0, outputTokens: 0 };
    const model = kind.models(node.config, this.workflow.defaultModel)[0];
    this.emit({ type: "node-started", nodeId: node.id, iteration, ...(model ? { model } : {}) });
    let result: Promise<NodeResult>;
    try {
      result = kind.execute(this.context(n, this.controller.signal));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => this.nodeDone(n, iteration, value),
      (error: unknown) => this.nodeFailed(n, iteration, error),
    );
  }

  private nodeDone(n: number, iteration: number, result: NodeResult): void {
    if (this.finished || this.status[n] !== "running" || this.iterations[n] !== iteration) return;
    const node = this.workflow.nodes[n];
    const kind = kindOf(node);
    const allowed = kind.writes(node.config);
    for (const key of Object.keys(result.writes)) {
      if (!allowed.includes(key)) return this.nodeFailed(n, iteration, new NodeError("internal", `node wrote "${key}", which it does not own`));
    }
    for (const [key, value] of Object.entries(result.writes)) {
      if (typeof value === "string" && byteLength(value) > this.limits.maxOutputBytes) {
        return this.nodeFailed(n, iteration, new LimitError("output-size", `"${key}" is larger than the ${this.limits.maxOutputBytes}-byte limit`));
      }
      this.state[key] = value;
      this.checkPlaceholders(node.id, value);
    }
    this.status[n] = "done";
    this.running--;
    const ports = result.ports ?? kind.outputs(node.config);
    this.emit({
      type: "node-finished",
      nodeId: node.id,
      output: result.output ?? result.writes,
      ports,
      usage: this.nodeUsage[n],
      ms: Math.round((this.clock.now() - this.startedAtNode[n]) * 1000) / 1000,
      iteration,
    });
    const { edges, outgoing } = this.workflow;
    const loops = outgoing[n].filter((e) => edges[e].back && ports.includes(edges[e].sourcePort));
    if (loops.length) {
      // The node will run again: its forward edges stay pending until the loop is done.
      for (const e of loops) this.loopBack(e);
    } else {
      for (const e of outgoing[n]) {
        if (edges[e].back) continue;
        if (ports.includes(edges[e].sourcePort)) this.fireEdge(e);
        else this.killEdge(e);
      }
    }
    this.maybeFinish();
  }

  private fireEdge(e: number): void {
    if (this.edgeState[e] !== PENDING) return;
    this.edgeState[e] = FIRED;
    const t = this.workflow.edges[e].target;
    this.firedIn[t]++;
    if (--this.unresolved[t] === 0) this.resolved(t);
  }

  private killEdge(e: number): void {
    if (this.edgeState[e] !== PENDING) return;
    this.edgeState[e] = DEAD;
    const t = this.workflow.edges[e].target;
    if (--this.unresolved[t] === 0) this.resolved(t);
  }

  /** Every inbound edge is resolved: run if one fired, else skip and let the death spread. */
  private resolved(n: number): void {
    if (this.status[n] !== "pending" || this.finished) return;
    if (this.firedIn[n] > 0) return this.startNode(n);
    this.status[n] = "skipped";
    this.emit({ type: "node-skipped", nodeId: this.workflow.nodes[n].id });
    for (const e of this.workflow.outgoing[n]) if (!this.workflow.edges[e].back) this.killEdge(e);
  }

  /** A back-edge fired: reset the loop body and run its head again with the new state. */
  private loopBack(e: number): void {
    const { edges, incoming, nodes } = this.workflow;
    const body = this.workflow.loopBodies.get(e)!;
    const inBody = new Set(body);
    for (const b of body) {
      this.status[b] = "pending";
      for (const k of incoming[b]) if (inBody.has(edges[k].source)) this.edgeState[k] = PENDING;
    }
    for (const b of body) {
      let unresolved = 0;
      let fired = 0;
      for (const k of incoming[b]) {
        if (this.edgeState[k] === PENDING) unresolved++;
        else if (this.edgeState[k] === FIRED) fired++;
      }
      this.unresolved[b] = unresolved;
      this.firedIn[b] = fired;
    }
    const head = edges[e].target;
    const source = edges[e].source;
    this.emit({ type: "loop-iteration", nodeId: nodes[source].id, targetId: nodes[head].id, iteration: this.iterations[source] + 1 });
    if (this.unresolved[head] === 0) this.resolved(head);
  }

  private nodeFailed(n: number, iteration: number, error: unknown): void {
    if (this.finished || this.status[n] !== "running" || this.iterations[n] !== iteration) return;
    const node = this.workflow.nodes[n];
    this.running--;
    if (error instanceof CancelledError || this.controller.signal.aborted) {
      this.status[n] = "cancelled";
      this.emit({ type: "node-cancelled", nodeId: node.id });
      return this.maybeFinish();
    }
    this.status[n] = "failed";
    const failure =
      error instanceof NodeError
        ? error
        : error instanceof TemplateError
          ? new NodeError("template", `the template could not be rendered: ${error.message}`)
          : new NodeError("internal", error instanceof Error ? error.message : String(error));
    this.emit({ type: "node-failed", nodeId: node.id, code: failure.code, message: failure.message, retryable: failure.retryable });
    this.fail({ code: failure.code, message: `node "${node.label || node.id}" failed: ${failure.message}`, nodeId: node.id });
  }

  private checkPlaceholders(nodeId: string, value: unknown, instance?: number): void {
    // Lists are checked item by item as their instances finish.
    if (typeof value !== "string") return;
    const found = findPlaceholder(value);
    if (found) this.warn({ code: "unfilled-placeholder", message: `the output contains ${found}`, nodeId, ...(instance !== undefined ? { instance } : {}) });
  }

  private warn(warning: RunWarning): void {
    this.warnings.push(warning);
    this.emit({ type: "warning", warning });
  }

  private maybeFinish(): void {
    if (!this.finished && (this.running === 0 || this.outcome)) this.finish();
  }

  /** Fails the run: in-flight branches are cancelled at once, partial outputs kept. */
  private fail(error: RunError): void {
    if (this.finished || this.outcome) return;
    this.outcome = { status: "failed", error };
    this.finish();
  }

  cancel(): void {
    if (this.finished || this.outcome) return;
    this.outcome = { status: "cancelled" };
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.controller.abort(RUN_OVER);
    this.semaphore.refuseAll(RUN_OVER);
    this.detachExternal?.();
    this.cancelWallTimer?.();
    this.workflow.nodes.forEach((node, n) => {
      if (this.status[n] === "running") {
        this.status[n] = "cancelled";
        this.emit({ type: "node-cancelled", nodeId: node.id });
      }
    });
    const status = this.outcome?.status ?? "succeeded";
    this.emit({
      type: "run-finished",
      status,
      outputs: this.outputs(),
      state: { ...this.state },
      usage: { ...this.usage },
      warnings: [...this.warnings],
      ...(this.outcome?.error ? { error: this.outcome.error } : {}),
      ms: Math.round((this.clock.now() - this.startedAt) * 1000) / 1000,
    });
    this.channel.close();
  }

  private outputs(): Record<string, unknown> {
    const outputNodes = this.workflow.nodes.filter((node) => node.kind === "output");
    if (!outputNodes.length) return { ...this.state };
    const shown: Record<string, unknown> = {};
    for (const node of outputNodes) {
      if (node.kind !== "output") continue;
      for (const key of node.config.keys) if (this.state[key] !== undefined) shown[key] = this.state[key];
    }
    return shown;
  }

  // ── What a node kind sees ──────────────────────────────────────────────────

  private context(n: number, signal: AbortSignal): NodeContext<unknown> {
    return new NodeRun(this, n, signal);
  }

  loopPorts(n: number): Set<string> {
    const { edges, outgoing, nodes } = this.workflow;
    const kind = kindOf(nodes[n]);
    return new Set(outgoing[n].filter((e) => edges[e].back && kind.loopPorts.includes(edges[e].sourcePort)).map((e) => edges[e].sourcePort));
  }

  nodeWarning(n: number, warning: Omit<RunWarning, "nodeId">): void {
    this.warn({ ...warning, nodeId: this.workflow.nodes[n].id });
  }

  runState(): Readonly<Record<string, unknown>> {
    return this.state;
  }

  runLimits(): RunLimits {
    return this.limits;
  }

  compiled(): CompiledWorkflow {
    return this.workflow;
  }

  iterationOf(n: number): number {
    return this.iterations[n];
  }

  async runInstances<T>(
    n: number,
    items: ReadonlyArray<{ label: string; waitForOthers?: boolean }>,
    concurrency: number,
    run: (index: number, instance: InstanceContext, earlier: ReadonlyArray<T | undefined>) => Promise<{ value: T; output: unknown }>,
    nodeSignal: AbortSignal,
  ): Promise<T[]> {
    const node = this.workflow.nodes[n];
    if (items.length > this.limits.maxMapItems) {
      throw new LimitError("map-items", `the list has ${items.length} items; the limit is ${this.limits.maxMapItems}`);
    }
    this.emit({ type: "node-instances", nodeId: node.id, labels: items.map((item) => item.label) });
    const results: Array<T | undefined> = new Array(items.length);
    const siblings = new AbortController();
    const onNodeAbort = () => siblings.abort(RUN_OVER);
    nodeSignal.addEventListener("abort", onNodeAbort, { once: true });
    const group = new CallGroup(siblings.signal, RUN_OVER);
    const iteration = this.iterations[n];

    const runOne = async (index: number) => {
      const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
      const started = this.clock.now();
      this.emit({ type: "node-started", nodeId: node.id, instance: index, label: items[index].label, instances: items.length, iteration });
      const instance: InstanceContext = {
        callModel: async (call, callOptions) => {
          const result = await this.callModel(n, index, call, callOptions, group);
          addUsage(usage, result.usage);
          return result;
        },
      };
      try {
        const { value, output } = await run(index, instance, results);
        results[index] = value;
        this.checkPlaceholders(node.id, output, index);
        this.emit({
          type: "node-finished",
          nodeId: node.id,
          instance: index,
          output,
          usage,
          ms: Math.round((this.clock.now() - started) * 1000) / 1000,
          iteration,
        });
      } catch (error) {
        if (error instanceof CancelledError || siblings.signal.aborted) {
          this.emit({ type: "node-cancelled", nodeId: node.id, instance: index });
        } else {
          const { code, message, retryable } =
            error instanceof NodeError ? error : { code: "internal", message: error instanceof Error ? error.message : String(error), retryable: false };
          this.emit({ type: "node-failed", nodeId: node.id, instance: index, code, message, retryable });
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

  // ── Model calls: concurrency cap, retries, timeouts, streaming ──────────────

  async callModel(
    n: number,
    instance: number | undefined,
    call: ModelCall,
    callOptions: CallOptions | undefined,
    group: CallGroup,
  ): Promise<ModelResult> {
    const node = this.workflow.nodes[n];
    const signal = group.signal;
    for (let attempt = 1; ; attempt++) {
      if (++this.modelCalls > this.limits.maxModelCalls) {
        throw new LimitError("model-calls", `the run reached its limit of ${this.limits.maxModelCalls} model calls`);
      }
      await this.semaphore.acquire();
      if (signal.aborted) {
        this.semaphore.release();
        throw new CancelledError();
      }
      let result: ModelResult;
      try {
        result = await this.streamOnce(n, instance, call, callOptions, group);
      } catch (error) {
        this.semaphore.release();
        if (error instanceof CancelledError || signal.aborted) throw new CancelledError();
        const classified = error instanceof NodeError ? { ...error, message: error.message, retryAfterMs: undefined } : classifyModelError(error);
        const [provider] = call.model.split(":");
        const message = `${classified.message} (model ${call.model}, provider ${provider})`;
        if (!classified.retryable || attempt >= this.limits.maxAttempts) {
          throw new NodeError(classified.code, attempt > 1 ? `${message}; gave up after ${attempt} attempts` : message, classified.retryable);
        }
        const delayMs = retryDelay(attempt, this.limits, this.random, classified.retryAfterMs);
        this.emit({
          type: "node-retry",
          nodeId: node.id,
          ...(instance !== undefined ? { instance } : {}),
          attempt: attempt + 1,
          delayMs,
          code: classified.code,
          message,
        });
        // The slot is free during the backoff so other calls go ahead; the sleep rejects at once on cancel.
        await sleep(this.clock, delayMs, signal);
        continue;
      }
      this.semaphore.release();
      addUsage(this.nodeUsage[n], result.usage);
      addUsage(this.usage, result.usage);
      return result;
    }
  }

  private async streamOnce(
    n: number,
    instance: number | undefined,
    call: ModelCall,
    callOptions: CallOptions | undefined,
    group: CallGroup,
  ): Promise<ModelResult> {
    const nodeId = this.workflow.nodes[n].id;
    const signal = group.signal;
    const callController = group.open();
    const iterator = this.options.models.stream(call, callController.signal)[Symbol.asyncIterator]();
    let text = "";
    let finish: Extract<ModelChunk, { type: "finish" }> | undefined;
    const watchdog = new Watchdog(this.clock, this.limits, callController);
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), watchdog.expired]);
        if (next.done) break;
        watchdog.activity();
        const chunk = next.value;
        if (chunk.type === "text") {
          text += chunk.delta;
          if (byteLength(text) > this.limits.maxOutputBytes) {
            throw new LimitError("output-size", `the output grew past the ${this.limits.maxOutputBytes}-byte limit`);
          }
          this.emit({ type: "node-delta", nodeId, ...(instance !== undefined ? { instance } : {}), text: chunk.delta });
        } else if (chunk.type === "object") {
          this.emit({ type: "node-delta", nodeId, ...(instance !== undefined ? { instance } : {}), partial: chunk.partial });
        } else if (chunk.type === "finish") {
          finish = chunk;
        }
      }
    } catch (error) {
      callController.abort(RUN_OVER);
      await iterator.return?.().catch(() => undefined);
      throw error;
    } finally {
      watchdog.stop();
      group.close(callController);
    }
    if (signal.aborted) throw new CancelledError();
    if (!finish || finish.finishReason === "interrupted" || finish.finishReason === "error") {
      throw new NodeError("stream-incomplete", "the model stream ended without a finish reason", true);
    }
    if (finish.finishReason === "content-filter") {
      throw new NodeError("content-filter", "the provider's content filter stopped the answer", false);
    }
    if (finish.finishReason === "length") {
      this.warn({ code: "output-truncated", message: "the model stopped at its output token limit", nodeId, ...(instance !== undefined ? { instance } : {}) });
    }
    const usage = { inputTokens: finish.usage?.inputTokens ?? 0, outputTokens: finish.usage?.outputTokens ?? 0 };
    if (!call.schema) return { text, usage, finishReason: finish.finishReason };
    let object = finish.object;
    if (object === undefined) {
      try {
        object = JSON.parse(text);
      } catch {
        throw new NodeError("invalid-output", "the model did not return the JSON object its schema asks for", false);
      }
    }
    try {
      object = callOptions?.parse ? callOptions.parse(object) : object;
    } catch (error) {
      const detail = error instanceof Error ? error.message.slice(0, 300) : String(error);
      throw new NodeError("invalid-output", `the model's structured output does not match its schema: ${detail}`, false);
    }
    return { text, object, usage, finishReason: finish.finishReason };
  }

}

/**
 * One timer per model call for both timeouts: the first chunk must come within the first-token
 * timeout, each later one within the idle timeout. On expiry the call is aborted and `expired`
 * rejects with a retryable error. (A timer per stream step would cost more than the rest of
 * the engine.)
 */
class Watchdog {
  readonly expired: Promise<never>;
  private expire!: (error: NodeError) => void;
  private first = true;
  private deadline: number;
  private armedUntil = 0;
  private cancel: () => void = () => undefined;
  private readonly fire = () => this.check();

  constructor(
    private readonly clock: Clock,
    private readonly limits: RunLimits,
    private readonly call: AbortController,
  ) {
    this.expired = new Promise<never>((_, reject) => (this.expire = reject));
    this.expired.catch(() => undefined);
    this.deadline = clock.now() + limits.firstTokenTimeoutMs;
    this.arm(limits.firstTokenTimeoutMs);
  }

  private arm(ms: number): void {
    this.armedUntil = this.clock.now() + ms;
    this.cancel = this.clock.schedule(ms, this.fire);
  }

  private check(): void {
    const left = this.deadline - this.clock.now();
    if (left > 0) return this.arm(left);
    this.call.abort(RUN_OVER);
    this.expire(
      this.first
        ? new NodeError("timeout:first-token", `no answer from the model within ${this.limits.firstTokenTimeoutMs} ms`, true)
        : new NodeError("timeout:idle", `the model stream stalled for ${this.limits.idleTimeoutMs} ms`, true),
    );
  }

  activity(): void {
    this.first = false;
    this.deadline = this.clock.now() + this.limits.idleTimeoutMs;
    // Deadlines only move later, except when the idle timeout is shorter than the first-token one.
    if (this.deadline < this.armedUntil) {
      this.cancel();
      this.arm(this.limits.idleTimeoutMs);
    }
  }

  stop(): void {
    this.cancel();
  }
}

/**
 * What a node kind sees while it runs. A class rather than a literal of closures: one is made
 * per node execution, and the engine's per-node budget is tens of microseconds.
 */
class NodeRun implements NodeContext<unknown> {
  readonly nodeId: string;
  readonly config: unknown;
  readonly state: Readonly<Record<string, unknown>>;
  readonly iteration: number;
  readonly limits: RunLimits;
  readonly defaultModel: string;
  readonly upstreamKeys: string[];
  private loopPortSet: Set<string> | undefined;

  constructor(
    private readonly run: Run,
    private readonly n: number,
    readonly signal: AbortSignal,
  ) {
    const workflow = run.compiled();
    const node = workflow.nodes[n];
    this.nodeId = node.id;
    this.config = node.config;
    this.state = run.runState();
    this.iteration = run.iterationOf(n);
    this.limits = run.runLimits();
    this.defaultModel = workflow.defaultModel;
    this.upstreamKeys = workflow.upstreamKeys[n];
  }

  isLoopPort(port: string): boolean {
    this.loopPortSet ??= this.run.loopPorts(this.n);
    return this.loopPortSet.has(port);
  }

  maxIterations(configured: number | undefined): number {
    return Math.min(configured ?? this.limits.maxLoopIterations, this.limits.maxLoopIterations);
  }

  render(template: string, extra?: Record<string, unknown>): string {
    return renderTemplate(template, extra ? { ...this.state, ...extra } : this.state);
  }

  callModel(call: ModelCall, options?: CallOptions): Promise<ModelResult> {
    return this.run.callModel(this.n, undefined, call, options, this.run.calls);
  }

  runInstances<T>(
    items: ReadonlyArray<{ label: string; waitForOthers?: boolean }>,
    concurrency: number,
    run: (index: number, instance: InstanceContext, earlier: ReadonlyArray<T | undefined>) => Promise<{ value: T; output: unknown }>,
  ): Promise<T[]> {
    return this.run.runInstances(this.n, items, concurrency, run, this.signal);
  }

  warn(warning: Omit<RunWarning, "nodeId">): void {
    this.run.nodeWarning(this.n, warning);
  }
}
