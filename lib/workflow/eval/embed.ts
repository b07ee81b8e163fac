import { systemClock } from "../engine/clock";
import { ModelError, readEmbeddings, type Embeddings, type ModelPort } from "../engine/model-port";
import { withRetries } from "../engine/retry";
import { DEFAULT_LIMITS, type RunLimits } from "../limits";
import type { EvalServices } from "./assertions";
import type { JudgeOptions } from "./judge";

/** The embedding model `similar` assertions use when they name none (the offline demo embeddings). */
export const DEFAULT_EMBEDDING_MODEL = "demo:embed";

/**
 * Embeddings for `similar` assertions through the model port, on the assertion's model or
 * `defaultModel`; undefined when the port cannot embed (those assertions are then refused). Like
 * the judge, it applies the engine's rules itself: retryable failures are tried again with backoff,
 * and a call that takes longer than `firstTokenTimeoutMs` is abandoned (and retried). It answers the
 * model it used and the tokens the port reported, so they count in the row's usage and cost.
 */
export function createPortEmbedder(port: ModelPort, defaultModel: string = DEFAULT_EMBEDDING_MODEL, options: JudgeOptions = {}): EvalServices["embed"] {
  if (!port.embed) return undefined;
  const embed = port.embed.bind(port);
  const limits: RunLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;

  async function embedOnce(model: string, texts: string[], signal: AbortSignal): Promise<Embeddings> {
    const attempt = new AbortController();
    const cancel = () => attempt.abort();
    signal.addEventListener("abort", cancel, { once: true });
    let timedOut: ModelError | undefined;
    const disarm = clock.schedule(limits.firstTokenTimeoutMs, () => {
      timedOut = new ModelError("network", `the embedding model (${model}) did not answer in ${Math.round(limits.firstTokenTimeoutMs / 1000)} s`, { retryable: true });
      attempt.abort();
    });
    // The race makes the timeout hold even against a port that ignores its signal.
    const abandoned = new Promise<never>((_, reject) => attempt.signal.addEventListener("abort", () => reject(timedOut ?? new ModelError("unknown", "cancelled")), { once: true }));
    try {
      return readEmbeddings(await Promise.race([embed(model, texts, attempt.signal), abandoned]));
    } catch (error) {
      throw timedOut ?? error;
    } finally {
      disarm();
      signal.removeEventListener("abort", cancel);
    }
  }

  return async (texts, { model, signal = new AbortController().signal }) => {
    const chosen = model ?? defaultModel;
    return { ...(await withRetries(() => embedOnce(chosen, texts, signal), { limits, clock, random, signal })), model: chosen };
  };
}
