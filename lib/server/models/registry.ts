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
  /** The language model for an id, or a sentence saying why there is none. */
  resolve(id: string): { ok: true; model: LanguageModelV4 } | { ok: false; message: string };
  /** Strings that must never appear in anything leaving the server. */
  secrets(): string[];
};

export function createModelRegistry(config: ModelConfig): ModelRegistry {
  const factories = new Map<string, (model: string) => LanguageModelV4>();
  const listed: ModelInfo[] = Object.entries(DEMO_MODELS).map(([name, label]) => ({ id: `demo:${name}`, provider: "demo", label, demo: true }));
  const demoModels = new Map<string, DemoLanguageModel>();
  factories.set("demo", (name) => {
    if (!(name in DEMO_MODELS)) throw new Error(`the demo provider has no model "${name}" (it has ${Object.keys(DEMO_MODELS).join(", ")})`);
    let model = demoModels.get(name);
    if (!model) {
      model = new DemoLanguageModel(`demo:${name}`, name === "fast" ? { ...config.demo, firstTokenDelayMs: 0, chunkDelayMs: 0 } : config.demo);
      demoModels.set(name, model);
    }
    return model;
  });
  const add = (provider: string, models: string[], make: (model: string) => LanguageModelV4) => {
    factories.set(provider, make);
    for (const model of models) listed.push({ id: `${provider}:${model}`, provider, label: model, demo: false });
  };
  if (config.openai) {
    const openai = createOpenAI({ apiKey: config.openai.apiKey });
    add("openai", config.openai.models, (model) => openai(model));
  }
  if (config.anthropic) {
    const anthropic = createAnthropic({ apiKey: config.anthropic.apiKey });
    add("anthropic", config.anthropic.models, (model) => anthropic(model));
  }
  if (config.google) {
    const google = createGoogleGenerativeAI({ apiKey: config.google.apiKey });
    add("google", config.google.models, (model) => google(model));
  }
  if (config.compatible) {
    const compatible = createOpenAICompatible({
      name: config.compatible.name,
      baseURL: config.compatible.baseURL,
      apiKey: config.compatible.apiKey,
      supportsStructuredOutputs: true,
    });
    add(config.compatible.name, config.compatible.models, (model) => compatible.chatModel(model));
  }
  const secrets = [config.openai?.apiKey, config.anthropic?.apiKey, config.google?.apiKey, config.compatible?.apiKey, config.compatible?.baseURL].filter(
    (s): s is string => Boolean(s),
  );

  return {
    list: () => [...listed],
    resolve(id) {
      const at = id.indexOf(":");
      const provider = at > 0 ? id.slice(0, at) : "";
      const name = id.slice(at + 1);
      const factory = factories.get(provider);
      if (!factory || !name) {
        return { ok: false, message: `model "${id}" is not configured on this server (provider "${provider || id}" has no credentials set)` };
      }
      try {
        return { ok: true, model: factory(name) };
      } catch (error) {
        return { ok: false, message: error instanceof Error ? error.message : String(error) };
      }
    },
    secrets: () => secrets,
  };
}
