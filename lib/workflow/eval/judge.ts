import { z } from "zod";
import { ModelError, type ModelPort, type TokenUsage } from "../engine/model-port";
import { formatValue } from "../template";
import type { JudgeAnswer, JudgeRequest } from "./assertions";

/**
 * The LLM judge of `judge` assertions: one structured-output call (`{ pass, reason }`) with a
 * rubric, through the same model port as runs, on the assertion's model or the default.
 */

export const JUDGE_SYSTEM =
  "You are a strict evaluator of AI outputs. Decide whether the text meets the rubric; pass only when every point of it is met. Give a one-sentence reason.";

export const JUDGE_SCHEMA = {
  type: "object",
  properties: {
    pass: { type: "boolean", description: "true only when the text meets every point of the rubric." },
    reason: { type: "string", description: "One sentence: why it passes or fails." },
  },
  required: ["pass", "reason"],
  additionalProperties: false,
};
const JudgeResult = z.object({ pass: z.boolean(), reason: z.string() });

/** Inputs shown to the judge are cut to this many characters each. */
const MAX_INPUT_CHARS = 2_000;

export function judgePrompt(request: JudgeRequest): string {
  const inputs = Object.entries(request.inputs)
    .map(([key, value]) => {
      const text = formatValue(value);
      return `${key}: ${text.length > MAX_INPUT_CHARS ? `${text.slice(0, MAX_INPUT_CHARS)}…` : text}`;
    })
    .join("\n");
  return [
    `Rubric: ${request.rubric}`,
    inputs ? `The workflow was given:\n${inputs}` : "",
    request.expected !== undefined ? `A reference answer:\n${request.expected}` : "",
    `Text to judge (${request.key}):\n${request.text}`,
  ]
    .filter(Boolean)
    .join("\n\n");
}

/** A judge over a model port. It throws on a failed call or an answer that is not `{ pass, reason }`: the checker turns that into an error verdict. */
export function createModelJudge(port: ModelPort, defaultModel: string) {
  return async function judge(request: JudgeRequest, signal: AbortSignal = new AbortController().signal): Promise<JudgeAnswer> {
    const model = request.model ?? defaultModel;
    let text = "";
    let object: unknown;
    let finished = false;
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    for await (const chunk of port.stream({ model, system: JUDGE_SYSTEM, prompt: judgePrompt(request), schema: JUDGE_SCHEMA, schemaName: "judgement", temperature: 0 }, signal)) {
      if (chunk.type === "text") text += chunk.delta;
      else {
        finished = true;
        object = chunk.object;
        usage.inputTokens += chunk.usage?.inputTokens ?? 0;
        usage.outputTokens += chunk.usage?.outputTokens ?? 0;
      }
    }
    if (!finished) throw new ModelError("invalid-output", `the judge (${model}) stopped before answering`);
    if (object === undefined) {
      try {
        object = JSON.parse(text);
      } catch {
        throw new ModelError("invalid-output", `the judge (${model}) did not answer with JSON`);
      }
    }
    const parsed = JudgeResult.safeParse(object);
    if (!parsed.success) throw new ModelError("invalid-output", `the judge (${model}) answered without a pass/fail and a reason`);
    return { ...parsed.data, model, usage };
  };
}
