import { z } from "zod";
import { formatValue } from "../template";
import { defineKind, firstLine, IN, modelId, OUT, promptText, stateKey } from "./common";

export const SynthesizerConfigSchema = z.discriminatedUnion("mode", [
  z.strictObject({
    mode: z.literal("join"),
    from: stateKey,
    outputKey: stateKey,
    /** Between items; default a blank line. */
    separator: z.string().max(200).optional(),
  }),
  z.strictObject({
    mode: z.literal("llm"),
    from: stateKey,
    outputKey: stateKey,
    /** `{{joined}}` is every item joined with blank lines. */
    prompt: promptText,
    system: z.string().max(20_000).optional(),
    model: modelId.optional(),
  }),
]);
export type SynthesizerConfig = z.infer<typeof SynthesizerConfigSchema>;

const BLANK_LINE = "\n\n";

/**
 * Joins sections so that none is glued to the previous one: each is trimmed, and a section
 * starting with a markdown heading always begins its own paragraph, whatever the separator.
 */
export function joinSections(items: ReadonlyArray<unknown>, separator = BLANK_LINE): string {
  // Each text is trimmed, so what is joined so far ends in non-space: only the separator can end a line.
  const separatorEndsLine = /\n\s*$/.test(separator);
  const parts: string[] = [];
  for (const item of items) {
    const text = formatValue(item).trim();
    if (!text) continue;
    if (parts.length) parts.push(/^#{1,6}\s/.test(text) && !separatorEndsLine ? `${separator}${BLANK_LINE}` : separator);
    parts.push(text);
  }
  return parts.join("");
}

/** Combines a list of results: a join with a separator, or an LLM synthesis over all of them. */
export const synthesizerKind = defineKind({
  kind: "synthesizer",
  title: "Synthesizer",
  description: "Combines the workers' results into one text, by joining them or with a model.",
  configSchema: SynthesizerConfigSchema,
  defaultConfig: (key) => ({ mode: "join" as const, from: "completed_sections", outputKey: key }),
  inputs: () => IN,
  outputs: () => OUT,
  writes: (config) => [config.outputKey],
  templates: (config) =>
    config.mode === "llm"
      ? [
          { path: "prompt", template: config.prompt, scope: ["joined"] },
          ...(config.system ? [{ path: "system", template: config.system, scope: ["joined"] }] : []),
        ]
      : [],
  reads: (config) => [{ path: "from", key: config.from }],
  models: (config, fallback) => (config.mode === "llm" ? [config.model ?? fallback] : []),
  loopPorts: [],
  summary: (config) => (config.mode === "join" ? `Join ${config.from}` : `Synthesize ${config.from}: ${firstLine(config.prompt, 50)}`),
  async execute(context) {
    const { config } = context;
    const list = context.state[config.from];
    const items = Array.isArray(list) ? list : list === undefined ? [] : [list];
    if (config.mode === "join") {
      return { writes: { [config.outputKey]: joinSections(items, config.separator) } };
    }
    const joined = joinSections(items);
    const result = await context.callModel({
      model: config.model ?? context.defaultModel,
      system: config.system ? context.render(config.system, { joined }) : undefined,
      prompt: context.render(config.prompt, { joined }),
    });
    return { writes: { [config.outputKey]: result.text } };
  },
});
