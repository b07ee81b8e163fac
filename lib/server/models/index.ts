import "server-only";
import { modelsUsed, type WorkflowDocument } from "@/lib/workflow";
import { readServerConfig, type ServerConfig } from "../config";
import { createModelPort } from "./port";
import { createModelRegistry, type ModelRegistry } from "./registry";

export type { ModelInfo, ModelRegistry } from "./registry";

/** The models this server can call, built once from the environment. */
export function createModels(config: ServerConfig = readServerConfig()) {
  const registry = createModelRegistry(config);
  return { registry, port: createModelPort(registry), limits: config.limits };
}

export type UnconfiguredModel = { nodeId: string; model: string; message: string };

/** Nodes whose model this server cannot call: checked before any call is made. */
export function unconfiguredModels(document: WorkflowDocument, registry: ModelRegistry): UnconfiguredModel[] {
  return modelsUsed(document).flatMap(({ nodeId, model }) => {
    const resolved = registry.resolve(model);
    return resolved.ok ? [] : [{ nodeId, model, message: resolved.message }];
  });
}

/** The same document with every node on one model ("run with the demo model", the CLI's --model). */
export function withModel(document: WorkflowDocument, model: string): WorkflowDocument {
  return {
    ...document,
    settings: { ...document.settings, defaultModel: model },
    nodes: document.nodes.map((node) => ("model" in node.config ? ({ ...node, config: { ...node.config, model } } as typeof node) : node)),
  };
}
