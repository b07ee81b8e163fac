import { z } from "zod";
import { defineKind, fieldsJsonSchema, fieldsValidator, FieldSchema, firstLine, IN, modelId, OUT, promptText, stateKey } from "./common";

const OutputSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("fields"), fields: z.array(FieldSchema).min(1, "needs at least one field").max(30) }),
]);

export const LlmConfigSchema = z.strictObject({
  outputKey: stateKey,
  prompt: promptText,
  system: z.string().max(20_000).optional(),
  model: modelId.optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxOutputTokens: z.number().int().min(1).max(200_000).optional(),
  output: OutputSchema.optional(),
});
export type LlmConfig = z.infer<typeof LlmConfigSchema>;

/** One model call: renders its prompt, streams text, or a structured object from a field list. */
export const llmKind = defineKind({
  kind: "llm",
  title: "LLM step",
  description: "Calls a model with a prompt template and streams its answer into a state key.",
  configSchema: LlmConfigSchema,
  defaultConfig: (key) => ({ outputKey: key, prompt: "Write a short paragraph about {{topic}}." }),
  inputs: () => IN,
  outputs: () => OUT,
  writes: (config) => [config.outputKey],
  templates: (config) => [
    { path: "prompt", template: config.prompt },
    ...(config.system ? [{ path: "system", template: config.system }] : []),
  ],
  reads: () => [],
  models: (config, fallback) => [config.model ?? fallback],
  loopPorts: [],
  check(config) {
    const names = config.output?.type === "fields" ? config.output.fields.map((f) => f.name) : [];
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    return duplicate ? [{ path: "output.fields", message: `field "${duplicate}" appears twice` }] : [];
  },
  summary: (config) => firstLine(config.prompt),
  async execute(context) {
    const { config } = context;
    const fields = config.output?.type === "fields" ? config.output.fields : undefined;
    const result = await context.callModel(
      {
        model: config.model ?? context.defaultModel,
        prompt: context.render(config.prompt),
        system: config.system ? context.render(config.system) : undefined,
        temperature: config.temperature,
        maxOutputTokens: config.maxOutputTokens,
        schema: fields ? fieldsJsonSchema(fields) : undefined,
        schemaName: fields ? config.outputKey : undefined,
      },
      fields ? { parse: (value) => fieldsValidator(fields).parse(value) } : undefined,
    );
    return { writes: { [config.outputKey]: fields ? result.object : result.text } };
  },
});
