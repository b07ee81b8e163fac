import { describe, expect, it } from "vitest";
import type { WorkflowDocument } from "../schema";
import { input, llm, workflow } from "../testing/build";
import { scriptedModel, type Script } from "../testing/scripted-model";
import { VirtualClock } from "../testing/virtual-clock";
import type { RunEvent, RunEventOf } from "./events";
import { ModelError, type ModelCall } from "./model-port";
import { planReuse, type ReuseMode, type ReusePlan } from "./reuse";
import { runWorkflow, type RunOptions } from "./run";

/** One scripted model for a whole test: the earlier run and the run from a node share its call log. */
function setup(script: (call: ModelCall, index: number) => Script) {
  const clock = new VirtualClock();
  const model = scriptedModel(clock, script);
  let runs = 0;
  const run = async (doc: WorkflowDocument, options: Partial<RunOptions> = {}) => {
    const events: RunEvent[] = [];
    const runId = `run-${++runs}`;
    await clock.drive(
      (async () => {
        for await (const event of runWorkflow(doc, { models: model.port, clock, random: () => 0.5, runId, ...options })) events.push(event);
      })(),
    );
    const finished = events.at(-1) as RunEventOf<"run-finished">;
    return { runId, events, finished, of: <T extends RunEvent["type"]>(type: T) => events.filter((e): e is RunEventOf<T> => e.type === type) };
  };
  /** Plans from `earlier` and runs it; the calls made by this run alone are returned. */
  const runFrom = async (doc: WorkflowDocument, earlier: { runId: string; events: RunEvent[] }, from: string[], earlierDoc = doc, mode?: ReuseMode) => {
    const planned = planReuse({ document: doc, earlier: { runId: earlier.runId, document: earlierDoc, events: earlier.events }, from, mode });
    if (!planned.ok) throw new Error(planned.message);
    const before = model.calls.length;
    const result = await run(doc, { inputs: planned.plan.inputs, reuse: planned.plan.reuse });
    return { ...result, plan: planned.plan, calls: model.calls.slice(before) };
  };
  return { model, run, runFrom };
}

const tag = (call: ModelCall) => /\((\w+)\)/.exec(call.prompt)?.[1] ?? "";
const plain = (plan: ReusePlan) => ({ rerun: plan.rerun, reused: plan.reused, stale: plan.stale.map((s) => s.nodeId), suggestedFrom: plan.suggestedFrom });

