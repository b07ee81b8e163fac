import { z } from "zod";
import { formatValue } from "../template";
import { agreementReport, MAX_RERUN_ROUNDS, recheckNote, roundsSentence, type AgreementReport } from "../topology/agreement";
import { defineKind, firstLine, IN, modelId, OUT, stateKey } from "./common";

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
      /** An embedding model (e.g. `demo:embed`): similarity of embeddings instead of shared words. */
      embeddingModel: modelId.optional(),
      /**
       * On disagreement, run the outlier branches again (their chains back to the fork) at most
       * `rounds` times (default 1) before combining; the run's limits can stop it sooner
       * (docs/architecture.md §4.15). The conflicts left are listed for the next step either way.
       */
      rerun: z
        .strictObject({
          rounds: z.number().int().min(1).max(MAX_RERUN_ROUNDS).optional(),
        })
        .optional(),
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
  summary: (config) =>
    `${config.template ? firstLine(config.template) : "Combine every branch"}${config.agreement ? ` · checks agreement${config.agreement.rerun ? ", re-runs outliers" : ""}` : ""}`,
  async execute(context) {
    const { config, state } = context;
    const present = context.upstreamKeys.filter((key) => state[key] !== undefined);
    const combined = config.template
      ? context.render(config.template)
      : present.map((key) => `${key}:\n${formatValue(state[key])}`).join("\n\n");
    const agreement = config.agreement;
    if (!agreement) return { writes: { [config.outputKey]: combined } };
    const branches = present.map((key) => ({ key, text: formatValue(state[key]) }));
    const model = agreement.embeddingModel;
    const embedding = model ? { model, vectors: branches.length > 1 ? await context.embed(model, branches.map((b) => b.text)) : [] } : undefined;
    const report = agreementReport(branches, agreement.threshold, embedding);
    // A later round: the report of the round before is this node's own key (written in this gathering).
    const previous = context.round > 1 ? (state[agreement.key] as AgreementReport | undefined) : undefined;
    if (previous?.rerun) {
      report.rounds = [...(previous.rounds ?? []), { round: context.round, rerun: previous.rerun.keys, before: previous.score, after: report.score }];
    }
    const writes = (final: AgreementReport) => ({ [agreement.key]: final, [config.outputKey]: combined });
    if (agreement.rerun && !report.agrees && report.outliers.length) {
      const bound = agreement.rerun.rounds ?? 1;
      if (context.round > bound) {
        report.rerunSkipped = `re-ran the outliers ${bound} time${bound === 1 ? "" : "s"}, the policy's bound`;
      } else {
        const plan = context.planRerun(report.outliers);
        if (plan.ok) {
          const keys = plan.branches.map((b) => b.key);
          report.rerun = { round: context.round + 1, keys };
          if (plan.skipped.length) report.rerunSkipped = plan.skipped.map((s) => `"${s.key}": ${s.reason}`).join("; ");
          return { writes: writes(report), rerun: { keys, note: recheckNote(report, branches, keys) } };
        }
        report.rerunSkipped = plan.reason;
      }
    }
    const history = roundsSentence(report.rounds);
    if (history) report.conflicts = report.conflicts ? `${history} ${report.conflicts}` : "";
    // The report first: a card shows the end of a node's output, which should be the combined text.
    return { writes: writes(report) };
  },
});
