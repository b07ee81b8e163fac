import { z } from "zod";
import { formatValue } from "../template";
import { defineKind, firstLine, IN, OUT, stateKey } from "./common";

export const AggregateConfigSchema = z.strictObject({
  outputKey: stateKey,
  /** Mustache template over the state; default: one `key:\n value` block per inbound key. */
  template: z.string().max(20_000).optional(),
});
export type AggregateConfig = z.infer<typeof AggregateConfigSchema>;

/** A join: waits for every connected input (dead ones included), then combines them. */
export const aggregateKind = defineKind({
  kind: "aggregate",
  title: "Aggregate",
  description: "Waits for all parallel branches and combines their outputs.",
  configSchema: AggregateConfigSchema,
  defaultConfig: (key) => ({ outputKey: key }),
  inputs: () => IN,
  outputs: () => OUT,
  writes: (config) => [config.outputKey],
  templates: (config) => (config.template ? [{ path: "template", template: config.template }] : []),
  reads: () => [],
  models: () => [],
  loopPorts: [],
  summary: (config) => (config.template ? firstLine(config.template) : "Combine every branch"),
  async execute(context) {
    const { config, state } = context;
    const combined = config.template
      ? context.render(config.template)
      : context.upstreamKeys
          .filter((key) => state[key] !== undefined)
          .map((key) => `${key}:\n${formatValue(state[key])}`)
          .join("\n\n");
    return { writes: { [config.outputKey]: combined } };
  },
});
