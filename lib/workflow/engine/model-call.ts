import type { RunLimits } from "../limits";
import { sleep, type Clock } from "./clock";
import type { CallOptions, ModelResult } from "./context";
import { CancelledError, LimitError, NodeError } from "./errors";
import { SETTLES_ON_RETURN, type CallSite, type ModelCall, type ModelChunk, type TokenUsage } from "./model-port";
import { classifyModelError, retryDelay } from "./retry";
import type { Run } from "./scheduler";
import type { CallGroup } from "./semaphore";

/**
 * One model call of a node as the engine makes it (docs/architecture.md §4.9–§4.10): the
 * run's concurrency cap, retries with backoff, the first-token and idle watchdog, streaming
 * deltas (coalesced per window), the output size limit and structured output. Cancellation
 * reaches it through the call group's signal and wins over whatever the provider is doing.
 */

/** The abort reason for calls the engine ends itself (a prebuilt one: `abort()` alone builds a DOMException with a stack). */
export const RUN_OVER = new CancelledError();

const noop = () => undefined;

export function addUsage(into: TokenUsage, usage: Partial<TokenUsage> | undefined): void {
  into.inputTokens += usage?.inputTokens ?? 0;
  into.outputTokens += usage?.outputTokens ?? 0;
}

/** UTF-8 length of a string without encoding it (a delta at a time, so the total stays linear). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code >= 0xd800 && code <= 0xdbff) {
      // A surrogate pair is 2 units and 4 bytes.
      bytes += 1;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

export async function callModel(
  run: Run,
  n: number,
  instance: number | undefined,
  call: ModelCall,
  callOptions: CallOptions | undefined,
  group: CallGroup,
): Promise<ModelResult> {
  const node = run.workflow.nodes[n];
  const signal = group.signal;
  // A node re-running for a join's agreement check is told why, and what the other branches said.
  const note = run.rerunNoteOf(n);
  if (note) call = { ...call, prompt: `${call.prompt}\n\n${note}` };
  for (let attempt = 1; ; attempt++) {
    const ordinal = run.countModelCall(n, instance);
    await run.semaphore.acquire(signal);
    let result: ModelResult;
    try {
      const site: CallSite = { nodeId: node.id, iteration: run.iterationOf(n), ...(instance !== undefined ? { instance } : {}), call: ordinal };
      result = await streamOnce(run, n, instance, call, callOptions, group, site);
    } catch (error) {
      run.semaphore.release();
      if (error instanceof CancelledError || signal.aborted) throw new CancelledError();
      const classified = error instanceof NodeError ? { ...error, message: error.message, retryAfterMs: undefined } : classifyModelError(error);
      const [provider] = call.model.split(":");
      const message = `${classified.message} (model ${call.model}, provider ${provider})`;
      if (!classified.retryable || attempt >= run.limits.maxAttempts) {
        throw new NodeError(classified.code, attempt > 1 ? `${message}; gave up after ${attempt} attempts` : message, classified.retryable);
      }
      const delayMs = retryDelay(attempt, run.limits, run.random, classified.retryAfterMs);
      run.emit({
        type: "node-retry",
        nodeId: node.id,
        ...(instance !== undefined ? { instance } : {}),
        attempt: attempt + 1,
        delayMs,
        code: classified.code,
        message,
      });
      // The slot is free during the backoff so other calls go ahead; the sleep rejects at once on cancel.
      await sleep(run.clock, delayMs, signal);
      continue;
    }
    run.semaphore.release();
    run.addNodeUsage(n, result.usage);
    return result;
  }
}

async function streamOnce(
  run: Run,
  n: number,
  instance: number | undefined,
  call: ModelCall,
  callOptions: CallOptions | undefined,
  group: CallGroup,
  site: CallSite,
): Promise<ModelResult> {
  const nodeId = run.workflow.nodes[n].id;
  const limits = run.limits;
  const watchdog = new Watchdog(run.clock, limits);
  const callController = group.open(watchdog.cancelled);
  watchdog.watch(callController);
  // Structured output streams as JSON text: each delta is sent as it is, and the reader parses
  // the growing text when it wants a partial object — never the server once per delta.
  const outlet = new DeltaOutlet(run, nodeId, instance, call.schema ? "json" : "text");
  let iterator: AsyncIterator<ModelChunk> | undefined;
  let text = "";
  let bytes = 0;
  let finish: Extract<ModelChunk, { type: "finish" }> | undefined;
  try {
    const steps: AsyncIterator<ModelChunk> & { [SETTLES_ON_RETURN]?: boolean } = run.models.stream(call, callController.signal, site)[Symbol.asyncIterator]();
    iterator = steps;
    if (steps[SETTLES_ON_RETURN] === true) watchdog.endsBy(() => void steps.return?.().catch(noop));
    for (;;) {
      // The watchdog also ends the step when the call is aborted, so neither a silent provider
      // nor one that ignores its abort signal can hold the node.
      const next = await watchdog.race(iterator.next());
      // A step the watchdog ended by returning the iterator settles as done: the call is over.
      if (watchdog.over) throw watchdog.over;
      if (next.done) break;
      const chunk = next.value;
      if (chunk.type === "queued") {
        watchdog.pause();
        continue;
      }
      if (chunk.type === "started") {
        watchdog.restart();
        continue;
      }
      watchdog.activity();
      if (chunk.type === "text") {
        text += chunk.delta;
        bytes += utf8Length(chunk.delta);
        if (bytes > limits.maxOutputBytes) {
          throw new LimitError("output-size", `the output grew past the ${limits.maxOutputBytes}-byte limit`);
        }
        outlet.push(chunk.delta);
      } else if (chunk.type === "finish") {
        finish = chunk;
      }
    }
  } catch (error) {
    callController.abort(RUN_OVER);
    // Never wait for a provider's cleanup on the failure path: a port that ignores its signal
    // would otherwise hold the node past every timeout.
    try {
      void iterator?.return?.().catch(noop);
    } catch {
      // A port whose return() throws at once has nothing left to clean up.
    }
    // Ended by the watchdog, the step may fail as the stream closes: the timeout is the reason.
    throw watchdog.over ?? error;
  } finally {
    outlet.close();
    watchdog.stop();
    group.close(callController);
  }
  if (group.signal.aborted) throw new CancelledError();
  if (!finish || finish.finishReason === "interrupted" || finish.finishReason === "error") {
    throw new NodeError("stream-incomplete", "the model stream ended without a finish reason", true);
  }
  if (finish.finishReason === "content-filter") {
    throw new NodeError("content-filter", "the provider's content filter stopped the answer", false);
  }
  if (finish.finishReason === "length") {
    run.warn({ code: "output-truncated", message: "the model stopped at its output token limit", nodeId, ...(instance !== undefined ? { instance } : {}) });
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

/**
 * Sends one call's deltas as `node-delta` events, merging those that arrive within the run's
 * coalescing window into one (0 = one event per delta). Flushed when the call ends, so every
 * delta is out before the node's next event.
 */
