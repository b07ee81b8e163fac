import type { EmbeddingModelV4, EmbeddingModelV4CallOptions, EmbeddingModelV4Result } from "@ai-sdk/provider";
import { contentWords } from "@/lib/workflow/topology/text";
import { hashText } from "./demo-content";

/**
 * The offline demo embedding model (`demo:embed`): a real AI SDK embedding model (specification v4)
 * that needs no key and no network. A text becomes a hashed bag of its content words and of their
 * character trigrams in 256 dimensions, L2-normalised: texts that share words (or word stems) have a
 * high cosine similarity, unrelated ones a low one. Deterministic, so tests and the demo agree.
 * It is a demo, not a semantic model: synonyms with no letters in common look unrelated.
 */

export const DEMO_EMBEDDING_MODELS = {
  embed: "Offline demo embeddings: hashed words and trigrams",
} as const;

export const DEMO_EMBEDDING_DIMENSIONS = 256;
/** A trigram counts for less than a whole word: shared stems bring texts closer, shared words more. */
const TRIGRAM_WEIGHT = 0.3;

function add(vector: Float64Array, feature: string, weight: number): void {
  const hash = hashText(feature);
  // One hash bit picks the sign, so colliding features cancel out on average instead of piling up.
  vector[hash % DEMO_EMBEDDING_DIMENSIONS] += hash & 0x80000000 ? -weight : weight;
}

export function demoEmbedding(text: string): number[] {
  const vector = new Float64Array(DEMO_EMBEDDING_DIMENSIONS);
  for (const word of contentWords(text)) {
    add(vector, `w:${word}`, 1);
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) add(vector, `t:${padded.slice(i, i + 3)}`, TRIGRAM_WEIGHT);
  }
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  return Array.from(vector, (x) => (norm ? Math.round((x / norm) * 1e6) / 1e6 : 0));
}

function abortError(): Error {
  const error = new Error("The operation was aborted.");
  error.name = "AbortError";
  return error;
}

export class DemoEmbeddingModel implements EmbeddingModelV4 {
  readonly specificationVersion = "v4" as const;
  readonly provider = "demo";
  readonly maxEmbeddingsPerCall = 2048;
  readonly supportsParallelCalls = true;

  constructor(readonly modelId: string) {}

  async doEmbed(options: EmbeddingModelV4CallOptions): Promise<EmbeddingModelV4Result> {
    if (options.abortSignal?.aborted) throw abortError();
    const embeddings = options.values.map(demoEmbedding);
    const tokens = options.values.reduce((sum, value) => sum + Math.max(1, Math.ceil(value.length / 4)), 0);
    return { embeddings, usage: { tokens }, warnings: [] };
  }
}
