import { describe, expect, it } from "vitest";
import { sleep } from "../engine/clock";
import { ModelError, type ModelPort } from "../engine/model-port";
import { VirtualClock } from "../testing/virtual-clock";
import { createPortEmbedder } from "./embed";

/** A port whose `embed` answers by a script, on the test's virtual clock. */
function embeddingPort(clock: VirtualClock, answer: (call: number) => { ms?: number; error?: ModelError; vectors?: number[][] }) {
  const calls: Array<{ model: string; texts: string[]; at: number }> = [];
  const port: ModelPort = {
    // eslint-disable-next-line require-yield
    async *stream() {
      throw new Error("not used");
    },
    async embed(model, texts, signal) {
      const plan = answer(calls.length);
      calls.push({ model, texts, at: clock.now() });
      await sleep(clock, plan.ms ?? 0, signal);
      if (plan.error) throw plan.error;
      return plan.vectors ?? texts.map(() => [1, 0]);
    },
  };
  return { port, calls };
}

describe("createPortEmbedder", () => {
  it("is undefined for a port that cannot embed", () => {
    expect(createPortEmbedder({ stream: embeddingPort(new VirtualClock(), () => ({})).port.stream })).toBeUndefined();
  });

  it("embeds on the assertion's model, else the default", async () => {
    const clock = new VirtualClock();
    const { port, calls } = embeddingPort(clock, () => ({}));
    const embed = createPortEmbedder(port, "demo:embed", { clock })!;
    await clock.drive(embed(["a", "b"], {}));
    await clock.drive(embed(["c"], { model: "openai:text-embedding-3-small" }));
    expect(calls.map((c) => [c.model, c.texts])).toEqual([
      ["demo:embed", ["a", "b"]],
      ["openai:text-embedding-3-small", ["c"]],
    ]);
  });

  it("answers the model it used and the tokens the port reported", async () => {
    const port: ModelPort = {
      ...embeddingPort(new VirtualClock(), () => ({})).port,
      embed: async (_model, texts) => ({ embeddings: texts.map(() => [0, 1]), usage: { inputTokens: 12, outputTokens: 0 } }),
    };
    expect(await createPortEmbedder(port, "demo:embed")!(["a", "b"], { model: "openai:text-embedding-3-small" })).toEqual({
      embeddings: [
        [0, 1],
        [0, 1],
      ],
      model: "openai:text-embedding-3-small",
      usage: { inputTokens: 12, outputTokens: 0 },
    });
  });

  it("retries a retryable failure with backoff; a refusal fails at once", async () => {
    const clock = new VirtualClock();
    const flaky = embeddingPort(clock, (n) => (n === 0 ? { error: new ModelError("server-error", "boom") } : {}));
    expect(await clock.drive(createPortEmbedder(flaky.port, "demo:embed", { clock, random: () => 0 })!(["a"], {}))).toEqual({ embeddings: [[1, 0]], model: "demo:embed" });
    expect(flaky.calls.map((c) => c.at)).toEqual([0, 250]);
    const refused = embeddingPort(clock, () => ({ error: new ModelError("not-found", "no such model") }));
    await expect(clock.drive(createPortEmbedder(refused.port, "demo:embed", { clock })!(["a"], {}))).rejects.toThrow("no such model");
    expect(refused.calls).toHaveLength(1);
  });

  it("abandons a call that takes longer than the timeout, and gives up after the attempts allowed", async () => {
    const clock = new VirtualClock();
    const slow = embeddingPort(clock, () => ({ ms: 60_000 }));
    const embed = createPortEmbedder(slow.port, "demo:embed", { clock, random: () => 0, limits: { firstTokenTimeoutMs: 1_000, maxAttempts: 2 } })!;
    await expect(clock.drive(embed(["a"], {}))).rejects.toThrow("the embedding model (demo:embed) did not answer in 1 s; gave up after 2 attempts");
    expect(slow.calls).toHaveLength(2);
  });
});
