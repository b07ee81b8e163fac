import { z } from "zod";
import { defineKind, FieldSchema, fieldsJsonSchema, fieldsValidator, firstLine, IN, modelId, promptText, stateKey } from "./common";

export const OrchestratorConfigSchema = z.strictObject({
  outputKey: stateKey,
  prompt: promptText,
  system: z.string().max(20_000).optional(),
  /** The fields of each planned item (default: name, description). */
  fields: z.array(FieldSchema).min(1).max(10).optional(),
  maxItems: z.number().int().min(1).max(500),
  model: modelId.optional(),
});
export type OrchestratorConfig = z.infer<typeof OrchestratorConfigSchema>;

export const DEFAULT_PLAN_FIELDS = [
  { name: "name", type: "string" as const, description: "A short title." },
  { name: "description", type: "string" as const, description: "What this part covers." },
];

/** Plans a list of items with structured output; the list feeds a map worker. */
export const orchestratorKind = defineKind({
  kind: "orchestrator",
  title: "Orchestrator",
  description: "Plans a list of subtasks with a model; workers take one each.",
  configSchema: OrchestratorConfigSchema,
  defaultConfig: (key) => ({ outputKey: key, prompt: "Plan the sections of a report on {{topic}}.", maxItems: 6 }),
  inputs: () => IN,
  outputs: () => ["plan"],
  writes: (config) => [config.outputKey],
  templates: (config) => [
    { path: "prompt", template: config.prompt },
    ...(config.system ? [{ path: "system", template: config.system }] : []),
  ],
  reads: () => [],
  models: (config, fallback) => [config.model ?? fallback],
  loopPorts: [],
  summary: (config) => `${firstLine(config.prompt, 60)} (≤ ${config.maxItems})`,
  async execute(context) {
    const { config } = context;
    const fields = config.fields ?? DEFAULT_PLAN_FIELDS;
    const itemSchema = fieldsJsonSchema(fields);
    const schema = {
      type: "object",
      properties: { items: { type: "array", items: itemSchema, description: `At most ${config.maxItems} items.` } },
      required: ["items"],
      additionalProperties: false,
    };
    const Plan = z.object({ items: z.array(fieldsValidator(fields)) });
    const result = await context.callModel(
      {
        model: config.model ?? context.defaultModel,
        system: config.system ? context.render(config.system) : undefined,
        prompt: context.render(config.prompt),
        schema,
        schemaName: "plan",
      },
      { parse: (value) => Plan.parse(value) },
    );
    let items = (result.object as z.infer<typeof Plan>).items;
    const cap = Math.min(config.maxItems, context.limits.maxMapItems);
    if (items.length > cap) {
      context.warn({ code: "plan-truncated", message: `the plan had ${items.length} items; kept the first ${cap}` });
      items = items.slice(0, cap);
    }
    return { writes: { [config.outputKey]: items } };
  },
});