class DeltaOutlet {
  private pending = "";
  private cancelTimer: (() => void) | null = null;
  private readonly flushNow = () => {
    this.cancelTimer = null;
    this.flush();
  };

  constructor(
    private readonly run: Run,
    private readonly nodeId: string,
    private readonly instance: number | undefined,
    private readonly field: "text" | "json",
  ) {
    run.outlets.add(this);
  }

  /** Sends what is held; the call is over. */
  close(): void {
    this.flush();
    this.run.outlets.delete(this);
  }

  push(delta: string): void {
    if (!delta) return;
    if (this.run.coalesceMs <= 0) return this.send(delta);
    this.pending += delta;
    this.cancelTimer ??= this.run.clock.schedule(this.run.coalesceMs, this.flushNow);
  }

  flush(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (!this.pending) return;
    const delta = this.pending;
    this.pending = "";
    this.send(delta);
  }

  private send(delta: string): void {
    this.run.emit(
      this.instance === undefined
        ? { type: "node-delta", nodeId: this.nodeId, [this.field]: delta }
        : { type: "node-delta", nodeId: this.nodeId, instance: this.instance, [this.field]: delta },
    );
  }
}

/**
 * One timer per model call for both timeouts: the first chunk must come within the first-token
 * timeout, each later one within the idle timeout. On expiry, or when the call is aborted, the
 * step in flight (`race`) and every later one reject (a retryable timeout, or CancelledError); a
 * stream whose iterator settles its steps on return (SETTLES_ON_RETURN) is returned instead, its
 * steps not raced, and `over` says why. A timer per stream step would cost more than the rest of
 * the engine.
 */
