import type { RunLimits } from "../limits";
import { ModelError } from "./model-port";

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
