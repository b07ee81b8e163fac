import { APICallError } from "@ai-sdk/provider";
import { Output, jsonSchema, streamText, type JSONSchema7 } from "ai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { findTemplate, ModelError, parseDocument, runWorkflow, TEMPLATES, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import { createModels } from ".";
import type { ModelConfig } from "../config";
import { chunkText, DemoLanguageModel, type DemoFault } from "./demo";
import { scrub, toModelError } from "./port";

const INSTANT = { firstTokenDelayMs: 0, chunkDelayMs: 0 };

function models(faults?: DemoFault[], pace = INSTANT) {
  const config: ModelConfig = { demo: { ...pace, faults }, limits: {}, coalesceMs: 0 };
  return createModels(config);
}

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error(`template ${id} is invalid`);
  return parsed.document;
}

async function runToEnd(doc: WorkflowDocument, options: { inputs?: Record<string, unknown>; faults?: DemoFault[]; limits?: object } = {}) {
  const events: RunEvent[] = [];
  for await (const event of runWorkflow(doc, { models: models(options.faults).port, inputs: options.inputs, limits: options.limits })) events.push(event);
  return { events, finished: events.at(-1) as RunEventOf<"run-finished"> };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the demo model is a real AI SDK v4 language model", () => {
  it("streams word-sized deltas that add up to its answer, with a finish reason and usage", async () => {
    const model = new DemoLanguageModel("demo:default", INSTANT);
    expect(model.specificationVersion).toBe("v4");
    const result = streamText({ model, prompt: "Write a short poem about rain.", maxRetries: 0 });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);
    expect(deltas.length).toBeGreaterThan(20);
    expect(deltas.join("")).toBe(await result.text);
    expect(await result.finishReason).toBe("stop");
    expect((await result.usage).outputTokens).toBeGreaterThan(0);
    expect(deltas.join("")).toMatch(/rain/);
  });

  it("paces its stream: first token after the configured delay, then one chunk per interval", async () => {
    vi.useFakeTimers();
    const model = new DemoLanguageModel("demo:default", { firstTokenDelayMs: 300, chunkDelayMs: 50 });
    const arrivals: number[] = [];
    const start = Date.now();
    const reading = (async () => {
      const { stream } = await model.doStream({ prompt: [{ role: "user", content: [{ type: "text", text: "Write a joke about owls." }] }] });
      for await (const part of stream as unknown as AsyncIterable<{ type: string }>) if (part.type === "text-delta") arrivals.push(Date.now() - start);
    })();
    await vi.advanceTimersByTimeAsync(10_000);
    await reading;
    expect(arrivals[0]).toBe(300);
    expect(arrivals[1]).toBe(350);
    expect(arrivals.at(-1)).toBe(300 + (arrivals.length - 1) * 50);
  });

  it("without delays, streams the same parts at once, and an aborted call fails its next read", async () => {
    const prompt = [{ role: "user" as const, content: [{ type: "text" as const, text: "Write a joke about owls." }] }];
    const parts = async (model: DemoLanguageModel) => {
      const { stream } = await model.doStream({ prompt });
      const read: unknown[] = [];
      for await (const part of stream as unknown as AsyncIterable<unknown>) read.push(part);
      return read;
    };
    // Paced by a timer of 0 ms, it pulls chunk by chunk; without delays it queues them: same parts.
    const instant = await parts(new DemoLanguageModel("demo:fast", INSTANT));
    expect(instant.map((part) => (part as { type: string }).type)).toEqual([
      "stream-start",
      "response-metadata",
      "text-start",
      ...instant.filter((part) => (part as { type: string }).type === "text-delta").map(() => "text-delta"),
      "text-end",
      "finish",
    ]);
    expect(instant.filter((part) => (part as { type: string }).type === "text-delta").length).toBeGreaterThan(5);
    const paced = await parts(new DemoLanguageModel("demo:fast", { firstTokenDelayMs: 1, chunkDelayMs: 0 }));
    expect(instant).toEqual(paced);

    const controller = new AbortController();
    const { stream } = await new DemoLanguageModel("demo:fast", INSTANT).doStream({ prompt, abortSignal: controller.signal });
    const reader = stream.getReader();
    expect((await reader.read()).value).toMatchObject({ type: "stream-start" });
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: "AbortError" });
    const aborted = await new DemoLanguageModel("demo:fast", INSTANT).doStream({ prompt, abortSignal: controller.signal });
    await expect(aborted.stream.getReader().read()).rejects.toMatchObject({ name: "AbortError" });
  });

  it("is deterministic for a prompt and topical", async () => {
    const ask = async (prompt: string) => (await streamText({ model: new DemoLanguageModel("demo:x", INSTANT), prompt, maxRetries: 0 }).text);
    expect(await ask("Write a short story about lighthouses.")).toBe(await ask("Write a short story about lighthouses."));
    expect(await ask("Write a short story about lighthouses.")).toMatch(/lighthouses/);
    expect(await ask("Write a joke about penguins.")).toMatch(/penguins/);
  });

  it("honours a structured-output schema through Output.object", async () => {
    const schema: JSONSchema7 = {
      type: "object",
      properties: { title: { type: "string" }, score: { type: "number" }, tags: { type: "array", items: { type: "string" } } },
      required: ["title", "score", "tags"],
      additionalProperties: false,
    };
    const result = streamText({ model: new DemoLanguageModel("demo:x", INSTANT), prompt: "Describe owls", output: Output.object({ schema: jsonSchema(schema) }), maxRetries: 0 });
    const object = (await result.output) as { title: string; score: number; tags: string[] };
    expect(typeof object.title).toBe("string");
    expect(typeof object.score).toBe("number");
    expect(object.tags).toHaveLength(3);
  });

  it("answers an evaluation judge's { pass, reason } by the phrases its rubric quotes", async () => {
    const schema: JSONSchema7 = { type: "object", properties: { pass: { type: "boolean" }, reason: { type: "string" } }, required: ["pass", "reason"], additionalProperties: false };
    const judge = async (prompt: string) =>
      (await streamText({ model: new DemoLanguageModel("demo:x", INSTANT), prompt, output: Output.object({ schema: jsonSchema(schema) }), maxRetries: 0 }).output) as { pass: boolean; reason: string };
    expect(await judge('Rubric: mentions "Paris"\n\nText to judge (answer):\nThe capital is paris.')).toEqual({ pass: true, reason: 'It mentions "Paris".' });
    expect(await judge('Rubric: mentions "Paris"\n\nText to judge (answer):\nThe capital is Lyon.')).toEqual({ pass: false, reason: 'It does not mention "Paris".' });
    expect(await judge("Rubric: is polite\n\nText to judge (answer):\n")).toMatchObject({ pass: false, reason: "The text is empty." });
  });

  it("keeps whitespace when chunking", () => {
    expect(chunkText("a  b\n\nc ").join("")).toBe("a  b\n\nc ");
  });
});

