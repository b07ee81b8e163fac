import { z } from "zod";
import { systemClock, type Clock } from "../engine/clock";
import { ModelError, type ModelCall, type ModelPort, type TokenUsage } from "../engine/model-port";
import { withRetries } from "../engine/retry";
import { DEFAULT_LIMITS, type RunLimits } from "../limits";
import { formatValue } from "../template";
import type { JudgeAnswer, JudgeRequest } from "./assertions";

/**
 * The LLM judge of `judge` assertions: one structured-output call (`{ pass, reason }`) with a
 * rubric, through the same model port as runs, on the assertion's model or the default. It calls
 * the port outside any run, so it applies the engine's retry and timeout rules itself.
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

export type JudgeOptions = {
  /** Attempts, backoff and timeouts (`maxAttempts`, `backoff*`, `retryAfterCapMs`, `firstTokenTimeoutMs`, `idleTimeoutMs`); the engine's defaults otherwise. */
  limits?: Partial<RunLimits>;
  clock?: Clock;
  random?: () => number;
};

type Answer = { text: string; object: unknown; usage: TokenUsage };

/**
 * A judge over a model port, with the engine's retry rules: a retryable failure (rate limit,
 * overload, network, a provider that stays silent) is tried again with backoff up to
 * `maxAttempts`. It throws when it gives up or the answer is not `{ pass, reason }`: the checker
 * turns that into an error verdict.
 */
export function createModelJudge(port: ModelPort, defaultModel: string, options: JudgeOptions = {}) {
  const limits: RunLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;

  /** One call, ended by the caller's signal or by the first-token and idle watchdog. */
  async function callOnce(call: ModelCall, signal: AbortSignal): Promise<Answer> {
    const attempt = new AbortController();
    const cancel = () => attempt.abort();
    signal.addEventListener("abort", cancel, { once: true });
    let timedOut: ModelError | undefined;
    let disarm = () => {};
    const arm = (ms: number, what: string) => {
      disarm();
      disarm = clock.schedule(ms, () => {
        timedOut = new ModelError("network", `the judge (${call.model}) ${what} for ${Math.round(ms / 1000)} s`, { retryable: true });
        attempt.abort();
      });
    };
    const answer: Answer = { text: "", object: undefined, usage: { inputTokens: 0, outputTokens: 0 } };
    let finished = false;
    arm(limits.firstTokenTimeoutMs, "sent nothing");
    try {
      for await (const chunk of port.stream(call, attempt.signal)) {
        arm(limits.idleTimeoutMs, "stalled");
        if (chunk.type === "text") answer.text += chunk.delta;
        else if (chunk.type === "finish") {
          finished = true;
          answer.object = chunk.object;
          answer.usage.inputTokens += chunk.usage?.inputTokens ?? 0;
          answer.usage.outputTokens += chunk.usage?.outputTokens ?? 0;
        }
      }
    } catch (error) {
      throw timedOut ?? error;
    } finally {
      disarm();
      signal.removeEventListener("abort", cancel);
    }
    if (timedOut) throw timedOut;
    if (!finished) throw new ModelError("invalid-output", `the judge (${call.model}) stopped before answering`);
    return answer;
  }

  return async function judge(request: JudgeRequest, signal: AbortSignal = new AbortController().signal): Promise<JudgeAnswer> {
    const model = request.model ?? defaultModel;
    const call: ModelCall = { model, system: JUDGE_SYSTEM, prompt: judgePrompt(request), schema: JUDGE_SCHEMA, schemaName: "judgement", temperature: 0 };
    const answer: Answer = await withRetries(() => callOnce(call, signal), { limits, clock, random, signal });
    let object = answer.object;
    if (object === undefined) {
      try {
        object = JSON.parse(answer.text);
      } catch {
        throw new ModelError("invalid-output", `the judge (${model}) did not answer with JSON`);
      }
    }
    const parsed = JudgeResult.safeParse(object);
    if (!parsed.success) throw new ModelError("invalid-output", `the judge (${model}) answered without a pass/fail and a reason`);
    return { ...parsed.data, model, usage: answer.usage };
  };
}
