import type { RunLimits } from "../limits";
import { sleep, type Clock } from "./clock";
import { ModelError, type ModelErrorCode } from "./model-port";

export type Classified = { code: string; message: string; retryable: boolean; retryAfterMs?: number };

const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "UND_ERR_SOCKET", "ENETUNREACH"]);

/** Turns whatever a model port threw into a code, a safe message and whether to retry. */
export function classifyModelError(error: unknown): Classified {
  if (error instanceof ModelError) {
    return { code: error.code, message: error.message, retryable: error.retryable, retryAfterMs: error.retryAfterMs };
  }
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code ?? (error as { cause?: { code?: unknown } })?.cause?.code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) {
    return { code: "network", message: `network error (${code})`, retryable: true };
  }
  return { code: "unknown", message: error instanceof Error ? error.message : String(error), retryable: false };
}

/**
 * Exponential backoff with "equal jitter": half fixed, half random, capped. A `Retry-After`
 * from the provider wins, up to its own cap.
 */
export function retryDelay(attempt: number, limits: RunLimits, random: () => number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, limits.retryAfterCapMs);
  const exponential = Math.min(limits.backoffMaxMs, limits.backoffBaseMs * 2 ** (attempt - 1));
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/**
 * Calls `once` until it succeeds, retrying what `classifyModelError` says is retryable with the
 * run's backoff, at most `limits.maxAttempts` times; an abort ends it at once. For calls made
 * outside a run's scheduler (an evaluation's judge and embeddings).
 */
export async function withRetries<T>(
  once: () => Promise<T>,
  { limits, clock, random, signal }: { limits: RunLimits; clock: Clock; random: () => number; signal: AbortSignal },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once();
    } catch (error) {
      if (signal.aborted) throw error;
      const failure = classifyModelError(error);
      if (!failure.retryable) throw error;
      if (attempt >= limits.maxAttempts) throw new ModelError(failure.code as ModelErrorCode, `${failure.message}; gave up after ${attempt} attempts`);
      await sleep(clock, retryDelay(attempt, limits, random, failure.retryAfterMs), signal);
    }
  }
}
