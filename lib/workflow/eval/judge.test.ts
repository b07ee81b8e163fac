import { describe, expect, it } from "vitest";
import { ModelError, type ModelCall, type ModelPort } from "../engine/model-port";
import { scriptedModel, type Script } from "../testing/scripted-model";
import { VirtualClock } from "../testing/virtual-clock";
import { createModelJudge, judgePrompt, JUDGE_SCHEMA } from "./judge";
import type { JudgeRequest } from "./assertions";

const request: JudgeRequest = { rubric: "Names the capital.", key: "answer", text: "Paris.", inputs: { country: "France" }, expected: "Paris" };
const fixedRandom = () => 0.5;

function judgeWith(clock: VirtualClock, script: (call: ModelCall, index: number) => Script) {
  const model = scriptedModel(clock, script);
  return { judge: createModelJudge(model.port, "openai:gpt-4o-mini", { clock, random: fixedRandom }), calls: model.calls };
}

describe("the model judge", () => {
  it("asks for { pass, reason } with the rubric, the inputs, the reference and the text", async () => {
    const clock = new VirtualClock();
    const { judge, calls } = judgeWith(clock, () => ({ object: { pass: true, reason: "It names Paris." } }));
    expect(await clock.drive(judge(request))).toEqual({ pass: true, reason: "It names Paris.", model: "openai:gpt-4o-mini", usage: { inputTokens: 10, outputTokens: 5 } });
    expect(calls[0]).toMatchObject({ model: "openai:gpt-4o-mini", schema: JUDGE_SCHEMA, schemaName: "judgement", temperature: 0 });
    expect(calls[0].prompt).toBe(judgePrompt(request));
    expect(calls[0].prompt).toBe("Rubric: Names the capital.\n\nThe workflow was given:\ncountry: France\n\nA reference answer:\nParis\n\nText to judge (answer):\nParis.");
  });

  it("uses the assertion's own model when it names one", async () => {
    const clock = new VirtualClock();
    const { judge, calls } = judgeWith(clock, () => ({ object: { pass: false, reason: "No." } }));
    expect(await clock.drive(judge({ ...request, model: "anthropic:claude-sonnet-4-5" }))).toMatchObject({ pass: false, model: "anthropic:claude-sonnet-4-5" });
    expect(calls[0].model).toBe("anthropic:claude-sonnet-4-5");
  });

  it("retries a rate limit with backoff, then answers", async () => {
    const clock = new VirtualClock();
    const { judge, calls } = judgeWith(clock, (_call, index) => (index < 2 ? { error: new ModelError("rate-limited", "slow down") } : { object: { pass: true, reason: "ok" } }));
    expect(await clock.drive(judge(request))).toMatchObject({ pass: true });
    // Equal jitter with random 0.5: 375 ms after the first failure, 750 ms after the second.
    expect(calls.map((c) => c.startedAt)).toEqual([0, 375, 1125]);
  });

  it("gives up after the attempts allowed, saying so; a refusal is not retried", async () => {
    const clock = new VirtualClock();
    const failing = judgeWith(clock, () => ({ error: new ModelError("overloaded", "the provider is overloaded") }));
    await expect(clock.drive(failing.judge(request))).rejects.toThrow("the provider is overloaded; gave up after 3 attempts");
    expect(failing.calls).toHaveLength(3);
    const refused = judgeWith(clock, () => ({ error: new ModelError("auth", "bad key") }));
    await expect(clock.drive(refused.judge(request))).rejects.toThrow("bad key");
    expect(refused.calls).toHaveLength(1);
  });

  it("a provider that never answers times out (and is retried) instead of holding the row forever", async () => {
    const clock = new VirtualClock();
    const model = scriptedModel(clock, () => ({ hang: true }));
    const judge = createModelJudge(model.port, "openai:gpt-4o-mini", { clock, random: fixedRandom, limits: { firstTokenTimeoutMs: 1_000, maxAttempts: 2 } });
    await expect(clock.drive(judge(request))).rejects.toThrow("the judge (openai:gpt-4o-mini) sent nothing for 1 s; gave up after 2 attempts");
    expect(model.calls.map((c) => c.aborted)).toEqual([true, true]);
  });

  it("stops at once when the evaluation is cancelled", async () => {
    const clock = new VirtualClock();
    const model = scriptedModel(clock, () => ({ hang: true }));
    const judge = createModelJudge(model.port, "openai:gpt-4o-mini", { clock });
    const controller = new AbortController();
    clock.schedule(50, () => controller.abort());
    await expect(clock.drive(judge(request, controller.signal))).rejects.toThrow();
    expect(clock.now()).toBe(50);
    expect(model.calls).toHaveLength(1);
  });

  it("refuses an answer that is not { pass, reason }, or a stream that ends without one", async () => {
    const clock = new VirtualClock();
    await expect(clock.drive(judgeWith(clock, () => ({ object: { verdict: "yes" } })).judge(request))).rejects.toThrow("answered without a pass/fail and a reason");
    await expect(clock.drive(judgeWith(clock, () => ({ text: "yes", noFinish: true })).judge(request))).rejects.toThrow("stopped before answering");
    const textOnly: ModelPort = {
      async *stream() {
        yield { type: "text", delta: '{"pass":false,' };
        yield { type: "text", delta: '"reason":"Too long."}' };
        yield { type: "finish", finishReason: "stop" };
      },
    };
    expect(await createModelJudge(textOnly, "x:y")(request)).toMatchObject({ pass: false, reason: "Too long." });
  });
});
