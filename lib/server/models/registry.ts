import "server-only";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { EmbeddingModelV4, LanguageModelV4 } from "@ai-sdk/provider";
import type { ModelConfig } from "../config";
import { DEMO_MODELS, DemoLanguageModel } from "./demo";
import { DEMO_EMBEDDING_MODELS, DemoEmbeddingModel } from "./demo-embed";

/** What the UI may show about a model: never a key or a URL. */
export type ModelInfo = { id: string; provider: string; label: string; demo: boolean; /** An embedding model (for similarity), not a language model. */ embedding?: true };

type Refusal = { ok: false; code: "model-not-configured" | "model-not-allowed"; message: string };

/**
 * Embedding models a provider offers without the operator listing them (its *_MODELS list, or
 * TRELLIS_ALLOW_ANY_MODEL, allows more). Anthropic has none.
 */
export const DEFAULT_EMBEDDING_MODELS: Record<string, string[]> = {
  openai: ["text-embedding-3-small", "text-embedding-3-large"],
  google: ["gemini-embedding-001"],
};

export type ModelRegistry = {
  /** Configured models, the demo model first. */
  list(): ModelInfo[];
  /**
   * The language model for an id, or why there is none: `model-not-configured` (no such provider
   * on this server) or `model-not-allowed` (the provider is configured, the model is not on its list).
   */
  resolve(id: string): { ok: true; model: LanguageModelV4 } | Refusal;
  /** The embedding model for an id (`demo:embed`, `openai:text-embedding-3-small`…), or why there is none. */
  resolveEmbedding(id: string): { ok: true; model: EmbeddingModelV4 } | Refusal;
  /** Strings that must never appear in anything leaving the server. */
  secrets(): string[];
};

/**
 * A model name a provider may be asked for when the operator allows any model: letters, digits and
 * `.-_:/@` only, so nothing that could change the request (a query string, a path, spaces) passes.
 */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

type Provider = { make: (model: string) => LanguageModelV4; allowed: (model: string) => boolean };
type EmbeddingProvider = { make: (model: string) => EmbeddingModelV4; allowed: (model: string) => boolean };