describe("run from a node: which nodes run again", () => {
  const chain = workflow([input, llm("a"), llm("b", "Use {{a}} (b)"), llm("c", "Use {{b}} (c)")], ["in->a", "a->b", "b->c"]);

  it("re-runs the node and what is downstream, answers the rest from the earlier run without calling the model", async () => {
    let n = 0;
    const { run, runFrom } = setup((call) => ({ latency: 10, text: `${tag(call)}${++n}` }));
    const first = await run(chain);
    expect(first.finished.state).toEqual({ topic: "cats", a: "a1", b: "b2", c: "c3" });
    const again = await runFrom(chain, first, ["b"]);
    expect(plain(again.plan)).toEqual({ rerun: ["b", "c"], reused: ["in", "a"], stale: [], suggestedFrom: undefined });
    expect(again.calls.map(tag)).toEqual(["b", "c"]);
    expect(again.calls[0].prompt).toBe("Use a1 (b)");
    expect(again.finished.state).toEqual({ topic: "cats", a: "a1", b: "b4", c: "c5" });
    expect(again.finished.calls).toBe(2);
    // Reused nodes never start: they finish at once, marked with the run they came from, unbilled.
    expect(again.of("node-started").map((e) => e.nodeId)).toEqual(["b", "c"]);
    const reused = again.of("node-finished").find((e) => e.nodeId === "a")!;
    expect(reused).toMatchObject({ reused: { runId: first.runId }, output: { a: "a1" }, usage: { inputTokens: 0, outputTokens: 0 } });
    expect(again.of("run-started")[0].reuse).toMatchObject({ runId: first.runId, from: ["b"], reused: ["in", "a"] });
  });

  it("reuses parallel siblings that are not downstream of the start node, and re-runs the join", async () => {
    let n = 0;
    const { run, runFrom } = setup((call) => ({ latency: 10, text: `${tag(call)}${++n}` }));
    const doc = workflow(
      [input, llm("A", "(A)"), llm("B", "(B)"), llm("C", "(C)"), { id: "join", kind: "aggregate", config: { outputKey: "all" } }],
      ["in->A", "in->B", "in->C", "A->join", "B->join", "C->join"],
    );
    const first = await run(doc);
    const again = await runFrom(doc, first, ["B"]);
    expect(plain(again.plan)).toMatchObject({ rerun: ["B", "join"], reused: ["in", "A", "C"] });
    expect(again.calls.map(tag)).toEqual(["B"]);
    expect(again.finished.state.all).toBe(`A:\n${first.finished.state.A}\n\nB:\nB4\n\nC:\n${first.finished.state.C}`);
  });

  it("re-runs nodes that did not finish in the earlier run (a failed branch's cancelled siblings), and what they feed", async () => {
    let failing = true;
    const { run, runFrom } = setup((call) =>
      tag(call) === "A" && failing ? { latency: 5, error: new ModelError("bad-request", "no") } : { latency: tag(call) === "A" ? 5 : 50, text: tag(call) },
    );
    const doc = workflow(
      [input, llm("A", "(A)"), llm("B", "(B)"), { id: "join", kind: "aggregate", config: { outputKey: "all" } }],
      ["in->A", "in->B", "A->join", "B->join"],
    );
    const first = await run(doc);
    expect(first.finished.status).toBe("failed");
    failing = false;
    const again = await runFrom(doc, first, ["A"]);
    expect(again.plan.unfinished).toEqual(["B"]);
    expect(again.plan.rerun).toEqual(["A", "B", "join"]);
    expect(again.finished.status).toBe("succeeded");
  });

  it("refuses to start from a node whose branch was not taken (it would be skipped again)", async () => {
    const { run } = setup((call) => (call.schema ? { object: { route: "x", reason: "r" } } : { text: tag(call) }));
    const doc = workflow(
      [input, { id: "route", kind: "router", config: { outputKey: "decision", prompt: "{{topic}}", routes: [{ name: "x", description: "x" }, { name: "y", description: "y" }] } }, llm("X", "(X)"), llm("Y", "(Y)")],
      ["in->route", "route:x->X", "route:y->Y"],
    );
    const first = await run(doc);
    const planned = planReuse({ document: doc, earlier: { runId: first.runId, document: doc, events: first.events }, from: ["Y"] });
    expect(planned).toMatchObject({ ok: false, code: "not-reached", nodeId: "Y" });
    // Dead-path elimination skips it again when running from the router's downstream sibling.
    const fromX = planReuse({ document: doc, earlier: { runId: first.runId, document: doc, events: first.events }, from: ["X"] });
    expect(fromX.ok && fromX.plan.reused).toEqual(["in", "route"]);
  });
});

