import { z } from "zod";
import { formatValue } from "../template";
import { defineKind, IN, modelId, optionalPrompt, shortText, stateKey } from "./common";

export const EvaluatorConfigSchema = z.strictObject({
  /** The key being graded. */
  key: stateKey,
  gradeKey: stateKey,
  feedbackKey: stateKey,
  criteria: shortText.trim().min(1, "is required"),
  /** Optional extra instructions for the grader (Mustache over the state). */
  prompt: optionalPrompt.optional(),
  model: modelId.optional(),
  maxIterations: z.number().int().min(1).max(100).optional(),
});
export type EvaluatorConfig = z.infer<typeof EvaluatorConfigSchema>;

export const DEFAULT_MAX_ITERATIONS = 3;

export const GRADE_SYSTEM = "You are a demanding reviewer. Grade the text against the criteria.";

export const GRADE_SCHEMA = {
  type: "object",
  properties: {
    grade: { type: "string", enum: ["pass", "fail"], description: "pass only when every criterion is met." },
    feedback: { type: "string", description: "Concrete, actionable feedback for the next revision." },
  },
  required: ["grade", "feedback"],
  additionalProperties: false,
};
const Grade = z.object({ grade: z.enum(["pass", "fail"]), feedback: z.string() });

/** Grades a key against criteria; `revise` loops back upstream until it passes or the bound is hit. */
export const evaluatorKind = defineKind({
  kind: "evaluator",
  title: "Evaluator",
  description: "Grades a result against criteria and sends it back for revision until it passes.",
  configSchema: EvaluatorConfigSchema,
  defaultConfig: (key) => ({
    key: "draft",
    gradeKey: key,
    feedbackKey: "feedback",
    criteria: "The draft is clear, correct and complete.",
    maxIterations: DEFAULT_MAX_ITERATIONS,
  }),
  inputs: () => IN,
  outputs: () => ["pass", "revise"],
  writes: (config) => [config.gradeKey, config.feedbackKey],
  templates: (config) => (config.prompt ? [{ path: "prompt", template: config.prompt }] : []),
  reads: (config) => [{ path: "key", key: config.key }],
  models: (config, fallback) => [config.model ?? fallback],
  loopPorts: ["revise"],
  check(config) {
    return config.gradeKey === config.feedbackKey ? [{ path: "feedbackKey", message: "must differ from gradeKey" }] : [];
  },
  summary: (config) => `Grade ${config.key}: ${config.criteria}`,
  async execute(context) {
    const { config } = context;
    const extra = config.prompt ? `\n\n${context.render(config.prompt)}` : "";
    const result = await context.callModel(
      {
        model: config.model ?? context.defaultModel,
        system: GRADE_SYSTEM,
        prompt: `Criteria: ${config.criteria}${extra}\n\nText to grade:\n${formatValue(context.state[config.key])}`,
        schema: GRADE_SCHEMA,
        schemaName: "grade",
      },
      { parse: (value) => Grade.parse(value) },
    );
    const { grade, feedback } = result.object as z.infer<typeof Grade>;
    const writes = { [config.gradeKey]: grade, [config.feedbackKey]: feedback };
    if (grade === "pass") return { writes, ports: ["pass"] };
    if (context.isLoopPort("revise")) {
      const bound = context.maxIterations(config.maxIterations ?? DEFAULT_MAX_ITERATIONS);
      if (context.iteration >= bound) {
        context.warn({ code: "max-iterations", message: `still failing after ${bound} iterations; continued on pass` });
        return { writes, ports: ["pass"], output: { ...writes, maxIterationsReached: true } };
      }
    }
    return { writes, ports: ["revise"] };
  },
});
