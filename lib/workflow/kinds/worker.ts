import { z } from "zod";
import { formatValue } from "../template";
import { defineKind, firstLine, IN, modelId, OUT, promptText, shortText, stateKey } from "./common";

export const WorkerConfigSchema = z.strictObject({
  /** The list key to map over (an orchestrator's plan). */
  forEach: stateKey,
  outputKey: stateKey,
  prompt: promptText,
  system: z.string().max(20_000).optional(),
  model: modelId.optional(),
  concurrency: z.number().int().min(1).max(500).optional(),
  /**
   * Items that need the others (a conclusion, a summary): those whose `field` contains one of
   * `matches` (case-insensitive) run after every other item and see their results as `{{others}}`.
   */
  dependentItems: z
    .strictObject({ field: stateKey, matches: z.array(shortText.min(1)).min(1).max(20) })
    .optional(),
});
export type WorkerConfig = z.infer<typeof WorkerConfigSchema>;

export const DEFAULT_WORKER_CONCURRENCY = 4;

function itemLabel(item: unknown, index: number): string {
  if (item && typeof item === "object") {
    const record = item as Record<string, unknown>;
    const name = record.name ?? record.title ?? Object.values(record).find((v) => typeof v === "string");
    if (typeof name === "string" && name.trim()) return name.trim().slice(0, 80);
  }
  if (typeof item === "string" && item.trim()) return firstLine(item, 80);
  return `Item ${index + 1}`;
}

function waitsForOthers(config: WorkerConfig, item: unknown): boolean {
  const rule = config.dependentItems;
  if (!rule || !item || typeof item !== "object") return false;
  const value = formatValue((item as Record<string, unknown>)[rule.field]).toLowerCase();
  return rule.matches.some((word) => value.includes(word.toLowerCase()));
}

/** A map: one model call per item of a list, concurrently up to a cap; results keep plan order. */
export const workerKind = defineKind({
  kind: "worker",
  title: "Worker",
  description: "Runs its prompt once per planned item, concurrently, and collects the results in order.",
  configSchema: WorkerConfigSchema,
  defaultConfig: (key) => ({
    forEach: "sections",
    outputKey: key,
    prompt: "Write the section \"{{item.name}}\": {{item.description}}",
  }),
  inputs: () => IN,
  outputs: () => OUT,
  writes: (config) => [config.outputKey],
  templates: (config) => [
    { path: "prompt", template: config.prompt, scope: ["item", "index", "others"] },
    ...(config.system ? [{ path: "system", template: config.system, scope: ["item", "index", "others"] }] : []),
  ],
  reads: (config) => [{ path: "forEach", key: config.forEach }],
  models: (config, fallback) => [config.model ?? fallback],
  loopPorts: [],
  summary: (config) => `For each ${config.forEach}: ${firstLine(config.prompt, 60)}`,
  async execute(context) {
    const { config } = context;
    const list = context.state[config.forEach];
    if (!Array.isArray(list)) {
      throw new TypeError(`"${config.forEach}" is not a list (it is ${list === undefined ? "missing" : typeof list})`);
    }
    const items = list.map((item, index) => ({ label: itemLabel(item, index), waitForOthers: waitsForOthers(config, item) }));
    const results = await context.runInstances<string>(
      items,
      config.concurrency ?? DEFAULT_WORKER_CONCURRENCY,
      async (index, instance, earlier) => {
        const others = items[index].waitForOthers
          ? earlier.filter((text, i) => i !== index && text !== undefined).join("\n\n")
          : undefined;
        const extra = { item: list[index], index: index + 1, others };
        const result = await instance.callModel({
          model: config.model ?? context.defaultModel,
          system: config.system ? context.render(config.system, extra) : undefined,
          prompt: context.render(config.prompt, extra),
        });
        return { value: result.text, output: result.text };
      },
    );
    return { writes: { [config.outputKey]: results } };
  },
});