export function createModelRegistry(config: ModelConfig, secrets: ReadonlyArray<string> = []): ModelRegistry {
  const providers = new Map<string, Provider>();
  const listed: ModelInfo[] = Object.entries(DEMO_MODELS).map(([name, label]) => ({ id: `demo:${name}`, provider: "demo", label, demo: true }));
  const demoModels = new Map<string, DemoLanguageModel>();
  providers.set("demo", {
    allowed: (name) => Object.hasOwn(DEMO_MODELS, name),
    make: (name) => {
      let model = demoModels.get(name);
      if (!model) {
        model = new DemoLanguageModel(`demo:${name}`, name === "fast" ? { ...config.demo, firstTokenDelayMs: 0, chunkDelayMs: 0 } : config.demo);
        demoModels.set(name, model);
      }
      return model;
    },
  });
  const embedders = new Map<string, EmbeddingProvider>();
  const demoEmbedders = new Map<string, DemoEmbeddingModel>();
  embedders.set("demo", {
    allowed: (name) => Object.hasOwn(DEMO_EMBEDDING_MODELS, name),
    make: (name) => {
      let model = demoEmbedders.get(name);
      if (!model) demoEmbedders.set(name, (model = new DemoEmbeddingModel(`demo:${name}`)));
      return model;
    },
  });
  for (const [name, label] of Object.entries(DEMO_EMBEDDING_MODELS)) listed.push({ id: `demo:${name}`, provider: "demo", label, demo: true, embedding: true });
  // The allowlist is enforced here, on the server, for every call: the picker only shows it.
  const add = (
    provider: string,
    settings: { models: string[]; anyModel?: boolean },
    make: (model: string) => LanguageModelV4,
    embed?: { make: (model: string) => EmbeddingModelV4; defaults: string[] },
  ) => {
    const models = new Set(settings.models);
    const allowed = (name: string) => models.has(name) || (settings.anyModel === true && MODEL_NAME.test(name));
    providers.set(provider, { make, allowed });
    for (const model of settings.models) listed.push({ id: `${provider}:${model}`, provider, label: model, demo: false });
    if (!embed) return;
    // Embedding ids: the provider's default embedding models, plus whatever its list (or the opt-in) allows.
    embedders.set(provider, { make: embed.make, allowed: (name) => embed.defaults.includes(name) || allowed(name) });
    for (const model of embed.defaults) listed.push({ id: `${provider}:${model}`, provider, label: model, demo: false, embedding: true });
  };
  // Base URLs are passed explicitly, so an SDK never picks one up from the environment unseen.
  if (config.openai) {
    const openai = createOpenAI({ apiKey: config.openai.apiKey, baseURL: config.openai.baseURL });
    add("openai", config.openai, (model) => openai(model), { make: (model) => openai.embedding(model), defaults: DEFAULT_EMBEDDING_MODELS.openai });
  }
  if (config.anthropic) {
    const anthropic = createAnthropic({ apiKey: config.anthropic.apiKey, baseURL: config.anthropic.baseURL });
    add("anthropic", config.anthropic, (model) => anthropic(model));
  }
  if (config.google) {
    const google = createGoogleGenerativeAI({ apiKey: config.google.apiKey, baseURL: config.google.baseURL });
    add("google", config.google, (model) => google(model), { make: (model) => google.embedding(model), defaults: DEFAULT_EMBEDDING_MODELS.google });
  }
  if (config.compatible) {
    const compatible = createOpenAICompatible({
      name: config.compatible.name,
      baseURL: config.compatible.baseURL,
      apiKey: config.compatible.apiKey,
      supportsStructuredOutputs: true,
    });
    add(config.compatible.name, config.compatible, (model) => compatible.chatModel(model), { make: (model) => compatible.embeddingModel(model), defaults: [] });
  }
  const own = [
    config.openai?.apiKey,
    config.openai?.baseURL,
    config.anthropic?.apiKey,
    config.anthropic?.baseURL,
    config.google?.apiKey,
    config.google?.baseURL,
    config.compatible?.apiKey,
    config.compatible?.baseURL,
  ];
  const allSecrets = [...new Set([...secrets, ...own].filter((s): s is string => Boolean(s)))].sort((a, b) => b.length - a.length);

  /** A model by id among one kind of providers, or why it cannot be called (no such provider, or not allowed). */
  function lookup<M>(among: Map<string, { make: (model: string) => M; allowed: (model: string) => boolean }>, id: string, what: "language" | "embedding"): { ok: true; make: () => M } | Refusal {
    const at = id.indexOf(":");
    const provider = at > 0 ? id.slice(0, at) : "";
    const name = id.slice(at + 1);
    const found = among.get(provider);
    if (!found || !name) {
      const configured = providers.has(provider);
      return {
        ok: false,
        code: "model-not-configured",
        message:
          configured && what === "embedding"
            ? `model "${id}" is not configured on this server (provider "${provider}" offers no embedding models here)`
            : `model "${id}" is not configured on this server (provider "${provider || id}" has no credentials set)`,
      };
    }
    if (!found.allowed(name)) {
      const list = listed.filter((model) => model.provider === provider && Boolean(model.embedding) === (what === "embedding")).map((model) => model.label);
      const demoNames = Object.keys(what === "embedding" ? DEMO_EMBEDDING_MODELS : DEMO_MODELS).join(", ");
      return {
        ok: false,
        code: provider === "demo" ? "model-not-configured" : "model-not-allowed",
        message:
          provider === "demo"
            ? `the demo provider has no ${what === "embedding" ? "embedding model" : "model"} "${name}" (it has ${demoNames})`
            : `${what === "embedding" ? "embedding model" : "model"} "${id}" is not allowed on this server (${provider} allows ${list.length ? list.join(", ") : "no models"})`,
      };
    }
    return { ok: true, make: () => found.make(name) };
  }

  return {
    list: () => [...listed],
    resolve(id) {
      const found = lookup(providers, id, "language");
      return found.ok ? { ok: true, model: found.make() } : found;
    },
    resolveEmbedding(id) {
      const found = lookup(embedders, id, "embedding");
      return found.ok ? { ok: true, model: found.make() } : found;
    },
    secrets: () => allSecrets,
  };
}
