import { describe, expect, it } from "vitest";
import { createModels } from "@/lib/server/models";
import { ModelError, type ModelPort } from "../engine/model-port";
import { input, llm, workflow } from "../testing/build";
import { assertionProblems, checkAssertion, parseAssertions, resolveAssertions, type EvalServices } from "./assertions";
import { createPortEmbedder } from "./embed";
import { createModelJudge } from "./judge";
import type { Assertion, DatasetRow, RowRun } from "./types";

const doc = workflow(
  [
    input,
    llm("answer", "Answer {{topic}}"),
    llm("profile", "Describe {{topic}}", { output: { type: "fields", fields: [{ name: "name", type: "string" }, { name: "age", type: "number" }] } }),
    { id: "out", kind: "output", config: { keys: ["answer", "profile"] } },
  ],
  ["in->answer", "in->profile", "answer->out", "profile->out"],
);

const row: DatasetRow = { id: "r1", inputs: { topic: "France" }, expected: { answer: "The capital of France is Paris." } };
const run = (outputs: Record<string, unknown>, extra: Partial<RowRun> = {}): RowRun => ({
  runId: "run1",
  status: "succeeded",
  outputs,
  state: { topic: "France", ...outputs },
  usage: { inputTokens: 10, outputTokens: 5 },
  ms: 100,
  ...extra,
});
const check = (assertion: Assertion, outputs: Record<string, unknown>, services?: EvalServices) => checkAssertion(assertion, { row, run: run(outputs) }, services);
const base = { id: "a1", key: "answer" } as const;

