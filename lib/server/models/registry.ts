import "server-only";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import type { ModelConfig } from "../config";
import { DEMO_MODELS, DemoLanguageModel } from "./demo";

/** What the UI may show about a model: never a key or a URL. */
export type ModelInfo = { id: string; provider: string; label: string; demo: boolean };

export type ModelRegistry = {
  /** Configured models, the demo model first. */
  list(): ModelInfo[];
  /**
   * The language model for an id, or why there is none: `model-not-configured` (no such provider
   * on this server) or `model-not-allowed` (the provider is configured, the model is not on its list).
   */
  resolve(id: string): { ok: true; model: LanguageModelV4 } | { ok: false; code: "model-not-configured" | "model-not-allowed"; message: string };
  /** Strings that must never appear in anything leaving the server. */
  secrets(): string[];
};

/**
 * A model name a provider may be asked for when the operator allows any model: letters, digits and
 * `.-_:/@` only, so nothing that could change the request (a query string, a path, spaces) passes.
 */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$/;

type Provider = { make: (model: string) => LanguageModelV4; allowed: (model: string) => boolean };

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
  // The allowlist is enforced here, on the server, for every call: the picker only shows it.
  const add = (provider: string, settings: { models: string[]; anyModel?: boolean }, make: (model: string) => LanguageModelV4) => {
    const models = new Set(settings.models);
    providers.set(provider, { make, allowed: (name) => models.has(name) || (settings.anyModel === true && MODEL_NAME.test(name)) });
    for (const model of settings.models) listed.push({ id: `${provider}:${model}`, provider, label: model, demo: false });
  };
  // Base URLs are passed explicitly, so an SDK never picks one up from the environment unseen.
  if (config.openai) {
    const openai = createOpenAI({ apiKey: config.openai.apiKey, baseURL: config.openai.baseURL });
    add("openai", config.openai, (model) => openai(model));
  }
  if (config.anthropic) {
    const anthropic = createAnthropic({ apiKey: config.anthropic.apiKey, baseURL: config.anthropic.baseURL });
    add("anthropic", config.anthropic, (model) => anthropic(model));
  }
  if (config.google) {
    const google = createGoogleGenerativeAI({ apiKey: config.google.apiKey, baseURL: config.google.baseURL });
    add("google", config.google, (model) => google(model));
  }
  if (config.compatible) {
    const compatible = createOpenAICompatible({
      name: config.compatible.name,
      baseURL: config.compatible.baseURL,
      apiKey: config.compatible.apiKey,
      supportsStructuredOutputs: true,
    });
    add(config.compatible.name, config.compatible, (model) => compatible.chatModel(model));
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

  return {
    list: () => [...listed],
    resolve(id) {
      const at = id.indexOf(":");
      const provider = at > 0 ? id.slice(0, at) : "";
      const name = id.slice(at + 1);
      const found = providers.get(provider);
      if (!found || !name) {
        return { ok: false, code: "model-not-configured", message: `model "${id}" is not configured on this server (provider "${provider || id}" has no credentials set)` };
      }
      if (!found.allowed(name)) {
        const list = listed.filter((model) => model.provider === provider).map((model) => model.label);
        return {
          ok: false,
          code: provider === "demo" ? "model-not-configured" : "model-not-allowed",
          message:
            provider === "demo"
              ? `the demo provider has no model "${name}" (it has ${Object.keys(DEMO_MODELS).join(", ")})`
              : `model "${id}" is not allowed on this server (${provider} allows ${list.length ? list.join(", ") : "no models"})`,
        };
      }
      return { ok: true, model: found.make(name) };
    },
    secrets: () => allSecrets,
  };
}
