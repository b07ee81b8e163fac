/**
 * The engine reaches models only through this port (docs/architecture.md §4.14). The server adapts AI SDK
 * providers to it; tests and benchmarks pass fakes. Nothing here knows about keys or URLs.
 */

export type JsonSchema = { [key: string]: unknown };

export type ModelCall = {
  /** `provider:model`, e.g. `openai:gpt-4o-mini` or `demo:default`. */
  model: string;
  system?: string;
  prompt: string;
  /** When set, the model must answer with a JSON object matching this schema. */
  schema?: JsonSchema;
  /** Names the structured output for providers that want one (e.g. `route_decision`). */
  schemaName?: string;
  temperature?: number;
  maxOutputTokens?: number;
};

export type TokenUsage = { inputTokens: number; outputTokens: number };

export type ModelChunk =
  /** Answer text; with a `schema`, the JSON text of the object as it streams. */
  | { type: "text"; delta: string }
  | {
      type: "finish";
      /** `stop`, `length`, `content-filter`, … — a missing finish is a failure, not a short success. */
      finishReason: string;
      usage?: Partial<TokenUsage>;
      /** The complete structured output when `schema` was set. */
      object?: unknown;
    }
  /**
   * The call waits for capacity before it reaches the model (a port that queues calls, e.g. cluster
   * mode's call queue): the first-token timeout does not run while it waits…
   */
  | { type: "queued" }
  /** …and starts again from here, when the call is under way. */
  | { type: "started" };

/**
 * Which call of a run this is, for ports that place calls elsewhere (cluster mode runs a map's
 * instances as workflows of their own): the node, its iteration in the run, the map item's index
 * and the call's number in that execution (1 for its first attempt; retries and later calls count
 * on). Together with the run, it names the call the same way in every attempt of the run.
 */
export type CallSite = { nodeId: string; iteration: number; instance?: number; call: number };

/**
 * What `embed` answers: the vectors, and the tokens the provider counted when it reports them
 * (embeddings have input tokens only). A port may also answer the bare vectors.
 */
export type Embeddings = { embeddings: number[][]; usage?: TokenUsage };

/** The vectors and usage of an `embed` answer, whichever form the port used. */
export function readEmbeddings(answer: number[][] | Embeddings): Embeddings {
  if (Array.isArray(answer)) return { embeddings: answer };
  // Anything else without vectors is refused by the caller's check, not by a TypeError here.
  return answer && typeof answer === "object" ? answer : { embeddings: answer as never };
}

/**
 * Set to `true` on a stream's iterator whose `return()` settles a `next()` in flight at once, even
 * when the provider behind it ignores its abort signal. The engine then ends a stalled or
 * cancelled call by returning the iterator, instead of racing every stream step against the call's
 * timers: that race cost two promises a chunk (issue 12). An iterator without it is raced.
 */
export const SETTLES_ON_RETURN: unique symbol = Symbol.for("trellis.settles-on-return");

export interface ModelPort {
  /** `site` says which call of the run this is (engine calls only); most ports ignore it. */
  stream(call: ModelCall, signal: AbortSignal, site?: CallSite): AsyncIterable<ModelChunk>;
  /**
   * Optional embedding capability: one vector per text, in the order given, from an embedding model
   * (`provider:model`, e.g. `demo:embed` or `openai:text-embedding-3-small`). Every vector of one call
   * has the same length; compare them with `cosineSimilarity`. Fails like `stream` (a ModelError the
   * engine classifies) and stops when `signal` aborts. A port without it cannot embed: callers fall
   * back (the aggregate's agreement check to lexical similarity) or fail with a clear message.
   * Through a node, call it as `context.embed(model, texts)`: the run's call cap, concurrency,
   * timeout, retries and cancellation then apply, and the tokens it reports count in the node's
   * usage and against the run's token budget.
   */
  embed?(model: string, texts: string[], signal: AbortSignal): Promise<number[][] | Embeddings>;
}

/** Cosine similarity of two vectors, clamped to 0–1 (0 when either is zero or their lengths differ). */
export function cosineSimilarity(a: ReadonlyArray<number>, b: ReadonlyArray<number>): number {
  if (a.length !== b.length || !a.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (!na || !nb) return 0;
  return Math.max(0, Math.min(1, dot / Math.sqrt(na * nb)));
}

/** Error codes a port may raise; the engine decides what is retried. */
export type ModelErrorCode =
  | "rate-limited"
  | "overloaded"
  | "server-error"
  | "network"
  | "bad-request"
  | "auth"
  | "not-found"
  | "content-filter"
  | "invalid-output"
  /** The process running the call stopped before it finished (cluster mode): it is made again. */
  | "worker-lost"
  | "unknown";

/** A failure of one model call, described without keys, base URLs or request bodies. */
export class ModelError extends Error {
  readonly code: ModelErrorCode;
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(
    code: ModelErrorCode,
    message: string,
    options: { retryable?: boolean; status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = "ModelError";
    this.code = code;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.retryable = options.retryable ?? ["rate-limited", "overloaded", "server-error", "network", "worker-lost"].includes(code);
  }
}

/** Maps an HTTP status to the engine's error code. */
export function codeForStatus(status: number): ModelErrorCode {
  if (status === 429) return "rate-limited";
  if (status === 529 || status === 503) return "overloaded";
  if (status >= 500) return "server-error";
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not-found";
  return "bad-request";
}

/** Parses a `Retry-After` header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  return undefined;
}