describe("every template runs end to end offline with the demo model", () => {
  it.each(TEMPLATES.map((t) => [t.id]))("%s", async (id) => {
    const { finished } = await runToEnd(template(id));
    expect(finished.status).toBe("succeeded");
    expect(finished.warnings).toEqual([]);
  });

  it("prompt chaining takes the gate's pass path for some topics and the improvement path for others", async () => {
    const paths = new Set<string>();
    for (const topic of ["cats", "dogs", "rain", "tax returns", "penguins", "coffee", "trains", "bicycles"]) {
      const { finished } = await runToEnd(template("prompt-chaining"), { inputs: { topic } });
      expect(finished.state.joke).toMatch(new RegExp(topic));
      paths.add(finished.state.final_joke === undefined ? "pass" : "improved");
      if (finished.state.final_joke !== undefined) {
        expect(finished.state.improved_joke).toContain(finished.state.joke as string);
        expect(finished.state.final_joke).toContain(finished.state.improved_joke as string);
      }
    }
    expect(paths).toEqual(new Set(["pass", "improved"]));
  });

  it("parallelization ends with joke, story, poem and their combination", async () => {
    const { finished, events } = await runToEnd(template("parallelization"), { inputs: { topic: "volcanoes" } });
    expect(Object.keys(finished.state).sort()).toEqual(["combined_output", "joke", "poem", "story", "topic"]);
    expect(finished.state.combined_output).toContain(finished.state.story as string);
    const started = events.filter((e) => e.type === "node-started" && ["n_joke", "n_story", "n_poem"].includes(e.nodeId));
    const firstFinish = events.findIndex((e) => e.type === "node-finished" && ["n_joke", "n_story", "n_poem"].includes(e.nodeId));
    expect(started.every((e) => events.indexOf(e) < firstFinish)).toBe(true);
  });

  it.each([
    ["Write me a joke about cats", "joke"],
    ["Tell me a story about a dragon", "story"],
    ["I would love a poem about autumn leaves", "poem"],
  ])("routing sends %j to %s and skips the others", async (request, route) => {
    const { finished, events } = await runToEnd(template("routing"), { inputs: { input: request } });
    expect(finished.state.decision).toBe(route);
    expect(finished.outputs).toEqual({ decision: route, output: expect.any(String) });
    expect(events.filter((e) => e.type === "node-skipped")).toHaveLength(2);
  });

  it("orchestrator-worker plans 3–6 sections, writes one per section and joins them with blank lines", async () => {
    const { finished, events } = await runToEnd(template("orchestrator-worker"), { inputs: { topic: "solar power" } });
    const sections = finished.state.sections as Array<{ name: string }>;
    expect(sections.length).toBeGreaterThanOrEqual(3);
    expect(sections.length).toBeLessThanOrEqual(6);
    const done = finished.state.completed_sections as string[];
    expect(done).toHaveLength(sections.length);
    expect(events.filter((e) => e.type === "node-started" && e.nodeId === "n_write" && e.instance !== undefined)).toHaveLength(sections.length);
    const report = finished.state.final_report as string;
    expect(report).toBe(done.join("\n\n"));
    for (const heading of report.matchAll(/#{1,6} /g)) expect(heading.index === 0 || report.slice(heading.index - 2, heading.index) === "\n\n").toBe(true);
    expect(report).not.toMatch(/\[[a-z][^\]]*\]/i);
    // The conclusion was written after, and about, the other sections.
    const conclusion = done.at(-1)!;
    expect(conclusion).toMatch(/^## Conclusion/);
    for (const section of sections.slice(0, -1)) expect(conclusion).toContain(section.name);
  });

  it("evaluator-optimizer fails the first draft with concrete feedback and passes the revision", async () => {
    const { finished, events } = await runToEnd(template("evaluator-optimizer"), { inputs: { topic: "owls" } });
    const grades = events.filter((e): e is RunEventOf<"node-finished"> => e.type === "node-finished" && e.nodeId === "n_grade");
    expect(grades.map((g) => g.ports)).toEqual([["revise"], ["pass"]]);
    expect((grades[0].output as { feedback: string }).feedback).toMatch(/tag line/);
    expect(finished.outputs).toMatchObject({ funny_or_not: "pass", joke: expect.stringMatching(/owls/) });
  });
});

describe("fault injection", () => {
  const joke = () => template("evaluator-optimizer");

  it("a 429 with Retry-After is retried after the delay it names", async () => {
    vi.useFakeTimers();
    const done = runToEnd(joke(), { faults: [{ kind: "rate-limit", times: 1, retryAfterSeconds: 2 }] });
    await vi.advanceTimersByTimeAsync(2_000);
    const { finished, events } = await done;
    expect(events.filter((e) => e.type === "node-retry")).toEqual([expect.objectContaining({ delayMs: 2_000, code: "rate-limited" })]);
    expect(finished.status).toBe("succeeded");
  });

  it("a 500 on every call fails the node after its attempts, naming the provider", async () => {
    vi.useFakeTimers();
    const done = runToEnd(joke(), { faults: [{ kind: "server-error", match: "Write a joke" }] });
    await vi.advanceTimersByTimeAsync(60_000);
    const { finished, events } = await done;
    expect(events.filter((e) => e.type === "node-retry")).toHaveLength(2);
    expect(finished.status).toBe("failed");
    expect(finished.error?.message).toMatch(/HTTP 500.*model demo:default, provider demo.*gave up after 3 attempts/);
  });

  it("a hung provider becomes a first-token timeout", async () => {
    vi.useFakeTimers();
    const done = runToEnd(joke(), { faults: [{ kind: "hang" }], limits: { maxAttempts: 1, firstTokenTimeoutMs: 1_500 } });
    await vi.advanceTimersByTimeAsync(1_500);
    const { finished } = await done;
    expect(finished.error?.code).toBe("timeout:first-token");
  });

  it("a stream cut mid-way fails the node instead of passing off half an answer", async () => {
    const { finished, events } = await runToEnd(joke(), { faults: [{ kind: "cut" }], limits: { maxAttempts: 1 } });
    expect(events.some((e) => e.type === "node-delta" && e.nodeId === "n_joke")).toBe(true);
    expect(finished.status).toBe("failed");
    expect(finished.error?.code).toBe("stream-incomplete");
    expect(finished.state.joke).toBeUndefined();
  });
});

describe("errors that leave the server never carry a key", () => {
  it("scrubs configured secrets and key-shaped strings from provider messages", () => {
    const error = new APICallError({
      message: "Incorrect API key provided: sk-proj-abcdefghijklmnop. Authorization: Bearer sk-secret-123456",
      url: "https://api.example.com/v1?key=AIzaSyA-1234567890abcdefghijk",
      requestBodyValues: {},
      statusCode: 401,
    });
    const mapped = toModelError(error, ["sk-secret-123456"]);
    expect(mapped).toBeInstanceOf(ModelError);
    expect(mapped.message).not.toMatch(/sk-proj|sk-secret|AIza/);
    expect((mapped as ModelError).code).toBe("auth");
    expect(scrub("key=AIzaSyA-1234567890abcdefghijk", [])).not.toContain("AIza");
  });
});
