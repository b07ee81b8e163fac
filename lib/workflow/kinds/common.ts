import { z } from "zod";
import type { NodeContext, NodeResult } from "../engine/context";
import type { JsonSchema } from "../engine/model-port";

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);
export const stateKey = z
  .string()
  .max(64)
  .regex(IDENTIFIER, "must be an identifier: letters, digits and _, not starting with a digit")
  .refine((key) => !RESERVED_KEYS.has(key), "is a reserved name");
export const modelId = z
  .string()
  .max(200)
  .regex(/^[a-z][a-z0-9-]*:[^\s]+$/, 'must be a model id like "openai:gpt-4o-mini" or "demo:default"');
export const promptText = z.string().trim().min(1, "is required").max(20_000);
export const optionalPrompt = z.string().max(20_000);
export const shortText = z.string().max(2_000);
export const portName = z
  .string()
  .min(1)
  .max(40)
  .regex(IDENTIFIER, "must be an identifier: letters, digits and _, not starting with a digit");

export const FieldSchema = z.strictObject({
  name: stateKey,
  type: z.enum(["string", "number", "boolean", "string[]"]),
  description: shortText.optional(),
});
export type Field = z.infer<typeof FieldSchema>;

/** A JSON Schema object for a list of fields (every field required, no extra keys). */
export function fieldsJsonSchema(fields: ReadonlyArray<Field>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const field of fields) {
    const base: JsonSchema =
      field.type === "string[]" ? { type: "array", items: { type: "string" } } : { type: field.type };
    properties[field.name] = field.description ? { ...base, description: field.description } : base;
  }
  return { type: "object", properties, required: fields.map((f) => f.name), additionalProperties: false };
}

/** A zod validator for what the model returned for a list of fields. */
export function fieldsValidator(fields: ReadonlyArray<Field>) {
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    shape[field.name] =
      field.type === "string[]" ? z.array(z.string()) : field.type === "number" ? z.number() : field.type === "boolean" ? z.boolean() : z.string();
  }
  return z.object(shape);
}

/** A template the node renders, for reference checking: where it is and which extra names it may use. */
export type TemplateSite = { path: string; template: string; scope?: string[] };
/** A state key the node reads directly (not through a template). */
export type KeyRead = { path: string; key: string };

export type KindDefinition<Kind extends string, Config> = {
  kind: Kind;
  title: string;
  description: string;
  configSchema: z.ZodType<Config>;
  // Everything below reads the config; NoInfer keeps the schema as the one source of its type.
  /** Config for a node freshly added in the editor (`key` is a unique suggestion for outputs). */
  defaultConfig(key: string): NoInfer<Config>;
  /** In-ports (`in`) — empty for sources. */
  inputs(config: NoInfer<Config>): string[];
  /** Out-ports; for the router they follow its routes. */
  outputs(config: NoInfer<Config>): string[];
  /** State keys the node writes. */
  writes(config: NoInfer<Config>): string[];
  templates(config: NoInfer<Config>): TemplateSite[];
  reads(config: NoInfer<Config>): KeyRead[];
  /** The model ids the node calls, resolved against the document default. */
  models(config: NoInfer<Config>, defaultModel: string): string[];
  /** Ports that may close a loop back upstream. */
  loopPorts: string[];
  /** Extra config checks that need more than the schema (paths relative to `config`). */
  check?(config: NoInfer<Config>): Array<{ path: string; message: string }>;
  /** One line for a card: what the node does. */
  summary(config: NoInfer<Config>): string;
  execute(context: NodeContext<NoInfer<Config>>): Promise<NodeResult>;
};

export function defineKind<Kind extends string, Config>(definition: KindDefinition<Kind, Config>) {
  return definition;
}

export const IN = ["in"];
export const OUT = ["out"];
export const NONE: string[] = [];

export function firstLine(text: string, max = 80): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
