import { resolveInputs } from "../inputs";
import { describeIssues } from "../issues";
import { effectiveLimits, type RunLimits } from "../limits";
import type { WorkflowDocument } from "../schema";
import { findPlaceholder, renderTemplate, TemplateError } from "../template";
import { compileWorkflow, kindOf, type CompiledWorkflow } from "../validate";
import { EventChannel } from "./channel";
import { systemClock, type Clock } from "./clock";
import type { CallOptions, InstanceContext, ModelResult, NodeContext, NodeResult } from "./context";
import { CancelledError, LimitError, NodeError } from "./errors";
import type { RunError, RunEvent, RunEventBody, RunStatus, RunWarning } from "./events";
import type { ModelCall, ModelChunk, ModelPort, TokenUsage } from "./model-port";
import { classifyModelError, retryDelay } from "./retry";
import { Semaphore } from "./semaphore";

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
  private readonly nodeControllers: Array<AbortController | null>;
  private readonly state: Record<string, unknown> = Object.create(null);
  private readonly usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  private readonly warnings: RunWarning[] = [];
  private running = 0;
  private modelCalls = 0;
  private finished = false;
  private outcome: { status: RunStatus; error?: RunError } | null = null;
  private detachExternal: (() => void) | null = null;

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
    this.runId = options.runId ?? globalThis.crypto.randomUUID();
    this.status = new Array<NodeStatus>(n).fill("pending");
    this.edgeState = new Uint8Array(workflow.edges.length);
    this.unresolved = new Int32Array(n);
    this.firedIn = new Int32Array(n);
    this.iterations = new Int32Array(n);
    this.startedAtNode = new Float64Array(n);
    this.nodeUsage = Array.from({ length: n }, () => ({ inputTokens: 0, outputTokens: 0 }));
    this.nodeControllers = new Array(n).fill(null);
    for (let i = 0; i < n; i++) this.unresolved[i] = workflow.incoming[i].length;
    this.channel = new EventChannel<RunEvent>(
      () => this.start(),
      () => this.cancel(),
    );
  }

  private emit(body: RunEventBody): void {
    const t = Math.round((this.clock.now() - this.startedAt) * 1000) / 1000;
    this.channel.push({ ...body, seq: this.seq++, t } as RunEvent);
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
    this.clock.sleep(this.limits.maxWallTimeMs, this.controller.signal).then(
      () => this.fail({ code: "limit:wall-time", message: `the run exceeded its wall time limit of ${this.limits.maxWallTimeMs} ms` }),
      () => undefined,
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
    const controller = new AbortController();
    this.nodeControllers[n] = controller;
    const model = kind.models(node.config, this.workflow.defaultModel)[0];
    this.emit({ type: "node-started", nodeId: node.id, iteration, ...(model ? { model } : {}) });
    let result: Promise<NodeResult>;
    try {
      result = kind.execute(this.context(n, controller.signal));
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
    this.nodeControllers[n] = null;
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
    this.nodeControllers[n] = null;
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
    this.controller.abort();
    this.detachExternal?.();
    this.workflow.nodes.forEach((node, n) => {
      if (this.status[n] === "running") {
        this.status[n] = "cancelled";
        this.nodeControllers[n]?.abort();
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
    const node = this.workflow.nodes[n];
    const kind = kindOf(node);
    const loopPorts = new Set(
      this.workflow.outgoing[n].filter((e) => this.workflow.edges[e].back).map((e) => this.workflow.edges[e].sourcePort),
    );
    return {
      nodeId: node.id,
      config: node.config,
      state: this.state,
      iteration: this.iterations[n],
      limits: this.limits,
      defaultModel: this.workflow.defaultModel,
      upstreamKeys: this.workflow.upstreamKeys[n],
      isLoopPort: (port) => loopPorts.has(port) && kind.loopPorts.includes(port),
      maxIterations: (configured) => Math.min(configured ?? this.limits.maxLoopIterations, this.limits.maxLoopIterations),
      render: (template, extra) => renderTemplate(template, extra ? { ...this.state, ...extra } : this.state),
      callModel: (call, callOptions) => this.callModel(n, undefined, call, callOptions, signal),
      runInstances: (items, concurrency, run) => this.runInstances(n, items, concurrency, run, signal),
      warn: (warning) => this.warn({ ...warning, nodeId: node.id }),
      signal,
    };
  }

  private async runInstances<T>(
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
    const onNodeAbort = () => siblings.abort();
    nodeSignal.addEventListener("abort", onNodeAbort, { once: true });
    const iteration = this.iterations[n];

    const runOne = async (index: number) => {
      const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
      const started = this.clock.now();
      this.emit({ type: "node-started", nodeId: node.id, instance: index, label: items[index].label, instances: items.length, iteration });
      const instance: InstanceContext = {
        callModel: async (call, callOptions) => {
          const result = await this.callModel(n, index, call, callOptions, siblings.signal);
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
          siblings.abort();
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

  private async callModel(
    n: number,
    instance: number | undefined,
    call: ModelCall,
    callOptions: CallOptions | undefined,
    signal: AbortSignal,
  ): Promise<ModelResult> {
    const node = this.workflow.nodes[n];
    for (let attempt = 1; ; attempt++) {
      if (++this.modelCalls > this.limits.maxModelCalls) {
        throw new LimitError("model-calls", `the run reached its limit of ${this.limits.maxModelCalls} model calls`);
      }
      await this.semaphore.acquire(signal);
      let result: ModelResult;
      try {
        result = await this.streamOnce(n, instance, call, callOptions, signal);
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
        await this.clock.sleep(delayMs, signal);
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
    signal: AbortSignal,
  ): Promise<ModelResult> {
    const nodeId = this.workflow.nodes[n].id;
    const callController = new AbortController();
    const onAbort = () => callController.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const iterator = this.options.models.stream(call, callController.signal)[Symbol.asyncIterator]();
    let text = "";
    let finish: Extract<ModelChunk, { type: "finish" }> | undefined;
    let first = true;
    try {
      for (;;) {
        const next = await this.withTimeout(
          iterator.next(),
          first ? this.limits.firstTokenTimeoutMs : this.limits.idleTimeoutMs,
          first ? "first-token" : "idle",
          callController,
        );
        if (next.done) break;
        first = false;
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
      callController.abort();
      await iterator.return?.().catch(() => undefined);
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort);
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

  /** Races a stream step against a timer; on timeout the call is aborted and fails retryably. */
  private withTimeout<T>(step: Promise<T>, ms: number, what: "first-token" | "idle", call: AbortController): Promise<T> {
    const timer = new AbortController();
    const timeout = this.clock.sleep(ms, timer.signal).then(() => {
      call.abort();
      throw new NodeError(
        `timeout:${what}`,
        what === "first-token" ? `no answer from the model within ${ms} ms` : `the model stream stalled for ${ms} ms`,
        true,
      );
    });
    timeout.catch(() => undefined);
    return Promise.race([step, timeout]).finally(() => timer.abort());
  }
}
