import { describe, expect, it } from "vitest";
import { parseDocument, type WorkflowDocument } from "../schema";
import { findTemplate } from "../templates";
import { input, llm, workflow } from "../testing/build";
import { validateWorkflow } from "../validate";
import { adviseWorkflow } from "./advise";

/** The advisor on the five templates and on hand-drawn documents. */

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error(id);
  return parsed.document;
}

const out = (keys: string[]) => ({ id: "out", kind: "output", config: { keys } }) as const;

/** input → a → b → c → out, where nobody reads anybody's output but the output node. */
const needlessChain = () =>
  workflow([input, llm("a", "Write a joke about {{topic}}."), llm("b", "Write a story about {{topic}}."), llm("c", "Write a poem about {{topic}}."), out(["a", "b", "c"])], ["in->a", "a->b", "b->c", "c->out"]);

describe("the dependency analysis of the templates", () => {
  it.each([
    ["prompt-chaining", "sequential"],
    ["evaluator-optimizer", "sequential"],
    ["parallelization", "parallel"],
    ["routing", "sequential"],
    ["orchestrator-worker", "hierarchical"],
  ])("%s is %s by what its steps read", (id, topology) => {
    expect(adviseWorkflow(template(id)).analysis?.topology).toBe(topology);
  });

  it("prompt chaining is sequential for real: each step reads the one before", () => {
    const { analysis, advice } = adviseWorkflow(template("prompt-chaining"));
    expect(analysis?.dependencies).toEqual([
      ["n_joke", "n_improve"],
      ["n_improve", "n_polish"],
    ]);
    expect(advice).toEqual([]);
  });

  it("evaluator-optimizer reads its draft in the grader, and the loop's feedback does not count as a dependency", () => {
    expect(adviseWorkflow(template("evaluator-optimizer")).analysis?.dependencies).toEqual([["n_joke", "n_grade"]]);
  });

  it("parallelization's three writers depend on nothing but the input", () => {
    const { analysis } = adviseWorkflow(template("parallelization"));
    expect(analysis).toMatchObject({ dependencies: [], metrics: { width: 3, depth: 1 } });
  });
});

describe("parallelisable chains", () => {
  it("finds steps chained by edges that do not read each other, and offers a rewired document", () => {
    const doc = needlessChain();
    const [advice] = adviseWorkflow(doc).advice;
    expect(advice).toMatchObject({ kind: "parallelisable", nodes: ["a", "b", "c"] });
    expect(advice.evidence).toContain("“b” waits for “a” but reads {{topic}}");
    expect(advice.evidence).toContain("drops from 3 to 1");
    expect(advice.fix?.changes).toEqual(["remove “a” → “b”", "remove “b” → “c”", "connect “in” → “b”", "connect “in” → “c”", "connect “a” → “out”", "connect “b” → “out”"]);
    const fixed = advice.fix!.document;
    expect(validateWorkflow(fixed).filter((i) => i.severity === "error")).toEqual([]);
    expect(adviseWorkflow(fixed).advice).toEqual([]);
    // The advisor never changes what it is given.
    expect(doc).toEqual(needlessChain());
  });

  it("states the saving from the last run's node durations", () => {
    const [advice] = adviseWorkflow(needlessChain(), { durations: { a: 4_100, b: 3_900, c: 3_800 } }).advice;
    expect(advice.evidence).toContain("it would have taken 4.1 s instead of 11.8 s");
  });

  it("keeps the edges a step needs, even through a node that calls no model", () => {
    const doc = workflow(
      [input, llm("a"), { id: "j", kind: "aggregate", config: { outputKey: "j" } }, llm("b", "Use {{j}}"), out(["b"])],
      ["in->a", "a->j", "j->b", "b->out"],
    );
    expect(adviseWorkflow(doc).advice).toEqual([]);
  });

  it("leaves the branches after a gate alone: their edges decide whether they run", () => {
    expect(adviseWorkflow(template("prompt-chaining")).advice).toEqual([]);
    expect(adviseWorkflow(template("routing")).advice).toEqual([]);
  });
});

describe("unchecked parallel merges", () => {
  it("notes the error-amplification finding and offers a verifying step", () => {
    const doc = template("parallelization");
    const [advice] = adviseWorkflow(doc).advice;
    expect(advice).toMatchObject({ kind: "unchecked-merge", nodes: ["n_aggregate", "n_joke", "n_story", "n_poem"] });
    expect(advice.source.finding).toMatch(/17×.*4×/);
    const fixed = advice.fix!.document;
    expect(validateWorkflow(fixed).filter((i) => i.severity === "error")).toEqual([]);
    const aggregate = fixed.nodes.find((n) => n.id === "n_aggregate");
    expect(aggregate?.kind === "aggregate" && aggregate.config.agreement).toEqual({ key: "agreement" });
    expect(fixed.nodes.find((n) => n.id === "n_verify")).toMatchObject({ kind: "synthesizer", config: { mode: "llm", from: "combined_output", outputKey: "verified_combined_output" } });
    expect(fixed.edges.find((e) => e.target === "n_output")?.source).toBe("n_verify");
    expect(fixed.nodes.find((n) => n.id === "n_output")).toMatchObject({ config: { keys: ["verified_combined_output"] }, position: { x: 1440 } });
    expect(adviseWorkflow(fixed).advice).toEqual([]);
  });

  it("is quiet when the merge checks agreement or a synthesizer verifies it", () => {
    const doc = template("parallelization");
    const checked = { ...doc, nodes: doc.nodes.map((n) => (n.kind === "aggregate" ? { ...n, config: { ...n.config, agreement: { key: "agreement" } } } : n)) };
    expect(adviseWorkflow(checked).advice).toEqual([]);
  });
});

describe("redundant fan-outs", () => {
  it("flags near-identical sibling prompts to the same model", () => {
    const doc = workflow(
      [input, llm("a", "Summarise the main risks of {{topic}}."), llm("b", "Summarise the main risks of {{topic}} briefly."), llm("c", "Write a poem about {{topic}}."), { id: "j", kind: "aggregate", config: { outputKey: "j", agreement: { key: "agreement" } } }],
      ["in->a", "in->b", "in->c", "a->j", "b->j", "c->j"],
    );
    const advice = adviseWorkflow(doc).advice;
    expect(advice).toHaveLength(1);
    expect(advice[0]).toMatchObject({ kind: "redundant-fanout", nodes: ["a", "b"] });
  });

  it("does not flag the same instructions over different items, or different temperatures", () => {
    const doc = workflow(
      [input, llm("a", "Research Paris for {{topic}}."), llm("b", "Research Rome for {{topic}}."), llm("c", "Research Rome for {{topic}}.", { temperature: 1 }), { id: "j", kind: "aggregate", config: { outputKey: "j", agreement: { key: "agreement" } } }],
      ["in->a", "in->b", "in->c", "a->j", "b->j", "c->j"],
    );
    expect(adviseWorkflow(doc).advice).toEqual([]);
  });
});

it("says what to fix first when the document does not validate", () => {
  const doc = workflow([input, llm("a", "{{missing}}")], ["in->a"]);
  expect(adviseWorkflow(doc)).toEqual({ analysis: null, advice: [], blocked: "Fix the workflow's 1 issue first: advice needs a valid graph." });
});