describe("stale upstream outputs", () => {
  const chain = workflow([input, llm("a"), llm("b", "Use {{a}} (b)"), llm("c", "Use {{b}} (c)")], ["in->a", "a->b", "b->c"]);

  it("names reused nodes whose prompt changed and suggests starting from the earliest change", async () => {
    const { run } = setup((call) => ({ text: tag(call) }));
    const first = await run(chain);
    const edited = structuredClone(chain);
    (edited.nodes[1].config as { prompt: string }).prompt = "Something else about {{topic}} (a)";
    const planned = planReuse({ document: edited, earlier: { runId: first.runId, document: chain, events: first.events }, from: ["c"] });
    expect(planned.ok && planned.plan.stale).toEqual([{ nodeId: "a", label: "a", why: "its prompt changed" }]);
    expect(planned.ok && planned.plan.suggestedFrom).toEqual(["a", "c"]);
    // Downstream edits are not stale: they run again anyway. Labels and positions never matter.
    const cosmetic = structuredClone(chain);
    cosmetic.nodes[1] = { ...cosmetic.nodes[1], label: "Renamed", position: { x: 5, y: 5 } };
    (cosmetic.nodes[3].config as { prompt: string }).prompt = "New {{b}} (c)";
    const clean = planReuse({ document: cosmetic, earlier: { runId: first.runId, document: chain, events: first.events }, from: ["c"] });
    expect(clean.ok && clean.plan.stale).toEqual([]);
  });

  it("names rewired nodes and a changed default model; only the earliest of a chain of changes is suggested", async () => {
    const { run } = setup((call) => ({ text: tag(call) }));
    const doc = workflow([input, llm("a"), llm("b", "(b)"), llm("c", "Use {{b}} (c)")], ["in->a", "in->b", "b->c"]);
    const first = await run(doc);
    const rewired = structuredClone(doc);
    rewired.edges = rewired.edges.map((e) => (e.target === "b" ? { ...e, source: "a" } : e));
    rewired.settings = { defaultModel: "demo:fast" };
    const planned = planReuse({ document: rewired, earlier: { runId: first.runId, document: doc, events: first.events }, from: ["c"] });
    if (!planned.ok) throw new Error(planned.message);
    expect(planned.plan.stale.map((s) => `${s.nodeId}: ${s.why}`)).toEqual(["a: its model changed (demo:default → demo:fast)", "b: its inputs were rewired"]);
    expect(planned.plan.suggestedFrom).toEqual(["a", "c"]);
  });
});

describe("loops", () => {
  const looped = workflow(
    [
      input,
      llm("joke", "Joke about {{topic}}{{#feedback}} with feedback: {{feedback}}{{/feedback}} (joke)"),
      { id: "grade", kind: "evaluator", config: { key: "joke", gradeKey: "verdict", feedbackKey: "feedback", criteria: "funny", maxIterations: 3 } },
      llm("after", "Polish {{joke}} (after)"),
    ],
    ["in->joke", "joke->grade", "grade:revise->joke", "grade:pass->after"],
  );

  it("starting at the loop head re-runs the loop's current iteration: the feedback it had, and its pass number", async () => {
    let grades = 0;
    let drafts = 0;
    const { run, runFrom } = setup((call) =>
      call.schema ? { object: ++grades === 2 ? { grade: "pass", feedback: "good" } : { grade: "fail", feedback: `fix ${grades}` } } : { text: tag(call) === "joke" ? `draft ${++drafts}` : "polished" },
    );
    const first = await run(looped);
    expect(first.finished.state).toMatchObject({ joke: "draft 2", verdict: "pass", feedback: "good" });
    const again = await runFrom(looped, first, ["joke"]);
    // The second pass saw "fix 1": so does its re-run (not the final "good").
    expect(again.calls[0].prompt).toBe("Joke about cats with feedback: fix 1 (joke)");
    expect(again.of("node-started").filter((e) => e.nodeId === "joke").map((e) => e.iteration)).toEqual([2, 3]);
    // The grader fails this time: it is on pass 3 of 3, so one more pass, then the bound.
    expect(again.of("loop-iteration")).toHaveLength(1);
    expect(again.finished.warnings.map((w) => w.code)).toEqual(["max-iterations"]);
    expect(again.calls.map(tag)).toEqual(["joke", "", "joke", "", "after"]);
  });

  it("starting at the grader reuses the loop body's last draft and keeps the bound", async () => {
    const { run, runFrom } = setup((call) => (call.schema ? { object: { grade: "fail", feedback: "meh" } } : { text: tag(call) }));
    const first = await run(looped);
    expect(first.of("node-started").filter((e) => e.nodeId === "grade")).toHaveLength(3);
    const again = await runFrom(looped, first, ["grade"]);
    expect(plain(again.plan)).toMatchObject({ rerun: ["grade", "after"], reused: ["in", "joke"] });
    // Pass 3 of 3 again: no more loops, straight to `after` with a warning.
    expect(again.calls.map(tag)).toEqual(["", "after"]);
    expect(again.of("node-started").find((e) => e.nodeId === "grade")!.iteration).toBe(3);
    expect(again.finished.warnings.map((w) => w.code)).toEqual(["max-iterations"]);
  });

  it("a run from a run from a node plans exactly too (its seeded state and counters are in its record)", async () => {
    const { run, runFrom } = setup((call) => (call.schema ? { object: { grade: "fail", feedback: "meh" } } : { text: tag(call) }));
    const first = await run(looped);
    const second = await runFrom(looped, first, ["grade"]);
    const third = await runFrom(looped, second, ["grade"]);
    expect(third.calls.map(tag)).toEqual(["", "after"]);
    expect(third.plan.reused).toEqual(["in", "joke"]);
  });

  it("downstream of a loop: the whole loop is reused", async () => {
    const { run, runFrom } = setup((call) => (call.schema ? { object: { grade: "fail", feedback: "meh" } } : { text: tag(call) }));
    const first = await run(looped);
    const again = await runFrom(looped, first, ["after"]);
    expect(again.calls.map(tag)).toEqual(["after"]);
    expect(again.of("loop-iteration")).toHaveLength(0);
  });
});

