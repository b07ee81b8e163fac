import "server-only";
import { embeddingModelsUsed, modelsUsed, type WorkflowDocument } from "@/lib/workflow";

export { withModel } from "@/lib/workflow";
import { readServerConfig, secretsOf, type ModelConfig } from "../config";
import { createModelPort } from "./port";
import { createModelRegistry, type ModelRegistry } from "./registry";

export type { ModelInfo, ModelRegistry } from "./registry";

/**
 * The models this server can call, built from the environment (or from `config`, in tests). Errors
 * are scrubbed of every secret the server holds, not only the providers' own.
 */
export function createModels(config?: ModelConfig) {
  const server = config ? undefined : readServerConfig();
  const settings = config ?? server!;
  const registry = createModelRegistry(settings, server ? secretsOf(server) : []);
  return { registry, port: createModelPort(registry), limits: settings.limits, coalesceMs: settings.coalesceMs };
}

export type UnconfiguredModel = { nodeId: string; model: string; code: "model-not-configured" | "model-not-allowed"; message: string };

/** Nodes whose model (or embedding model) this server cannot or may not call: checked before any call is made. */
export function unconfiguredModels(document: WorkflowDocument, registry: ModelRegistry): UnconfiguredModel[] {
  const language = modelsUsed(document).flatMap(({ nodeId, model }) => {
    const resolved = registry.resolve(model);
    return resolved.ok ? [] : [{ nodeId, model, code: resolved.code, message: resolved.message }];
  });
  const embedding = embeddingModelsUsed(document).flatMap(({ nodeId, model }) => {
    const resolved = registry.resolveEmbedding(model);
    return resolved.ok ? [] : [{ nodeId, model, code: resolved.code, message: resolved.message }];
  });
  return [...language, ...embedding];
}

/** What the browser may know about the models: ids and labels only — never keys or base URLs. */
export function modelOptions(): Array<{ id: string; label: string; demo: boolean; embedding?: true }> {
  return createModels()
    .registry.list()
    .map(({ id, label, demo, embedding }) => ({ id, label, demo, ...(embedding ? { embedding } : {}) }));
}
