import { sleep } from "./clock";
import { CancelledError, NodeError } from "./errors";
import { RUN_OVER } from "./model-call";
import { readEmbeddings, type Embeddings } from "./model-port";
import { classifyModelError, retryDelay } from "./retry";
import type { Run } from "./scheduler";
import type { CallGroup } from "./semaphore";

/**
 * One embedding call of a node (`context.embed`), under the same bounds as a language-model call
 * (docs/architecture.md §4.9–§4.11): each attempt counts against `maxModelCalls` and takes a slot
 * of the run's semaphore; the answer must come within `firstTokenTimeoutMs` (an embedding does not
 * stream, so its first token is its answer); retryable failures back off like any call; a cancel
 * wins at once, whatever the provider does. The tokens the provider reports count in the node's
 * usage and against the run's token budget, like a language-model call's.
 */
export async function embedTexts(run: Run, n: number, model: string, texts: string[], group: CallGroup): Promise<number[][]> {
  const port = run.models;
  if (!port.embed) throw new NodeError("not-supported", `the models of this run cannot embed text (model ${model})`, false);
  const nodeId = run.workflow.nodes[n].id;
  const signal = group.signal;
  for (let attempt = 1; ; attempt++) {
    run.countModelCall(n);
    await run.semaphore.acquire(signal);
    let answer: Embeddings;
    try {
      answer = readEmbeddings(await embedOnce(run, model, texts, group));
    } catch (error) {
      run.semaphore.release();
      if (error instanceof CancelledError || signal.aborted) throw new CancelledError();
      const classified = error instanceof NodeError ? { code: error.code, message: error.message, retryable: error.retryable, retryAfterMs: undefined } : classifyModelError(error);
      const [provider] = model.split(":");
      const message = `${classified.message} (model ${model}, provider ${provider})`;
      if (!classified.retryable || attempt >= run.limits.maxAttempts) {
        throw new NodeError(classified.code, attempt > 1 ? `${message}; gave up after ${attempt} attempts` : message, classified.retryable);
      }
      const delayMs = retryDelay(attempt, run.limits, run.random, classified.retryAfterMs);
      run.emit({ type: "node-retry", nodeId, attempt: attempt + 1, delayMs, code: classified.code, message });
      await sleep(run.clock, delayMs, signal);
      continue;
    }
    run.semaphore.release();
    const vectors = checkVectors(answer.embeddings, texts.length);
    if (answer.usage) run.addNodeUsage(n, { inputTokens: answer.usage.inputTokens || 0, outputTokens: answer.usage.outputTokens || 0 });
    return vectors;
  }
}

function embedOnce(run: Run, model: string, texts: string[], group: CallGroup): Promise<number[][] | Embeddings> {
  return new Promise<number[][] | Embeddings>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      cancelTimer();
      group.close(call);
      fn();
    };
    // The group aborts the call when the run ends: settle at once, even if the port ignores its signal.
    const call = group.open(() => settle(() => reject(new CancelledError())));
    const timeoutMs = run.limits.firstTokenTimeoutMs;
    const cancelTimer = run.clock.schedule(timeoutMs, () => {
      call.abort(RUN_OVER);
      settle(() => reject(new NodeError("timeout:first-token", `no embeddings from the model within ${timeoutMs} ms`, true)));
    });
    if (call.signal.aborted) return settle(() => reject(new CancelledError()));
    let pending: Promise<number[][] | Embeddings>;
    try {
      pending = run.models.embed!(model, texts, call.signal);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (vectors) => settle(() => resolve(vectors)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}

/** One finite vector per text, all of one length: anything else is the provider's fault, not a similarity of 0. */
function checkVectors(vectors: unknown, count: number): number[][] {
  const bad = (why: string) => new NodeError("invalid-output", `the embedding model returned ${why}`, false);
  if (!Array.isArray(vectors) || vectors.length !== count) throw bad(`${Array.isArray(vectors) ? vectors.length : "no"} vectors for ${count} texts`);
  const length = (vectors[0] as unknown[] | undefined)?.length ?? 0;
  for (const vector of vectors) {
    if (!Array.isArray(vector) || vector.length !== length || !vector.every((x) => typeof x === "number" && Number.isFinite(x))) throw bad("vectors of different lengths or non-numbers");
  }
  return vectors as number[][];
}
