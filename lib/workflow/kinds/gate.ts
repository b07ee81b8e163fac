import { z } from "zod";
import { ConditionSchema, describeRule, evaluateCondition, patternProblem } from "../condition";
import { formatValue } from "../template";
import { defineKind, IN, modelId, shortText, stateKey } from "./common";

export const GateConfigSchema = z.discriminatedUnion("mode", [
  z.strictObject({
    mode: z.literal("condition"),
    condition: ConditionSchema,
    /** Bounds a loop closed by the `fail` port. */
    maxIterations: z.number().int().min(1).max(100).optional(),
  }),
  z.strictObject({
    mode: z.literal("judge"),
    key: stateKey,
    criterion: shortText.trim().min(1, "is required"),
    model: modelId.optional(),
    maxIterations: z.number().int().min(1).max(100).optional(),
  }),
]);
export type GateConfig = z.infer<typeof GateConfigSchema>;

export const JUDGE_SYSTEM = "You are a strict judge. Answer yes or no with a one-sentence reason.";

export const JUDGE_SCHEMA = {
  type: "object",
  properties: {
    verdict: { type: "string", enum: ["yes", "no"] },
    reason: { type: "string" },
  },
  required: ["verdict", "reason"],
  additionalProperties: false,
};
const JudgeResult = z.object({ verdict: z.enum(["yes", "no"]), reason: z.string() });

/** Passes or fails on a declarative condition or an LLM yes/no judgement; exactly one port fires. */
export const gateKind = defineKind({
  kind: "gate",
  title: "Gate",
  description: "Checks a condition on the state and continues on pass or fail.",
  configSchema: GateConfigSchema,
  defaultConfig: () => ({
    mode: "condition" as const,
    condition: { match: "any" as const, rules: [{ op: "not_empty" as const, key: "topic" }] },
  }),
  inputs: () => IN,
  outputs: () => ["pass", "fail"],
  writes: () => [],
  templates: () => [],
  reads: (config) =>
    config.mode === "judge"
      ? [{ path: "key", key: config.key }]
      : config.condition.rules.map((rule, i) => ({ path: `condition.rules[${i}].key`, key: rule.key })),
  models: (config, fallback) => (config.mode === "judge" ? [config.model ?? fallback] : []),
  loopPorts: ["fail"],
  check(config) {
    if (config.mode !== "condition") return [];
    return config.condition.rules.flatMap((rule, i) => {
      if (rule.op !== "matches") return [];
      const reason = patternProblem(rule.pattern);
      return reason ? [{ path: `condition.rules[${i}].pattern`, message: `the pattern ${reason}` }] : [];
    });
  },
  summary: (config) =>
    config.mode === "judge"
      ? `LLM judge: ${config.criterion}`
      : config.condition.rules.map(describeRule).join(config.condition.match === "all" ? " and " : " or "),
  async execute(context) {
    const { config } = context;
    let passed: boolean;
    let output: unknown;
    if (config.mode === "condition") {
      passed = evaluateCondition(config.condition, context.state);
      output = { passed };
    } else {
      const result = await context.callModel(
        {
          model: config.model ?? context.defaultModel,
          system: JUDGE_SYSTEM,
          prompt: `Criterion: ${config.criterion}\n\nText to judge:\n${formatValue(context.state[config.key])}`,
          schema: JUDGE_SCHEMA,
          schemaName: "judgement",
        },
        { parse: (value) => JudgeResult.parse(value) },
      );
      const judgement = result.object as z.infer<typeof JudgeResult>;
      passed = judgement.verdict === "yes";
      output = { passed, reason: judgement.reason };
    }
    if (!passed && context.isLoopPort("fail")) {
      const bound = context.maxIterations(config.maxIterations);
      if (context.iteration >= bound) {
        context.warn({ code: "max-iterations", message: `gave up after ${bound} iterations and continued on pass` });
        return { writes: {}, ports: ["pass"], output: { ...(output as object), maxIterationsReached: true } };
      }
    }
    return { writes: {}, ports: [passed ? "pass" : "fail"], output };
  },
});