describe("maps", () => {
  const mapped = workflow(
    [
      input,
      { id: "plan", kind: "orchestrator", config: { outputKey: "sections", prompt: "Plan {{topic}}", maxItems: 20 } },
      { id: "write", kind: "worker", config: { forEach: "sections", outputKey: "done", prompt: "Write {{item.name}}", concurrency: 1 } },
      { id: "join", kind: "synthesizer", config: { mode: "join", from: "done", outputKey: "report" } },
    ],
    ["in->plan", "plan:plan->write", "write->join"],
  );
  const plan = { items: ["A", "B", "C"].map((name) => ({ name, description: name })) };

  it("starting at a worker re-runs all its instances with the reused plan", async () => {
    const { run, runFrom } = setup((call) => (call.schema ? { object: plan } : { text: call.prompt }));
    const first = await run(mapped);
    const again = await runFrom(mapped, first, ["write"]);
    expect(again.calls.map((c) => c.prompt)).toEqual(["Write A", "Write B", "Write C"]);
    expect(again.finished.state.report).toBe("Write A\n\nWrite B\n\nWrite C");
  });

  it("Retry failed instances: only the instances that did not succeed call the model", async () => {
    let broken = true;
    const { run, runFrom } = setup((call) =>
      call.schema ? { object: plan } : call.prompt === "Write B" && broken ? { error: new ModelError("bad-request", "nope") } : { text: `${call.prompt} ok` },
    );
    const first = await run(mapped);
    expect(first.finished.status).toBe("failed");
    broken = false;
    const again = await runFrom(mapped, first, ["write"], mapped, "failed-instances");
    expect(again.plan.instances).toEqual({ rerun: 2, of: 3 });
    // A succeeded before; B failed; C never ran (concurrency 1, cancelled with the map).
    expect(again.calls.map((c) => c.prompt)).toEqual(["Write B", "Write C"]);
    expect(again.finished.state.done).toEqual(["Write A ok", "Write B ok", "Write C ok"]);
    const reusedInstance = again.of("node-finished").find((e) => e.nodeId === "write" && e.instance === 0)!;
    expect(reusedInstance.reused).toEqual({ runId: first.runId });
  });

  it("refuses Retry failed instances on a node that ran none", async () => {
    const { run } = setup((call) => (call.schema ? { object: plan } : { text: "x" }));
    const first = await run(mapped);
    const planned = planReuse({ document: mapped, earlier: { runId: first.runId, document: mapped, events: first.events }, from: ["join"], mode: "failed-instances" });
    expect(planned).toMatchObject({ ok: false, code: "no-instances" });
  });
});
