import type { LanguageModelV4, LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { afterEach, describe, expect, it, vi } from "vitest";
import { findTemplate, parseDocument, runWorkflow, type RunEvent, type RunEventOf } from "@/lib/workflow";
import { SETTLES_ON_RETURN, type ModelChunk, type ModelPort } from "@/lib/workflow/engine/model-port";
import { createModelPort } from "./port";
import type { ModelRegistry } from "./registry";

/**
 * The model port's stream over a provider's own stream (`doStream`), with a scripted provider: the
 * chunks it gives, and that the provider's stream is closed whenever the caller stops early.
 */

const FINISH: LanguageModelV4StreamPart = {
  type: "finish",
  finishReason: { unified: "stop", raw: "stop" },
  usage: { inputTokens: { total: 3, noCache: 3, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: 2, text: 2, reasoning: 0 } },
} as LanguageModelV4StreamPart;

/** A provider whose stream gives `parts` (then waits forever when `hang`), counting cancels. */
function provider(parts: LanguageModelV4StreamPart[], { hang = false, callDelay }: { hang?: boolean; callDelay?: Promise<void> } = {}) {
  const state = { cancelled: 0, calls: 0 };
  const model = {
    specificationVersion: "v4",
    provider: "test",
    modelId: "m",
    supportedUrls: {},
    doGenerate: () => Promise.reject(new Error("not used")),
    doStream: async () => {
      state.calls++;
      await callDelay;
      let at = 0;
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        pull(controller) {
          if (at < parts.length) return void controller.enqueue(parts[at++]);
          if (!hang) controller.close();
          return new Promise(() => undefined);
        },
        cancel() {
          state.cancelled++;
        },
      });
      return { stream };
    },
  } as unknown as LanguageModelV4;
  const registry = { resolve: () => ({ ok: true, model }), secrets: () => ["secret-key-123"] } as unknown as ModelRegistry;
  return { port: createModelPort(registry), state };
}

const call = { model: "test:m", prompt: "hi" };

async function all(iterable: AsyncIterable<ModelChunk>): Promise<ModelChunk[]> {
  const chunks: ModelChunk[] = [];
  for await (const chunk of iterable) chunks.push(chunk);
  return chunks;
}