describe("each assertion kind passes and fails with a reason", () => {
  it("equals: the given value, or the row's expected one; trims; ignoreCase", async () => {
    expect(await check({ ...base, kind: "equals", value: "Paris" }, { answer: " Paris\n" })).toEqual({ assertionId: "a1", pass: true, reason: 'equals "Paris"' });
    expect(await check({ ...base, kind: "equals", value: "Paris" }, { answer: "paris" })).toEqual({ assertionId: "a1", pass: false, reason: 'expected "Paris"; got "paris"' });
    expect((await check({ ...base, kind: "equals", value: "Paris", ignoreCase: true }, { answer: "paris" })).pass).toBe(true);
    expect((await check({ ...base, kind: "equals" }, { answer: "The capital of France is Paris." })).pass).toBe(true);
    expect((await check({ ...base, kind: "equals", value: "Paris", trim: false }, { answer: " Paris" })).pass).toBe(false);
  });

  it("contains and not_contains", async () => {
    expect(await check({ ...base, kind: "contains", value: "Paris" }, { answer: "It is Paris." })).toMatchObject({ pass: true, reason: 'contains "Paris"' });
    expect(await check({ ...base, kind: "contains", value: "Paris" }, { answer: "It is Lyon." })).toMatchObject({ pass: false, reason: 'expected to contain "Paris"; it does not' });
    expect((await check({ ...base, kind: "contains", value: "PARIS", ignoreCase: true }, { answer: "paris" })).pass).toBe(true);
    expect(await check({ ...base, kind: "not_contains", value: "sorry" }, { answer: "Sorry, I cannot" })).toMatchObject({ pass: true });
    expect(await check({ ...base, kind: "not_contains", value: "Sorry" }, { answer: "Sorry, I cannot" })).toMatchObject({ pass: false, reason: 'expected not to contain "Sorry"; it does' });
  });

  it("matches, on the linear-time engine", async () => {
    expect(await check({ ...base, kind: "matches", pattern: "^\\d{4}-\\d{2}$" }, { answer: "2024-05" })).toMatchObject({ pass: true, reason: "matches /^\\d{4}-\\d{2}$/" });
    expect(await check({ ...base, kind: "matches", pattern: "^\\d{4}$" }, { answer: "May" })).toMatchObject({ pass: false, reason: "expected to match /^\\d{4}$/; it does not" });
    expect((await check({ ...base, kind: "matches", pattern: "^may$", ignoreCase: true }, { answer: "May" })).pass).toBe(true);
  });

  it("length_between, in characters, either bound optional", async () => {
    expect(await check({ ...base, kind: "length_between", max: 500 }, { answer: "x".repeat(812) })).toMatchObject({ pass: false, reason: "length 812 is above 500" });
    expect(await check({ ...base, kind: "length_between", min: 10 }, { answer: "short" })).toMatchObject({ pass: false, reason: "length 5 is below 10" });
    expect(await check({ ...base, kind: "length_between", min: 1, max: 10 }, { answer: "short" })).toMatchObject({ pass: true, reason: "length 5 is within 1–10" });
  });

  it("schema: the writing node's fields, or the assertion's own; JSON text is read as an object", async () => {
    const [fromNode] = resolveAssertions([{ id: "s", key: "profile", kind: "schema" }], doc);
    expect(await check(fromNode, { profile: { name: "Ada", age: 36 } })).toMatchObject({ pass: true, reason: "fits the schema (name, age)" });
    expect(await check(fromNode, { profile: { name: "Ada", age: "old" } })).toMatchObject({ pass: false, reason: '"age" must be number' });
    expect(await check(fromNode, { profile: { name: "Ada" } })).toMatchObject({ pass: false, reason: '"age" is missing' });
    expect(await check(fromNode, { profile: { name: "Ada", age: 1, extra: true } })).toMatchObject({ pass: false, reason: 'unexpected field "extra"' });
    const own: Assertion = { id: "s", key: "answer", kind: "schema", fields: [{ name: "city", type: "string" }] };
    expect(await check(own, { answer: '{"city":"Paris"}' })).toMatchObject({ pass: true });
    expect(await check(own, { answer: "Paris" })).toMatchObject({ pass: false, reason: '"answer" is text, not a JSON object' });
  });

  it("similar, lexical: to the reference or the row's expected value, with its score", async () => {
    const close = await check({ ...base, kind: "similar", threshold: 0.5 }, { answer: "Paris is the capital of France." });
    expect(close.pass).toBe(true);
    expect(close.score).toBeGreaterThan(0.9);
    expect(close.reason).toMatch(/^similarity 1 reaches 0\.5 \(lexical\)$/);
    const far = await check({ ...base, kind: "similar", threshold: 0.5, reference: "Bananas are yellow fruit." }, { answer: "Paris is the capital of France." });
    expect(far).toMatchObject({ pass: false, score: 0, reason: "similarity 0 is below 0.5 (lexical)" });
  });

  it("similar, embedding: cosine of the injected embedder's vectors", async () => {
    const embed: EvalServices["embed"] = async (texts) => texts.map((text) => (text.includes("Paris") ? [1, 0] : [0.6, 0.8]));
    const assertion: Assertion = { ...base, kind: "similar", threshold: 0.9, method: "embedding", reference: "Paris" };
    expect(await check(assertion, { answer: "Paris!" }, { embed })).toMatchObject({ pass: true, score: 1 });
    expect(await check(assertion, { answer: "Lyon" }, { embed })).toMatchObject({ pass: false, score: 0.6, reason: "similarity 0.6 is below 0.9 (embedding)" });
  });

  it("similar, embedding: through the model port's demo:embed (identical texts score 1, unrelated ones less)", async () => {
    const { port } = createModels({ demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 });
    const embed = createPortEmbedder(port);
    const assertion: Assertion = { ...base, kind: "similar", threshold: 0.99, method: "embedding" };
    const same = await check(assertion, { answer: "The capital of France is Paris." }, { embed });
    expect(same).toMatchObject({ pass: true, reason: "similarity 1 reaches 0.99 (embedding)" });
    const other = await check(assertion, { answer: "Bananas are yellow." }, { embed });
    expect(other.pass).toBe(false);
    expect(other.score).toBeLessThan(0.5);
    expect(createPortEmbedder({ stream: port.stream.bind(port) })).toBeUndefined();
  });

  it("similar, embedding: the verdict carries the tokens demo:embed counted and its model, even when the vectors are unusable", async () => {
    const { port } = createModels({ demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 });
    const assertion: Assertion = { ...base, kind: "similar", threshold: 0.5, method: "embedding", reference: "Paris" };
    // "Paris" (5 characters) and "Paris" each count 2 tokens.
    expect(await check(assertion, { answer: "Paris" }, { embed: createPortEmbedder(port) })).toMatchObject({ pass: true, model: "demo:embed", usage: { inputTokens: 4, outputTokens: 0 } });
    const broken: EvalServices["embed"] = async () => ({ embeddings: [[1, 0]], model: "openai:text-embedding-3-small", usage: { inputTokens: 9, outputTokens: 0 } });
    expect(await check(assertion, { answer: "Paris" }, { embed: broken })).toMatchObject({ pass: false, error: true, model: "openai:text-embedding-3-small", usage: { inputTokens: 9, outputTokens: 0 } });
  });

  it("judge: the demo model's structured { pass, reason } through the model port", async () => {
    const { port } = createModels({ demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 });
    const judge = createModelJudge(port, "demo:fast");
    const assertion: Assertion = { ...base, kind: "judge", rubric: 'Names the capital, "Paris".' };
    const passed = await check(assertion, { answer: "It is Paris." }, { judge });
    expect(passed).toMatchObject({ assertionId: "a1", pass: true, score: 1, reason: 'It mentions "Paris".', model: "demo:fast" });
    expect(passed.usage!.inputTokens).toBeGreaterThan(0);
    expect(await check(assertion, { answer: "It is Lyon." }, { judge })).toMatchObject({ assertionId: "a1", pass: false, score: 0, reason: 'It does not mention "Paris".' });
  });

  it("a missing key and a run that did not succeed fail every kind, the latter with the run's error", async () => {
    expect(await check({ ...base, kind: "contains", value: "x" }, {})).toMatchObject({ pass: false, reason: 'the run produced no "answer"' });
    const failed = run({}, { status: "failed", error: { code: "server-error", message: "the provider failed" } });
    expect(await checkAssertion({ ...base, kind: "not_contains", value: "x" }, { row, run: failed })).toEqual({ assertionId: "a1", pass: false, reason: "the run failed: the provider failed" });
  });
});