class Watchdog {
  /** Why the call is over, once it is. */
  private failure: Error | undefined;
  /** Rejects the stream step in flight. */
  private interrupt: ((error: Error) => void) | undefined;
  private first = true;
  private deadline: number;
  private armedUntil = 0;
  private cancel: () => void = noop;
  private call: AbortController | undefined;
  /** Ends the call's stream when its iterator settles its steps on return (SETTLES_ON_RETURN). */
  private end: (() => void) | undefined;
  private readonly fire = () => this.check();
  /** The call's group aborted it (the run or the map ended): settle as cancelled at once. */
  readonly cancelled = () => this.expire(new CancelledError());

  constructor(
    private readonly clock: Clock,
    private readonly limits: RunLimits,
  ) {
    this.deadline = clock.now() + limits.firstTokenTimeoutMs;
    this.arm(limits.firstTokenTimeoutMs);
  }

  watch(call: AbortController): void {
    this.call = call;
  }

  /** The stream settles its step in flight when `end` is called: steps are not raced, `end` ends them. */
  endsBy(end: () => void): void {
    this.end = end;
  }

  /** Why the call is over, once it is (a timeout, or CancelledError). */
  get over(): Error | undefined {
    return this.failure;
  }

  /**
   * A stream step, or the watchdog's failure if that comes first. One reaction on the step and one
   * promise a step (Promise.race with a standing "expired" promise made three, and left a reaction
   * on it per step): a stream takes a step per token.
   */
  race<T>(step: Promise<T>): Promise<T> {
    if (this.failure) {
      step.catch(noop);
      return Promise.reject(this.failure);
    }
    if (this.end) return step;
    return new Promise<T>((resolve, reject) => {
      this.interrupt = reject;
      step.then(resolve, reject);
    });
  }

  private expire(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.interrupt?.(error);
    this.interrupt = undefined;
    this.end?.();
  }

  private arm(ms: number): void {
    this.armedUntil = this.clock.now() + ms;
    this.cancel = this.clock.schedule(ms, this.fire);
  }

  private check(): void {
    const left = this.deadline - this.clock.now();
    if (left > 0) return this.arm(left);
    const error = this.first
      ? new NodeError("timeout:first-token", `no answer from the model within ${this.limits.firstTokenTimeoutMs} ms`, true)
      : new NodeError("timeout:idle", `the model stream stalled for ${this.limits.idleTimeoutMs} ms`, true);
    this.expire(error);
    this.call?.abort(RUN_OVER);
  }

  /** The call waits for capacity (a `queued` chunk): no timeout runs until it starts. */
  pause(): void {
    this.cancel();
    this.cancel = noop;
    this.deadline = Number.POSITIVE_INFINITY;
    this.armedUntil = Number.POSITIVE_INFINITY;
  }

  /** The call is under way (a `started` chunk): the first token is due within the first-token timeout from now. */
  restart(): void {
    this.cancel();
    this.first = true;
    this.deadline = this.clock.now() + this.limits.firstTokenTimeoutMs;
    this.arm(this.limits.firstTokenTimeoutMs);
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
