import "server-only";
import { modelsUsed, type WorkflowDocument } from "@/lib/workflow";

export { withModel } from "@/lib/workflow";
import { readServerConfig, type ModelConfig } from "../config";
import { createModelPort } from "./port";
import { createModelRegistry, type ModelRegistry } from "./registry";

export type { ModelInfo, ModelRegistry } from "./registry";

/** The models this server can call, built once from the environment. */
export function createModels(config: ModelConfig = readServerConfig()) {
  const registry = createModelRegistry(config);
  return { registry, port: createModelPort(registry), limits: config.limits, coalesceMs: config.coalesceMs };
}

export type UnconfiguredModel = { nodeId: string; model: string; message: string };

/** Nodes whose model this server cannot call: checked before any call is made. */
export function unconfiguredModels(document: WorkflowDocument, registry: ModelRegistry): UnconfiguredModel[] {
  return modelsUsed(document).flatMap(({ nodeId, model }) => {
    const resolved = registry.resolve(model);
    return resolved.ok ? [] : [{ nodeId, model, message: resolved.message }];
  });
}

/** What the browser may know about the models: ids and labels only — never keys or base URLs. */
export function modelOptions(): Array<{ id: string; label: string; demo: boolean }> {
  return createModels()
    .registry.list()
    .map(({ id, label, demo }) => ({ id, label, demo }));
}