describe("judge and embedding failures are failing verdicts, never crashes", () => {
  it("a judge whose call fails", async () => {
    const failing: ModelPort = {
      // eslint-disable-next-line require-yield
      async *stream() {
        throw new ModelError("auth", "the provider refused this server's credentials");
      },
    };
    const verdict = await check({ ...base, kind: "judge", rubric: "Is correct." }, { answer: "Paris" }, { judge: createModelJudge(failing, "openai:gpt-4o-mini") });
    expect(verdict).toEqual({ assertionId: "a1", pass: false, error: true, reason: "the judge failed: the provider refused this server's credentials" });
  });

  it("a judge whose answer is not { pass, reason }", async () => {
    const wrong: ModelPort = {
      async *stream() {
        yield { type: "finish", finishReason: "stop", object: { verdict: "yes" } };
      },
    };
    const verdict = await check({ ...base, kind: "judge", rubric: "Is correct." }, { answer: "Paris" }, { judge: createModelJudge(wrong, "openai:gpt-4o-mini") });
    expect(verdict).toMatchObject({ pass: false, error: true, reason: "the judge failed: the judge (openai:gpt-4o-mini) answered without a pass/fail and a reason" });
  });

  it("no judge, no embedder, an embedder that throws or returns the wrong shape", async () => {
    expect(await check({ ...base, kind: "judge", rubric: "x" }, { answer: "a" })).toMatchObject({ pass: false, error: true, reason: "no judge model is available" });
    const embedding: Assertion = { ...base, kind: "similar", threshold: 0.5, method: "embedding", reference: "a" };
    expect(await check(embedding, { answer: "a" })).toMatchObject({ pass: false, error: true, reason: "no embedding model is configured" });
    const throwing: EvalServices = { embed: async () => Promise.reject(new Error("timed out")) };
    expect(await check(embedding, { answer: "a" }, throwing)).toMatchObject({ pass: false, error: true, reason: "the embedding model failed: timed out" });
    const ragged: EvalServices = { embed: async () => [[1, 0], [1]] };
    expect(await check(embedding, { answer: "a" }, ragged)).toMatchObject({ pass: false, error: true, reason: "the embedding model failed: the embedding vectors differ in length (2 and 1)" });
  });

  it("equals or similar with no value and no expected value is an error verdict", async () => {
    const bare: DatasetRow = { id: "r2", inputs: {} };
    expect(await checkAssertion({ ...base, kind: "similar", threshold: 0.5 }, { row: bare, run: run({ answer: "x" }) })).toMatchObject({
      pass: false,
      error: true,
      reason: 'no reference: the assertion has none and the row has no expected "answer"',
    });
  });
});

