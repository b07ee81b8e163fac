import { sleep, type Clock } from "../engine/clock";
import { ModelError, type CallSite, type ModelCall, type ModelChunk, type ModelPort } from "../engine/model-port";

/** What one scripted model call does. */
export type Script = {
  /** Virtual milliseconds before the answer completes (split evenly across chunks). */
  latency?: number;
  text?: string;
  /** Streamed as separate deltas. */
  chunks?: string[];
  object?: unknown;
  /** Thrown after the latency. */
  error?: ModelError;
  /** Ends the stream without a finish part. */
  noFinish?: boolean;
  /** Never answers (until aborted). */
  hang?: boolean;
  /** Answers the first chunk, then stalls. */
  stallAfterFirst?: boolean;
  finishReason?: string;
  /** Virtual milliseconds the call waits for capacity first (a `queued` chunk, then `started`), as a port with a call queue does. */
  queuedFor?: number;
};

export type RecordedCall = ModelCall & { startedAt: number; endedAt?: number; aborted?: boolean; site?: CallSite };

/**
 * A fake model port for engine tests: each call is answered by a script chosen from the call
 * (usually by its prompt), on the test's virtual clock. It records every call and the peak
 * number in flight.
 */
export function scriptedModel(clock: Clock, script: (call: ModelCall, callIndex: number) => Script) {
  const calls: RecordedCall[] = [];
  let inFlight = 0;
  let peak = 0;
  const port: ModelPort = {
    async *stream(call, signal, site): AsyncIterable<ModelChunk> {
      const record: RecordedCall = { ...call, startedAt: clock.now(), ...(site ? { site } : {}) };
      calls.push(record);
      const plan = script(call, calls.length - 1);
      inFlight++;
      peak = Math.max(peak, inFlight);
      const onAbort = () => (record.aborted = true);
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        if (plan.queuedFor !== undefined) {
          yield { type: "queued" };
          await sleep(clock, plan.queuedFor, signal);
          yield { type: "started" };
        }
        if (plan.hang) await sleep(clock, Number.MAX_SAFE_INTEGER, signal);
        const chunks = plan.chunks ?? (plan.text !== undefined ? [plan.text] : []);
        const step = (plan.latency ?? 0) / Math.max(1, chunks.length);
        if (!chunks.length) await sleep(clock, plan.latency ?? 0, signal);
        for (const [i, chunk] of chunks.entries()) {
          await sleep(clock, step, signal);
          yield { type: "text", delta: chunk };
          if (i === 0 && plan.stallAfterFirst) await sleep(clock, Number.MAX_SAFE_INTEGER, signal);
        }
        if (plan.error) throw plan.error;
        if (plan.noFinish) return;
        yield { type: "finish", finishReason: plan.finishReason ?? "stop", usage: { inputTokens: 10, outputTokens: 5 }, object: plan.object };
      } finally {
        inFlight--;
        record.endedAt = clock.now();
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
  return { port, calls, peak: () => peak };
}
