import { describe, expect, it } from "vitest";
import type { RunEvent, RunEventOf } from "../engine/events";
import { ModelError, type ModelCall, type ModelPort } from "../engine/model-port";
import { resumeFromEvents } from "../engine/resume";
import { planReuse } from "../engine/reuse";
import { runWorkflow, type RunOptions } from "../engine/run";
import { input, llm, workflow } from "../testing/build";
import { scriptedModel, type Script } from "../testing/scripted-model";
import { VirtualClock } from "../testing/virtual-clock";
import { parseDocument, type WorkflowDocument } from "../schema";
import { exportTypeScript } from "../export/typescript";
import { embeddingModelsUsed, RECHECK_MARKER, withEmbeddingModel, type AgreementReport } from "./agreement";

/**
 * The aggregate's re-run policy (docs/architecture.md §4.15) and its embedding similarity: only the
 * outlier branches run again, at most K rounds, within the run's limits, and the run always ends.
 */

const NILE = "The Nile is the longest river in Africa and flows north through Egypt into the Mediterranean.";
const REVENUE = "Quarterly revenue grew because the marketing budget doubled.";

/** Branch answers by the prompt's tag: the outlier answers off topic until it is asked to re-check. */
function answers(offTopic: Record<string, number> = {}) {
  const seen: Record<string, number> = {};
  return (call: ModelCall): Script => {
    const tag = /\((\w+)\)/.exec(call.prompt)?.[1] ?? "";
    seen[tag] = (seen[tag] ?? 0) + 1;
    const rechecked = call.prompt.includes(RECHECK_MARKER);
    if (tag in offTopic && (!rechecked || seen[tag] <= offTopic[tag])) return { latency: 10, text: REVENUE };
    return { latency: 10, text: tag === "prep" ? "notes on rivers" : NILE };
  };
}

async function run(doc: WorkflowDocument, script: (call: ModelCall) => Script, options: Partial<RunOptions> & { embed?: ModelPort["embed"] } = {}) {
  const clock = new VirtualClock();
  const model = scriptedModel(clock, script);
  const models: ModelPort = options.embed ? { ...model.port, embed: options.embed } : model.port;
  const events: RunEvent[] = [];
  await clock.drive(
    (async () => {
      for await (const event of runWorkflow(doc, { models, clock, random: () => 0.5, ...options })) events.push(event);
    })(),
  );
  const of = <T extends RunEvent["type"]>(type: T) => events.filter((e): e is RunEventOf<T> => e.type === type);
  return { events, model, of, finished: events.at(-1) as RunEventOf<"run-finished"> };
}

const aggregate = (agreement: Record<string, unknown>) => ({ id: "j", kind: "aggregate", config: { outputKey: "combined", agreement: { key: "agreement", ...agreement } } }) as const;

/** Three branches from the input; branch c is a chain of two steps (prep → c). */
const fan = (agreement: Record<string, unknown>, extraNodes: Array<Parameters<typeof workflow>[0][number]> = [], extraLinks: string[] = []) =>
  workflow(
    [
      input,
      llm("a", "Answer about {{topic}} (a)"),
      llm("b", "Answer about {{topic}} (b)"),
      llm("prep", "Notes about {{topic}} (prep)"),
      llm("c", "Answer from {{prep}} (c)"),
      aggregate(agreement),
      { id: "v", kind: "synthesizer", config: { mode: "llm", from: "combined", outputKey: "answer", prompt: "Check: {{agreement.conflicts}} (v)" } },
      ...extraNodes,
    ],
    ["in->a", "in->b", "in->prep", "prep->c", "a->j", "b->j", "c->j", "j->v", ...extraLinks],
  );

const started = (events: RunEvent[], id: string) => events.filter((e) => e.type === "node-started" && e.nodeId === id && e.instance === undefined).length;

