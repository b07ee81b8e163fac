import { z } from "zod";
import { formatValue } from "../template";
import { agreementReport } from "../topology/agreement";
import { defineKind, firstLine, IN, OUT, stateKey } from "./common";

export const AggregateConfigSchema = z.strictObject({
  outputKey: stateKey,
  /** Mustache template over the state; default: one `key:\n value` block per inbound key. */
  template: z.string().max(20_000).optional(),
  /**
   * Optional agreement check across the branches: pairwise similarity of their outputs, a score
   * and the outliers, written to `key` (as `{ score, outliers, conflicts, … }`) for a verifying step.
   */
  agreement: z
    .strictObject({
      key: stateKey,
      /** Below this mean similarity (0–1) the branches are reported as disagreeing (default 0.2). */
      threshold: z.number().min(0).max(1).optional(),
    })
    .optional(),
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
  writes: (config) => (config.agreement ? [config.outputKey, config.agreement.key] : [config.outputKey]),
  templates: (config) => (config.template ? [{ path: "template", template: config.template }] : []),
  reads: () => [],
  models: () => [],
  loopPorts: [],
  check: (config) => (config.agreement?.key === config.outputKey ? [{ path: "agreement.key", message: "must differ from outputKey" }] : []),
  summary: (config) => `${config.template ? firstLine(config.template) : "Combine every branch"}${config.agreement ? " · checks agreement" : ""}`,
  async execute(context) {
    const { config, state } = context;
    const present = context.upstreamKeys.filter((key) => state[key] !== undefined);
    const combined = config.template
      ? context.render(config.template)
      : present.map((key) => `${key}:\n${formatValue(state[key])}`).join("\n\n");
    if (!config.agreement) return { writes: { [config.outputKey]: combined } };
    const report = agreementReport(
      present.map((key) => ({ key, text: formatValue(state[key]) })),
      config.agreement.threshold,
    );
    // The report first: a card shows the end of a node's output, which should be the combined text.
    return { writes: { [config.agreement.key]: report, [config.outputKey]: combined } };
  },
});
