import type { ModelPort } from "../engine/model-port";
import type { EvalServices } from "./assertions";

/** The embedding model `similar` assertions use when they name none (the offline demo embeddings). */
export const DEFAULT_EMBEDDING_MODEL = "demo:embed";

/**
 * Embeddings for `similar` assertions through the model port, on the assertion's model or
 * `defaultModel`; undefined when the port cannot embed (those assertions are then refused).
 */
export function createPortEmbedder(port: ModelPort, defaultModel: string = DEFAULT_EMBEDDING_MODEL): EvalServices["embed"] {
  if (!port.embed) return undefined;
  const embed = port.embed.bind(port);
  return (texts, { model, signal }) => embed(model ?? defaultModel, texts, signal ?? new AbortController().signal);
}