describe("bad configurations are refused with a path", () => {
  it("names each problem: unknown key, pattern, bounds, schema without fields, duplicate ids, embeddings unavailable", () => {
    const assertions: Assertion[] = [
      { id: "k", key: "anwser", kind: "contains", value: "x" },
      { id: "p", key: "answer", kind: "matches", pattern: "(a)\\1" },
      { id: "b", key: "answer", kind: "length_between" },
      { id: "m", key: "answer", kind: "length_between", min: 10, max: 5 },
      { id: "s", key: "answer", kind: "schema" },
      { id: "k", key: "answer", kind: "contains", value: "y" },
      { id: "e", key: "answer", kind: "similar", threshold: 0.5, method: "embedding" },
    ];
    const issues = assertionProblems(assertions, doc);
    expect(issues.map((i) => [i.path, i.code])).toEqual([
      ["assertions[0].key", "unknown-output-key"],
      ["assertions[1].pattern", "invalid-pattern"],
      ["assertions[2]", "missing-bounds"],
      ["assertions[3].min", "invalid-bounds"],
      ["assertions[4].fields", "missing-fields"],
      ["assertions[5].id", "duplicate-assertion-id"],
      ["assertions[6].method", "no-embedding-model"],
    ]);
    expect(issues[0].message).toBe('"anwser" is not produced by this workflow (it produces answer, profile, topic)');
    expect(issues[3].message).toBe("min (10) is above max (5)");
    expect(assertionProblems([assertions[6]], doc, { canEmbed: true })).toEqual([]);
  });

  it("accepts keys the workflow produces: inputs, node writes, output keys; schema on a fields node", () => {
    const fine: Assertion[] = [
      { id: "t", key: "topic", kind: "contains", value: "a" },
      { id: "s", key: "profile", kind: "schema" },
      { id: "l", key: "answer", kind: "length_between", min: 1 },
    ];
    expect(assertionProblems(fine, doc)).toEqual([]);
  });

  it("parseAssertions reads an array or { assertions }, and names schema errors by path", () => {
    const list = [{ id: "c", kind: "contains", key: "answer", value: "Paris" }];
    expect(parseAssertions(list, doc)).toEqual({ ok: true, assertions: list });
    expect(parseAssertions({ assertions: list }, doc)).toEqual({ ok: true, assertions: list });
    const bad = parseAssertions([{ id: "c", kind: "contains", key: "answer" }, { id: "x", kind: "regex", key: "answer" }], doc);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues.map((i) => i.path)).toEqual(["assertions[0].value", "assertions[1].kind"]);
    const notList = parseAssertions({ kind: "contains" }, doc);
    expect(!notList.ok && notList.issues[0].message).toMatch(/^must be a list of assertions/);
  });
});
