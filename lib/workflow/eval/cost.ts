import { z } from "zod";
import type { RunEvent } from "../engine/events";
import type { TokenUsage } from "../engine/model-port";
import type { WorkflowDocument } from "../schema";
import { embeddingModelsUsed } from "../topology/agreement";
import type { PriceTable } from "./types";

/**
 * Cost estimates: tokens per model id times a price per million tokens. Demo models cost
 * nothing; a model missing from the table makes the estimate unknown (null), never zero.
 */

/**
 * List prices in US dollars per million tokens (standard tier, text, no caching), as published by
 * the providers in 2025. They change: override them with TRELLIS_PRICES (server) or --prices (CLI).
 * `provider:*` applies to every model of a provider without its own entry.
 */
export const DEFAULT_PRICES: PriceTable = {
  "demo:*": { inputPerMTok: 0, outputPerMTok: 0 },
  "openai:gpt-4o-mini": { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  "openai:gpt-4o": { inputPerMTok: 2.5, outputPerMTok: 10 },
  "openai:gpt-4.1": { inputPerMTok: 2, outputPerMTok: 8 },
  "openai:gpt-4.1-mini": { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  "openai:gpt-4.1-nano": { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  "anthropic:claude-3-5-haiku-latest": { inputPerMTok: 0.8, outputPerMTok: 4 },
  "anthropic:claude-sonnet-4-5": { inputPerMTok: 3, outputPerMTok: 15 },
  "google:gemini-2.5-flash": { inputPerMTok: 0.3, outputPerMTok: 2.5 },
  "google:gemini-2.5-pro": { inputPerMTok: 1.25, outputPerMTok: 10 },
};

const price = z.number().finite().min(0).max(10_000);
export const PriceTableSchema = z.record(
  z
    .string()
    .max(200)
    .regex(/^[a-z][a-z0-9-]*:[^\s]+$/, 'must be a model id like "openai:gpt-4o-mini", or "provider:*"'),
  z.strictObject({ inputPerMTok: price, outputPerMTok: price }),
);

export type PriceTableResult = { ok: true; prices: PriceTable } | { ok: false; message: string };

/** Validates a price table (parsed JSON); its entries override the defaults. */
export function parsePriceTable(value: unknown): PriceTableResult {
  const parsed = PriceTableSchema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first.path.length ? `"${first.path.map(String).join(".")}"` : "the price table";
    // A bad record key carries its own issue (the model id pattern) inside.
    const message = first.code === "invalid_key" ? (first.issues[0]?.message ?? first.message) : first.message;
    return { ok: false, message: `${where}: ${message} (expected { "provider:model": { "inputPerMTok": n, "outputPerMTok": n } })` };
  }
  return { ok: true, prices: { ...DEFAULT_PRICES, ...parsed.data } };
}

/**
 * Reads a price table setting: inline JSON (starting with `{`) or a path to a JSON file, read by
 * `readFile` (the caller's I/O). Empty means the defaults.
 */
export function loadPriceTable(setting: string | undefined, readFile: (path: string) => string): PriceTableResult {
  const value = setting?.trim();
  if (!value) return { ok: true, prices: { ...DEFAULT_PRICES } };
  let text = value;
  if (!value.startsWith("{")) {
    try {
      text = readFile(value);
    } catch (error) {
      return { ok: false, message: `cannot read the price table ${value}: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `the price table is not valid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  return parsePriceTable(json);
}

/** The price of a model: its own entry, else its provider's `provider:*`. */
export function priceOf(model: string, prices: PriceTable): PriceTable[string] | undefined {
  return prices[model] ?? prices[`${model.split(":")[0]}:*`];
}

/** Estimated cost in US dollars, or null when any model with tokens has no price. */
export function estimateCost(usage: Record<string, TokenUsage>, prices: PriceTable = DEFAULT_PRICES): number | null {
  let total = 0;
  for (const [model, used] of Object.entries(usage)) {
    if (!used.inputTokens && !used.outputTokens) continue;
    const entry = priceOf(model, prices);
    if (!entry) return null;
    total += (used.inputTokens * entry.inputPerMTok + used.outputTokens * entry.outputPerMTok) / 1_000_000;
  }
  return total;
}

/**
 * Tokens per model id from a run's events: each node's own `node-finished` (which already
 * includes its worker instances) under the model its `node-started` named. An aggregate names no
 * language model; with the run's `document`, its tokens (agreement by embeddings) go under its
 * embedding model. Tokens of a node whose model is unknown go under `unknown:<node>`, which has no
 * price: the estimate is then unknown rather than too low.
 */
export function usageByModel(events: Iterable<RunEvent>, document?: WorkflowDocument): Record<string, TokenUsage> {
  const embeddingModelOf = new Map(document ? embeddingModelsUsed(document).map(({ nodeId, model }) => [nodeId, model]) : []);
  const modelOf = new Map<string, string>();
  const out: Record<string, TokenUsage> = {};
  for (const event of events) {
    if (event.type === "node-started" && event.instance === undefined && event.model) modelOf.set(event.nodeId, event.model);
    else if (event.type === "node-finished" && event.instance === undefined) {
      const model = modelOf.get(event.nodeId) ?? embeddingModelOf.get(event.nodeId) ?? `unknown:${event.nodeId}`;
      if (event.usage.inputTokens || event.usage.outputTokens) addModelUsage(out, model, event.usage);
    }
  }
  return out;
}

/** Adds one model's usage into a per-model tally. */
export function addModelUsage(into: Record<string, TokenUsage>, model: string, usage: TokenUsage | undefined): void {
  if (!usage) return;
  const entry = (into[model] ??= { inputTokens: 0, outputTokens: 0 });
  entry.inputTokens += usage.inputTokens;
  entry.outputTokens += usage.outputTokens;
}