describe("re-running the outlier branches", () => {
  it("re-runs only the outlier's chain back to the fork, then gathers again and continues once", async () => {
    const { events, of, model, finished } = await run(fan({ rerun: {} }), answers({ c: 1 }));
    expect(finished.status).toBe("succeeded");
    expect(of("branches-rerun")).toEqual([expect.objectContaining({ nodeId: "j", round: 2, keys: ["c"], nodes: ["prep", "c"] })]);
    expect({ a: started(events, "a"), b: started(events, "b"), prep: started(events, "prep"), c: started(events, "c"), j: started(events, "j"), v: started(events, "v") }).toEqual({
      a: 1,
      b: 1,
      prep: 2,
      c: 2,
      j: 2,
      v: 1,
    });
    // The first gathering fires nothing; the synthesizer starts only after the second.
    const joins = of("node-finished").filter((e) => e.nodeId === "j");
    expect(joins.map((e) => e.ports)).toEqual([[], ["out"]]);
    const vStart = events.findIndex((e) => e.type === "node-started" && e.nodeId === "v");
    expect(vStart).toBeGreaterThan(events.indexOf(joins[1]));
    // The re-run step is told why, and sees what the other branches said.
    const rerunCall = model.calls.filter((c) => c.prompt.startsWith("Answer from")).at(-1)!;
    expect(rerunCall.prompt).toContain(RECHECK_MARKER);
    expect(rerunCall.prompt).toContain(`--- a ---\n${NILE}`);
    const report = finished.state.agreement as AgreementReport;
    expect(report.agrees).toBe(true);
    expect(report.rounds).toEqual([{ round: 2, rerun: ["c"], before: expect.any(Number), after: 1 }]);
    expect(report.rounds![0].before!).toBeLessThan(0.5);
    expect(report.rerun).toBeUndefined();
  });

  it("stops after K rounds and lists the conflicts that remain for the next step", async () => {
    const { of, model, finished } = await run(fan({ rerun: { rounds: 2 } }), answers({ c: 99 }));
    expect(finished.status).toBe("succeeded");
    expect(of("branches-rerun").map((e) => e.round)).toEqual([2, 3]);
    const report = finished.state.agreement as AgreementReport;
    expect(report.outliers).toEqual(["c"]);
    expect(report.rounds?.map((r) => r.round)).toEqual([2, 3]);
    expect(report.rerunSkipped).toBe("re-ran the outliers 2 times, the policy's bound");
    const synth = model.calls.find((c) => c.prompt.startsWith("Check:"))!;
    expect(synth.prompt).toMatch(/^Check: Round 2 re-ran c \(agreement 0\.\d+ → 0\.\d+\)\. Round 3 re-ran c .*"c" stands apart/);
  });

  it("does not re-run without the policy, nor when the branches agree", async () => {
    const off = await run(fan({}), answers({ c: 99 }));
    expect(off.of("branches-rerun")).toHaveLength(0);
    expect((off.finished.state.agreement as AgreementReport).outliers).toEqual(["c"]);
    const agreeing = await run(fan({ rerun: { rounds: 3 } }), answers());
    expect(agreeing.of("branches-rerun")).toHaveLength(0);
    expect(started(agreeing.events, "j")).toBe(1);
  });

  it("keeps within the run's limits: a re-run that would pass the model-call cap or the loop guard is skipped, and the run ends succeeded", async () => {
    // 4 calls before the check; the re-run needs 2 more (prep and c), and v needs one: a cap of 5 leaves room for v only.
    const capped = await run(fan({ rerun: {} }), answers({ c: 99 }), { limits: { maxModelCalls: 5 } });
    expect(capped.of("branches-rerun")).toHaveLength(0);
    expect(capped.finished.status).toBe("succeeded");
    expect((capped.finished.state.agreement as AgreementReport).rerunSkipped).toMatch(/about 2 more model calls, past the run's limit of 5 \(4 made\)/);
    const guarded = await run(fan({ rerun: { rounds: 5 } }), answers({ c: 99 }), { limits: { maxTotalLoopIterations: 1 } });
    expect(guarded.of("branches-rerun")).toHaveLength(1);
    expect(guarded.finished.status).toBe("succeeded");
    expect((guarded.finished.state.agreement as AgreementReport).rerunSkipped).toMatch(/loops and re-runs reached their limit of 1/);
    const budget = await run(fan({ rerun: {} }), answers({ c: 99 }), { limits: { maxTokens: 80 } });
    expect(budget.of("branches-rerun")).toHaveLength(0);
    expect((budget.finished.state.agreement as AgreementReport).rerunSkipped).toMatch(/more tokens, past the run's budget of 80/);
  });

  it("never re-runs a step another consumer depends on: a shared branch is reported, not re-run", async () => {
    // c also feeds an output of its own: running it again would change what that consumer saw.
    const doc = fan({ rerun: {} }, [llm("side", "Side note on {{c}} (side)")], ["c->side"]);
    const { of, finished } = await run(doc, answers({ c: 99 }));
    expect(of("branches-rerun")).toHaveLength(0);
    expect(finished.status).toBe("succeeded");
    expect((finished.state.agreement as AgreementReport).rerunSkipped).toMatch(/^"c": its branch shares steps with other branches/);
  });

  it("starts counting rounds afresh on each pass of a loop around the join", async () => {
    // A first step inside the loop, so every branch sits in the same loop as the join.
    const base = fan({ rerun: {} }, [llm("s", "Start on {{topic}} (s)"), { id: "g", kind: "gate", config: { mode: "condition", condition: { match: "all", rules: [{ op: "contains", key: "answer", value: "second pass" }] }, maxIterations: 2 } }], ["v->g", "g:fail->s"]);
    const doc = { ...base, edges: base.edges.map((e) => (e.source === "in" ? { ...e, source: "s" } : e)).concat({ id: "e_in_s", source: "in", sourcePort: "out", target: "s", targetPort: "in" }) };
    const passes: string[] = [];
    const script = answers({ c: 99 });
    const { of, finished } = await run(doc, (call) => {
      if (call.prompt.startsWith("Check:")) passes.push("v");
      return script(call);
    });
    expect(finished.status).toBe("succeeded");
    // Two passes of the loop, each with its one re-run round.
    expect(passes).toHaveLength(2);
    expect(of("branches-rerun").map((e) => e.round)).toEqual([2, 2]);
  });

  it("refuses a bad policy in validation, naming the node and the field", () => {
    const issues = (doc: WorkflowDocument) => {
      const parsed = parseDocument(JSON.parse(JSON.stringify(doc)));
      return parsed.ok ? [] : parsed.issues;
    };
    expect(issues(fan({ rerun: { rounds: 9 } }))).toContainEqual(expect.objectContaining({ nodeId: "j", path: "nodes[5].config.agreement.rerun.rounds" }));
    expect(issues(fan({ rerun: { rounds: 0 } }))).toHaveLength(1);
    expect(issues(fan({ embeddingModel: "no model" }))).toContainEqual(expect.objectContaining({ nodeId: "j", path: "nodes[5].config.agreement.embeddingModel" }));
    expect(issues(fan({ rerun: { rounds: 3 }, embeddingModel: "demo:embed" }))).toEqual([]);
  });

  it("runs from the join of a run that re-ran a branch: the branches answer their final outputs", async () => {
    const doc = fan({ rerun: {} });
    const clock = new VirtualClock();
    const script = answers({ c: 1 });
    const model = scriptedModel(clock, script);
    const collect = async (options: Partial<RunOptions>) => {
      const events: RunEvent[] = [];
      await clock.drive(
        (async () => {
          for await (const event of runWorkflow(doc, { models: model.port, clock, random: () => 0.5, ...options })) events.push(event);
        })(),
      );
      return events;
    };
    const earlier = await collect({ runId: "r1" });
    const planned = planReuse({ document: doc, earlier: { runId: "r1", document: doc, events: earlier }, from: ["j"] });
    if (!planned.ok) throw new Error(planned.message);
    expect(planned.plan.reused).toEqual(["in", "a", "b", "prep", "c"]);
    const before = model.calls.length;
    const again = await collect({ runId: "r2", inputs: planned.plan.inputs, reuse: planned.plan.reuse });
    const finished = again.at(-1) as RunEventOf<"run-finished">;
    expect(finished.status).toBe("succeeded");
    // c's reused answer is its re-run one, so the join agrees at once: no new round, only v calls a model.
    expect(again.filter((e) => e.type === "branches-rerun")).toHaveLength(0);
    expect(model.calls.slice(before).map((c) => c.prompt.slice(0, 6))).toEqual(["Check:"]);
    expect(finished.state.c).toBe(NILE);
  });
});

describe("resuming a run that stopped during a re-run round (cluster mode)", () => {
  it("recalls the join's round as a re-run request, so the branch runs again with its note and the run ends as it would have", async () => {
    const doc = fan({ rerun: {} });
    const clock = new VirtualClock();
    const model = scriptedModel(clock, answers({ c: 1 }));
    const collect = async (options: Partial<RunOptions>) => {
      const events: RunEvent[] = [];
      await clock.drive(
        (async () => {
          for await (const event of runWorkflow(doc, { models: model.port, clock, random: () => 0.5, ...options })) events.push(event);
        })(),
      );
      return events;
    };
    const whole = await collect({});
    // The earlier attempt stopped right after the round began: c had not run again yet.
    const cut = whole.slice(0, whole.findIndex((e) => e.type === "branches-rerun") + 1);
    expect(cut.filter((e) => e.type === "node-finished" && e.nodeId === "j")).toEqual([expect.objectContaining({ ports: [], rerun: { keys: ["c"], note: expect.stringContaining(RECHECK_MARKER) } })]);
    const before = model.calls.length;
    const resumed = await collect({ resume: resumeFromEvents(doc, cut) });
    const finished = resumed.at(-1) as RunEventOf<"run-finished">;
    expect(finished.status).toBe("succeeded");
    expect(finished.state).toEqual((whole.at(-1) as RunEventOf<"run-finished">).state);
    // Only what had not finished calls a model: prep and c again (with the note), then v.
    const calls = model.calls.slice(before);
    expect(calls.map((c) => /\((\w+)\)/.exec(c.prompt)?.[1])).toEqual(["prep", "c", "v"]);
    expect(calls[1].prompt).toContain(RECHECK_MARKER);
  });
});

describe("agreement by embeddings", () => {
  /** A toy embedding: the Nile texts point one way, anything else another. */
  const embedder = (calls: string[][]): ModelPort["embed"] =>
    async (model, texts) => {
      calls.push([model, ...texts]);
      return texts.map((t) => (t.includes("Nile") ? [1, 0.1] : [0, 1]));
    };

  it("uses the embedding model when one is set, as a counted model call", async () => {
    const calls: string[][] = [];
    const { finished } = await run(fan({ embeddingModel: "demo:embed" }), answers({ c: 99 }), { embed: embedder(calls) });
    expect(finished.status).toBe("succeeded");
    const report = finished.state.agreement as AgreementReport;
    expect(report).toMatchObject({ method: "embedding", model: "demo:embed", outliers: ["c"] });
    expect(report.pairs.find((p) => p.a === "a" && p.b === "b")?.similarity).toBe(1);
    expect(calls).toEqual([["demo:embed", NILE, NILE, REVENUE]]);
    // 4 branch calls, the embedding, and the synthesizer.
    expect(finished.calls).toBe(6);
  });

  it("switches to another embedding model in one step, as the run-with-the-demo-model choice does", () => {
    const doc = withEmbeddingModel(fan({ embeddingModel: "openai:text-embedding-3-small" }), "demo:embed");
    expect(embeddingModelsUsed(doc)).toEqual([{ nodeId: "j", model: "demo:embed" }]);
    expect(embeddingModelsUsed(withEmbeddingModel(fan({}), "demo:embed"))).toEqual([]);
  });

  it("is lexical without an embedding model", async () => {
    const { finished } = await run(fan({}), answers({ c: 99 }));
    expect((finished.state.agreement as AgreementReport).method).toBe("lexical");
  });

  it("fails the node clearly when the models cannot embed", async () => {
    const { finished } = await run(fan({ embeddingModel: "demo:embed" }), answers());
    expect(finished.status).toBe("failed");
    expect(finished.error).toMatchObject({ code: "not-supported", nodeId: "j" });
    expect(finished.error?.message).toMatch(/cannot embed text \(model demo:embed\)/);
  });

  it("retries a retryable embedding failure and times out a provider that never answers", async () => {
    let attempts = 0;
    const flaky: ModelPort["embed"] = async (_model, texts) => {
      if (++attempts === 1) throw new ModelError("rate-limited", "slow down");
      return texts.map(() => [1, 0]);
    };
    const retried = await run(fan({ embeddingModel: "demo:embed" }), answers(), { embed: flaky });
    expect(retried.finished.status).toBe("succeeded");
    expect(retried.of("node-retry")).toEqual([expect.objectContaining({ nodeId: "j", attempt: 2, code: "rate-limited" })]);

    const hung: ModelPort["embed"] = () => new Promise<number[][]>(() => undefined);
    const timedOut = await run(fan({ embeddingModel: "demo:embed" }), answers(), { embed: hung, limits: { firstTokenTimeoutMs: 1_000, maxAttempts: 2 } });
    expect(timedOut.finished.status).toBe("failed");
    expect(timedOut.finished.error).toMatchObject({ code: "timeout:first-token", nodeId: "j" });
    expect(timedOut.finished.error?.message).toMatch(/gave up after 2 attempts/);
  });

  it("a cancel during an embedding call ends the run at once, even when the provider ignores its signal", async () => {
    const controller = new AbortController();
    const hung: ModelPort["embed"] = () => {
      queueMicrotask(() => controller.abort());
      return new Promise<number[][]>(() => undefined);
    };
    const { finished, of } = await run(fan({ embeddingModel: "demo:embed" }), answers(), { embed: hung, signal: controller.signal });
    expect(finished.status).toBe("cancelled");
    expect(of("node-cancelled").map((e) => e.nodeId)).toContain("j");
  });

  it("counts the tokens an embedding call reports in the aggregate's usage, the run's, and against its budget", async () => {
    const reporting: ModelPort["embed"] = async (_model, texts) => ({ embeddings: texts.map(() => [1, 0]), usage: { inputTokens: 500, outputTokens: 0 } });
    const bare = await run(fan({ embeddingModel: "demo:embed" }), answers(), { embed: async (_model, texts) => texts.map(() => [1, 0]) });
    const counted = await run(fan({ embeddingModel: "demo:embed" }), answers(), { embed: reporting });
    expect(counted.finished.status).toBe("succeeded");
    const joinUsage = (of: typeof counted.of) => of("node-finished").find((e) => e.nodeId === "j" && e.instance === undefined)?.usage;
    expect(joinUsage(bare.of)).toEqual({ inputTokens: 0, outputTokens: 0 });
    expect(joinUsage(counted.of)).toEqual({ inputTokens: 500, outputTokens: 0 });
    expect(counted.finished.usage.inputTokens - bare.finished.usage.inputTokens).toBe(500);
    expect(counted.finished.usage.outputTokens).toBe(bare.finished.usage.outputTokens);

    // A budget the branches fit in but the embedding's 500 tokens do not: the aggregate fails with it.
    const spentBefore = bare.finished.usage.inputTokens + bare.finished.usage.outputTokens;
    const over = await run(fan({ embeddingModel: "demo:embed" }), answers(), { embed: reporting, limits: { maxTokens: spentBefore + 100 } });
    expect(over.finished.status).toBe("failed");
    expect(over.finished.error).toMatchObject({ code: "budget-exceeded", nodeId: "j" });
  });

  it("refuses vectors that do not match the texts", async () => {
    const wrong: ModelPort["embed"] = async () => [[1, 0]];
    const { finished } = await run(fan({ embeddingModel: "demo:embed" }), answers(), { embed: wrong });
    expect(finished.error).toMatchObject({ code: "invalid-output", nodeId: "j" });
  });
});

describe("the TypeScript export", () => {
  it("refuses the re-run policy and embedding similarity by name, and exports the plain agreement check's workflow", () => {
    expect(exportTypeScript(fan({ rerun: { rounds: 2 } }))).toEqual({
      ok: false,
      message: 'this workflow cannot be exported yet: "j" re-runs disagreeing branches (agreement.rerun), which the exported program does not do; turn that policy off to export',
    });
    expect(exportTypeScript(fan({ embeddingModel: "demo:embed" }))).toMatchObject({ ok: false, message: expect.stringContaining("(agreement.embeddingModel)") });
    expect(exportTypeScript(fan({})).ok).toBe(true);
  });
});