describe("the model port's stream", () => {
  it("gives the text deltas, skipping empty ones and other parts, then the finish with its usage", async () => {
    const { port, state } = provider([
      { type: "stream-start", warnings: [] },
      { type: "text-start", id: "t" },
      { type: "text-delta", id: "t", delta: "Hel" },
      { type: "text-delta", id: "t", delta: "" },
      { type: "text-delta", id: "t", delta: "lo" },
      { type: "text-end", id: "t" },
      FINISH,
    ] as LanguageModelV4StreamPart[]);
    expect(await all(port.stream(call, new AbortController().signal))).toEqual([
      { type: "text", delta: "Hel" },
      { type: "text", delta: "lo" },
      { type: "finish", finishReason: "stop", usage: { inputTokens: 3, outputTokens: 2 } },
    ]);
    expect(state.cancelled).toBe(0);
  });

  it("gives no finish when the provider's stream ends without one", async () => {
    const { port } = provider([{ type: "text-delta", id: "t", delta: "cut" }] as LanguageModelV4StreamPart[]);
    expect(await all(port.stream(call, new AbortController().signal))).toEqual([{ type: "text", delta: "cut" }]);
  });

  it("throws a provider's error part as a scrubbed model error, and closes its stream", async () => {
    const { port, state } = provider([
      { type: "text-delta", id: "t", delta: "a" },
      { type: "error", error: new Error("boom at https://api.example.com/v1 with secret-key-123") },
    ] as LanguageModelV4StreamPart[], { hang: true });
    const iterator = port.stream(call, new AbortController().signal)[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: { type: "text", delta: "a" } });
    const error = await iterator.next().then(() => null, (e: Error) => e);
    expect(error).toMatchObject({ name: "ModelError", code: "unknown" });
    expect(error!.message).not.toMatch(/secret-key-123|api\.example\.com/);
    expect(state.cancelled).toBe(1);
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it("closes the provider's stream when the caller stops mid-stream", async () => {
    const { port, state } = provider([{ type: "text-delta", id: "t", delta: "a" }] as LanguageModelV4StreamPart[], { hang: true });
    for await (const chunk of port.stream(call, new AbortController().signal)) {
      expect(chunk).toEqual({ type: "text", delta: "a" });
      break;
    }
    expect(state.cancelled).toBe(1);
  });

  it("closes the stream a call opens after the caller has left", async () => {
    let answer!: () => void;
    const { port, state } = provider([{ type: "text-delta", id: "t", delta: "late" }] as LanguageModelV4StreamPart[], { hang: true, callDelay: new Promise<void>((resolve) => (answer = resolve)) });
    const iterator = port.stream(call, new AbortController().signal)[Symbol.asyncIterator]();
    const first = iterator.next();
    await iterator.return!();
    answer();
    expect(await first).toEqual({ done: true, value: undefined });
    expect(state.calls).toBe(1);
    expect(state.cancelled).toBe(1);
  });

  it("settles a read in flight when returned, though the provider ignores its abort signal", async () => {
    const { port, state } = provider([{ type: "text-delta", id: "t", delta: "a" }] as LanguageModelV4StreamPart[], { hang: true });
    const iterator = port.stream(call, new AbortController().signal)[Symbol.asyncIterator]();
    expect((iterator as { [SETTLES_ON_RETURN]?: boolean })[SETTLES_ON_RETURN]).toBe(true);
    expect(await iterator.next()).toEqual({ done: false, value: { type: "text", delta: "a" } });
    const stalled = iterator.next();
    await iterator.return!();
    expect(await stalled).toEqual({ done: true, value: undefined });
    expect(state.cancelled).toBe(1);
  });

  it("settles a call in flight when returned, before the provider answers, and closes the stream it opens later", async () => {
    let answer!: () => void;
    const { port, state } = provider([{ type: "text-delta", id: "t", delta: "late" }] as LanguageModelV4StreamPart[], { hang: true, callDelay: new Promise<void>((resolve) => (answer = resolve)) });
    const iterator = port.stream(call, new AbortController().signal)[Symbol.asyncIterator]();
    const first = iterator.next();
    await iterator.return!();
    expect(await first).toEqual({ done: true, value: undefined });
    expect(state.cancelled).toBe(0);
    answer();
    await vi.waitFor(() => expect(state.cancelled).toBe(1));
  });

  it("answers an aborted call with an AbortError, not the provider's failure", async () => {
    const controller = new AbortController();
    const { port } = provider([{ type: "error", error: new Error("socket closed") }] as LanguageModelV4StreamPart[]);
    controller.abort();
    await expect(all(port.stream(call, controller.signal))).rejects.toMatchObject({ name: "AbortError" });
  });
});

/**
 * The engine's timeouts over this port, whose steps it does not race: it returns the iterator
 * instead, so a provider that ignores its abort signal still cannot hold a node.
 */
describe("the engine's timeouts over the model port", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const document = () => {
    const parsed = parseDocument(findTemplate("prompt-chaining")!.json);
    if (!parsed.ok) throw new Error("template is invalid");
    return parsed.document;
  };

  async function run(port: ModelPort, limits: object) {
    const events: RunEvent[] = [];
    for await (const event of runWorkflow(document(), { models: port, limits: { maxAttempts: 1, ...limits } })) events.push(event);
    return events.at(-1) as RunEventOf<"run-finished">;
  }

  it("fails a node whose provider stalls mid-stream with the idle timeout", async () => {
    vi.useFakeTimers();
    const { port, state } = provider([{ type: "text-delta", id: "t", delta: "half an answer" }] as LanguageModelV4StreamPart[], { hang: true });
    const finished = run(port, { idleTimeoutMs: 2_000 });
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await finished).error?.code).toBe("timeout:idle");
    expect(state.cancelled).toBe(1);
  });

  it("fails a node whose provider never answers the call with the first-token timeout", async () => {
    vi.useFakeTimers();
    const { port, state } = provider([], { callDelay: new Promise<void>(() => undefined) });
    const finished = run(port, { firstTokenTimeoutMs: 1_500 });
    await vi.advanceTimersByTimeAsync(1_500);
    expect((await finished).error?.code).toBe("timeout:first-token");
    expect(state.calls).toBe(1);
  });
});
