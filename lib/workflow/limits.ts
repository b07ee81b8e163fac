/** Per-run limits (docs/architecture.md §9). The operator sets the ceiling; a document may only lower them. */
export type RunLimits = {
  maxNodes: number;
  maxMapItems: number;
  maxConcurrency: number;
  maxLoopIterations: number;
  /** Loop-backs in one run, all loops together: nested loops multiply, this bounds the product. */
  maxTotalLoopIterations: number;
  maxModelCalls: number;
  /** Tokens (input + output) the whole run may use; past it the run fails with `budget-exceeded`. */
  maxTokens: number;
  maxWallTimeMs: number;
  maxOutputBytes: number;
  /** Attempts per model call, including the first (engine-level retries; SDK retries are off). */
  maxAttempts: number;
  firstTokenTimeoutMs: number;
  idleTimeoutMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  retryAfterCapMs: number;
};

export const DEFAULT_LIMITS: RunLimits = Object.freeze({
  maxNodes: 200,
  maxMapItems: 50,
  maxConcurrency: 8,
  maxLoopIterations: 10,
  maxTotalLoopIterations: 100,
  maxModelCalls: 300,
  maxTokens: 500_000,
  maxWallTimeMs: 10 * 60_000,
  maxOutputBytes: 1_000_000,
  maxAttempts: 3,
  firstTokenTimeoutMs: 60_000,
  idleTimeoutMs: 30_000,
  backoffBaseMs: 500,
  backoffMaxMs: 8_000,
  retryAfterCapMs: 30_000,
});

/** The keys a document's `settings.limits` may lower. */
export const DOCUMENT_LIMIT_KEYS = ["maxConcurrency", "maxMapItems", "maxLoopIterations", "maxModelCalls", "maxTokens", "maxWallTimeMs"] as const;
export type DocumentLimits = Partial<Pick<RunLimits, (typeof DOCUMENT_LIMIT_KEYS)[number]>>;

/** Operator limits lowered by the document's own settings (a document can never raise them). */
export function effectiveLimits(operator: Partial<RunLimits> | undefined, fromDocument: DocumentLimits | undefined): RunLimits {
  const limits: RunLimits = { ...DEFAULT_LIMITS, ...operator };
  for (const key of DOCUMENT_LIMIT_KEYS) {
    const wanted = fromDocument?.[key];
    if (wanted !== undefined) limits[key] = Math.min(limits[key], wanted);
  }
  return limits;
}
