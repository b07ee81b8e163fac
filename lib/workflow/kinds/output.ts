import { z } from "zod";
import { defineKind, IN, NONE, stateKey } from "./common";

export const OutputConfigSchema = z.strictObject({
  /** The state keys shown as the run's result. */
  keys: z.array(stateKey).min(1, "name at least one key").max(50),
});
export type OutputConfig = z.infer<typeof OutputConfigSchema>;

/** Marks which keys are the run's result. */
export const outputKind = defineKind({
  kind: "output",
  title: "Output",
  description: "Marks the state keys shown as the run's result.",
  configSchema: OutputConfigSchema,
  defaultConfig: () => ({ keys: ["topic"] }),
  inputs: () => IN,
  outputs: () => NONE,
  writes: () => NONE,
  templates: () => [],
  reads: (config) => config.keys.map((key, i) => ({ path: `keys[${i}]`, key })),
  models: () => [],
  loopPorts: [],
  summary: (config) => `Shows ${config.keys.join(", ")}`,
  async execute(context) {
    const shown: Record<string, unknown> = {};
    for (const key of context.config.keys) if (context.state[key] !== undefined) shown[key] = context.state[key];
    return { writes: {}, output: shown };
  },
});
