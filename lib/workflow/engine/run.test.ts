import { describe, expect, it, vi } from "vitest";
import type { ConditionRule } from "../condition";
import { KINDS } from "../kinds";
import type { WorkflowDocument } from "../schema";
import { input, llm, workflow } from "../testing/build";
import { scriptedModel, type Script } from "../testing/scripted-model";
import { VirtualClock } from "../testing/virtual-clock";
import type { RunEvent, RunEventOf } from "./events";
import { CancelledError } from "./errors";
import { ModelError, type ModelCall, type ModelPort } from "./model-port";
import { Semaphore } from "./semaphore";
import { runWorkflow, type RunOptions } from "./run";

function setup(script: (call: ModelCall, index: number) => Script) {
  const clock = new VirtualClock();
  const model = scriptedModel(clock, script);
  const run = async (doc: WorkflowDocument, options: Partial<RunOptions> = {}) => {
    const events: RunEvent[] = [];
    await clock.drive(
      (async () => {
        for await (const event of runWorkflow(doc, { models: model.port, clock, random: () => 0.5, ...options })) events.push(event);
      })(),
    );
    const finished = events.at(-1) as RunEventOf<"run-finished">;
    expect(finished.type).toBe("run-finished");
    return { events, finished, of: <T extends RunEvent["type"]>(type: T) => events.filter((e): e is RunEventOf<T> => e.type === type) };
  };
  return { clock, model, run };
}

const idOf = (call: ModelCall) => /\((\w+)\)/.exec(call.prompt)?.[1] ?? "";
const startOf = (events: RunEvent[], nodeId: string) => events.find((e) => e.type === "node-started" && e.nodeId === nodeId)!.t;

const router = (routes: string[]) =>
  ({
    id: "route",
    kind: "router",
    config: { outputKey: "decision", prompt: "{{topic}}", routes: routes.map((name) => ({ name, description: name })) },
  }) as const;

describe("scheduling", () => {
  it("runs a chain in order, stamps events with increasing sequence numbers and times, and ends with the state", async () => {
    const { run } = setup((call) => ({ latency: 10, text: `out of ${idOf(call)}` }));
    const doc = workflow([input, llm("a"), llm("b", "Use {{a}} (b)")], ["in->a", "a->b"]);
    const { events, finished } = await run(doc);
    expect(finished.status).toBe("succeeded");
    expect(finished.state).toEqual({ topic: "cats", a: "out of a", b: "out of b" });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events.every((e, i) => i === 0 || e.t >= events[i - 1].t)).toBe(true);
    expect(startOf(events, "b")).toBe(20 - 10);
    expect(finished.ms).toBe(20);
  });

  it("takes exactly the critical path on the uneven DAG (A 100 ∥ B 10, A→C 10, B→D 100, C,D→E): 110 ms, not 200", async () => {
    const latency: Record<string, number> = { A: 100, B: 10, C: 10, D: 100, E: 0 };
    const { run } = setup((call) => ({ latency: latency[idOf(call)], text: idOf(call) }));
    const doc = workflow(
      [input, llm("A", "(A)"), llm("B", "(B)"), llm("C", "(C)"), llm("D", "(D)"), llm("E", "(E)")],
      ["in->A", "in->B", "A->C", "B->D", "C->E", "D->E"],
    );
    const { events, finished } = await run(doc);
    expect(finished.status).toBe("succeeded");
    expect(startOf(events, "D")).toBe(10);
    expect(startOf(events, "C")).toBe(100);
    expect(startOf(events, "E")).toBe(110);
    expect(finished.ms).toBe(110);
  });

  it("joins after two branches: the aggregate starts when the slower one finishes and sees both", async () => {
    const { run } = setup((call) => ({ latency: idOf(call) === "slow" ? 50 : 5, text: idOf(call) }));
    const doc = workflow(
      [input, llm("fast", "(fast)"), llm("slow", "(slow)"), { id: "join", kind: "aggregate", config: { outputKey: "both" } }],
      ["in->fast", "in->slow", "fast->join", "slow->join"],
    );
    const { events, finished } = await run(doc);
    expect(startOf(events, "join")).toBe(50);
    expect(finished.state.both).toBe("fast:\nfast\n\nslow:\nslow");
  });

  it("runs parallel branches concurrently but never more model calls at once than maxConcurrency", async () => {
    const { run, model } = setup(() => ({ latency: 10, text: "x" }));
    const branches = ["p1", "p2", "p3", "p4", "p5"].map((id) => llm(id, `(${id})`));
    const doc = workflow([input, ...branches], branches.map((b) => `in->${b.id}`), { settings: { limits: { maxConcurrency: 2 } } });
    const { finished } = await run(doc);
    expect(finished.status).toBe("succeeded");
    expect(model.peak()).toBe(2);
    expect(finished.ms).toBe(30);
  });
});

describe("branching and dead-path elimination", () => {
  const routed = workflow(
    [
      input,
      router(["story", "joke", "poem"]),
      llm("story", "(story)"),
      llm("joke", "(joke)"),
      llm("poem", "(poem)"),
      { id: "out", kind: "output", config: { keys: ["decision", "story", "joke", "poem"] } },
    ],
    ["in->route", "route:story->story", "route:joke->joke", "route:poem->poem", "story->out", "joke->out", "poem->out"],
  );

  it("fires exactly one route: the others are skipped and the join after them still runs", async () => {
    const { run } = setup((call) => (call.schema ? { object: { route: "joke", reason: "asks for a joke" } } : { text: idOf(call) }));
    const { finished, of } = await run(routed);
    expect(finished.status).toBe("succeeded");
    expect(of("node-skipped").map((e) => e.nodeId).sort()).toEqual(["poem", "story"]);
    expect(of("node-finished").find((e) => e.nodeId === "route")?.ports).toEqual(["joke"]);
    expect(finished.outputs).toEqual({ decision: "joke", joke: "joke" });
  });

  it("takes the default port when the model names no known route", async () => {
    const doc = workflow(
      [input, router(["a", "b"]), llm("a", "(a)"), llm("fallback", "(fallback)")],
      ["in->route", "route:a->a", "route:default->fallback"],
    );
    const { run } = setup((call) => (call.schema ? { object: { route: "zzz", reason: "?" } } : { text: idOf(call) }));
    const { finished, of } = await run(doc);
    expect(finished.state.decision).toBe("default");
    expect(of("node-skipped").map((e) => e.nodeId)).toEqual(["a"]);
    expect(finished.state.fallback).toBe("fallback");
  });

  const chained = (draft: string) => {
    const doc = workflow(
      [
        input,
        llm("joke", "(joke)"),
        {
          id: "gate",
          kind: "gate",
          config: { mode: "condition", condition: { match: "any", rules: [{ op: "contains", key: "joke", value: "?" }, { op: "contains", key: "joke", value: "!" }] } },
        },
        llm("improved_joke", "{{joke}} (improved_joke)"),
        llm("final_joke", "{{improved_joke}} (final_joke)"),
        { id: "out", kind: "output", config: { keys: ["joke", "improved_joke", "final_joke"] } },
      ],
      ["in->joke", "joke->gate", "gate:fail->improved_joke", "improved_joke->final_joke", "gate:pass->out", "final_joke->out"],
    );
    return { doc, script: (call: ModelCall) => ({ text: idOf(call) === "joke" ? draft : `${idOf(call)} text` }) };
  };

  it("after a passing gate skips the improvement chain and still reaches the output", async () => {
    const { doc, script } = chained("Why? Because!");
    const { run } = setup(script);
    const { finished, of } = await run(doc);
    expect(of("node-skipped").map((e) => e.nodeId)).toEqual(["improved_joke", "final_joke"]);
    expect(finished.outputs).toEqual({ joke: "Why? Because" + "!" });
  });

  it("after a failing gate runs the improvement chain", async () => {
    const { doc, script } = chained("A flat statement.");
    const { run } = setup(script);
    const { finished, of } = await run(doc);
    expect(of("node-skipped")).toEqual([]);
    expect(finished.outputs).toEqual({ joke: "A flat statement.", improved_joke: "improved_joke text", final_joke: "final_joke text" });
  });
});

describe("map workers", () => {
  const mapped = (concurrency: number, extra: Record<string, unknown> = {}) =>
    workflow(
      [
        input,
        { id: "plan", kind: "orchestrator", config: { outputKey: "sections", prompt: "Plan {{topic}}", maxItems: 20 } },
        {
          id: "write",
          kind: "worker",
          config: { forEach: "sections", outputKey: "done", prompt: "Write {{item.name}} ({{index}}){{#others}} after: {{others}}{{/others}}", concurrency, ...extra },
        },
        { id: "join", kind: "synthesizer", config: { mode: "join", from: "done", outputKey: "report" } },
      ],
      ["in->plan", "plan:plan->write", "write->join"],
    );
  const items = (names: string[]) => ({ items: names.map((name) => ({ name, description: `about ${name}` })) });

  it.each([0, 1, 7])("runs one instance per item (%i items), keeps plan order and never exceeds the cap", async (count) => {
    const names = Array.from({ length: count }, (_, i) => `S${i}`);
    // Later items finish first, so plan order must be restored.
    const { run, model } = setup((call) => (call.schema ? { object: items(names) } : { latency: 100 - Number(/S(\d+)/.exec(call.prompt)![1]) * 10, text: `## ${/S\d+/.exec(call.prompt)![0]}` }));
    const { finished, of } = await run(mapped(3));
    expect(finished.status).toBe("succeeded");
    expect(finished.state.done).toEqual(names.map((n) => `## ${n}`));
    expect(of("node-started").filter((e) => e.nodeId === "write" && e.instance !== undefined)).toHaveLength(count);
    expect(of("node-instances")[0].labels).toEqual(names);
    if (count) expect(model.peak()).toBe(Math.min(3, count));
    expect(finished.state.report).toBe(names.map((n) => `## ${n}`).join("\n\n"));
  });

  it("streams every instance separately", async () => {
    const { run } = setup((call) => (call.schema ? { object: items(["A", "B"]) } : { latency: 10, chunks: ["one ", "two"] }));
    const { of } = await run(mapped(2));
    const deltas = of("node-delta").filter((e) => e.nodeId === "write");
    expect(deltas.map((e) => `${e.instance}:${e.text}`).sort()).toEqual(["0:one ", "0:two", "1:one ", "1:two"]);
  });

  it("runs items that need the others (a conclusion) last, with the other results in {{others}}", async () => {
    const { run, model } = setup((call) => (call.schema ? { object: items(["Intro", "Conclusion", "Body"]) } : { latency: 10, text: `## ${/Write (\w+)/.exec(call.prompt)![1]}` }));
    const { finished } = await run(mapped(4, { dependentItems: { field: "name", matches: ["conclusion"] } }));
    const conclusion = model.calls.find((c) => c.prompt.startsWith("Write Conclusion"))!;
    expect(conclusion.startedAt).toBe(10);
    expect(conclusion.prompt).toContain("after: ## Intro\n\n## Body");
    expect(finished.state.done).toEqual(["## Intro", "## Conclusion", "## Body"]);
  });

  it("caps a plan longer than the orchestrator's maxItems, with a warning rather than silently", async () => {
    const { run } = setup((call) => (call.schema ? { object: items(["a", "b", "c"]) } : { text: "x" }));
    const doc = mapped(2);
    doc.nodes[1] = { ...doc.nodes[1], config: { ...doc.nodes[1].config, maxItems: 2 } } as (typeof doc.nodes)[1];
    const { finished } = await run(doc);
    expect(finished.warnings).toEqual([expect.objectContaining({ code: "plan-truncated", message: "the plan had 3 items; kept the first 2" })]);
    expect(finished.state.sections).toHaveLength(2);
    expect(finished.state.done).toEqual(["x", "x"]);
  });

  it("refuses an orchestrator whose maxItems exceeds the operator's map limit before the run", async () => {
    const { run, model } = setup(() => ({ text: "x" }));
    const { finished } = await run(mapped(2), { limits: { maxMapItems: 10 } });
    expect(finished.error?.issues).toEqual([expect.objectContaining({ code: "limit:map-items", path: "nodes[1].config.maxItems" })]);
    expect(model.calls).toHaveLength(0);
  });
});

describe("loops", () => {
  const looped = (maxIterations = 3) =>
    workflow(
      [
        input,
        llm("joke", "Joke about {{topic}}{{#feedback}} with feedback: {{feedback}}{{/feedback}} (joke)"),
        { id: "grade", kind: "evaluator", config: { key: "joke", gradeKey: "verdict", feedbackKey: "feedback", criteria: "funny", maxIterations } },
        { id: "out", kind: "output", config: { keys: ["joke", "verdict", "feedback"] } },
      ],
      ["in->joke", "joke->grade", "grade:revise->joke", "grade:pass->out"],
    );

  it("re-runs the body with the feedback visible until the evaluator passes", async () => {
    let drafts = 0;
    const { run, model } = setup((call) =>
      call.schema
        ? { object: drafts >= 3 ? { grade: "pass", feedback: "good now" } : { grade: "fail", feedback: `fix ${drafts}` } }
        : { text: `draft ${++drafts}` },
    );
    const { finished, of } = await run(looped(5));
    expect(finished.status).toBe("succeeded");
    expect(finished.outputs).toEqual({ joke: "draft 3", verdict: "pass", feedback: "good now" });
    const prompts = model.calls.filter((c) => !c.schema).map((c) => c.prompt);
    expect(prompts[0]).toBe("Joke about cats (joke)");
    expect(prompts[1]).toBe("Joke about cats with feedback: fix 1 (joke)");
    expect(prompts[2]).toBe("Joke about cats with feedback: fix 2 (joke)");
    expect(of("loop-iteration").map((e) => e.iteration)).toEqual([2, 3]);
    // Every iteration's output is kept in the run's events.
    expect(of("node-finished").filter((e) => e.nodeId === "joke").map((e) => e.output)).toEqual([{ joke: "draft 1" }, { joke: "draft 2" }, { joke: "draft 3" }]);
    expect(finished.warnings).toEqual([]);
  });

  it("stops at maxIterations, takes pass and records a max-iterations warning", async () => {
    const { run, model } = setup((call) => (call.schema ? { object: { grade: "fail", feedback: "still bad" } } : { text: "draft" }));
    const { finished } = await run(looped(2));
    expect(finished.status).toBe("succeeded");
    expect(model.calls.filter((c) => c.schema)).toHaveLength(2);
    expect(finished.warnings).toEqual([expect.objectContaining({ code: "max-iterations", nodeId: "grade" })]);
    expect(finished.outputs).toEqual({ joke: "draft", verdict: "fail", feedback: "still bad" });
  });

  it("never loops more than the run's maxLoopIterations even when the node asks for more", async () => {
    const { run, model } = setup((call) => (call.schema ? { object: { grade: "fail", feedback: "no" } } : { text: "draft" }));
    const doc = looped(10);
    const { finished } = await run(doc, { limits: { maxLoopIterations: 10 } });
    expect(model.calls.filter((c) => c.schema)).toHaveLength(10);
    expect(finished.warnings.map((w) => w.code)).toEqual(["max-iterations"]);
  });

  it("loops on a gate's fail back-edge too", async () => {
    let n = 0;
    const { run } = setup(() => ({ text: ++n >= 2 ? "long enough text" : "short" }));
    const doc = workflow(
      [
        input,
        llm("draft", "(draft)"),
        { id: "gate", kind: "gate", config: { mode: "condition", condition: { match: "all", rules: [{ op: "length_at_least", key: "draft", value: 10 }] } } },
        { id: "out", kind: "output", config: { keys: ["draft"] } },
      ],
      ["in->draft", "draft->gate", "gate:fail->draft", "gate:pass->out"],
    );
    const { finished, of } = await run(doc);
    expect(finished.outputs).toEqual({ draft: "long enough text" });
    expect(of("loop-iteration")).toHaveLength(1);
  });
});

describe("retries, timeouts and failures", () => {
  it("retries a 429 after its Retry-After and then succeeds: exactly two calls", async () => {
    const { run, model } = setup((_, i) =>
      i === 0 ? { error: new ModelError("rate-limited", "slow down", { status: 429, retryAfterMs: 2_000 }) } : { text: "ok" },
    );
    const { finished, of } = await run(workflow([input, llm("a", "(a)")], ["in->a"]));
    expect(finished.status).toBe("succeeded");
    expect(model.calls).toHaveLength(2);
    expect(model.calls[1].startedAt).toBe(2_000);
    expect(of("node-retry")).toEqual([expect.objectContaining({ nodeId: "a", attempt: 2, delayMs: 2_000, code: "rate-limited" })]);
  });

  it("caps Retry-After and backs off exponentially with jitter when there is none", async () => {
    const { run, model } = setup((_, i) => (i < 2 ? { error: new ModelError("server-error", "boom", { status: 500, retryAfterMs: i === 0 ? 999_999 : undefined }) } : { text: "ok" }));
    const { of } = await run(workflow([input, llm("a", "(a)")], ["in->a"]), { limits: { retryAfterCapMs: 5_000, backoffBaseMs: 400 } });
    // First wait: Retry-After capped at 5 s. Second: 400·2 = 800 ms, half fixed + half × random(0.5) = 600.
    expect(of("node-retry").map((e) => e.delayMs)).toEqual([5_000, 600]);
    expect(model.calls.map((c) => c.startedAt)).toEqual([0, 5_000, 5_600]);
  });

  it("does not retry a 400, and names node, model and provider but no key", async () => {
    const { run, model } = setup(() => ({ error: new ModelError("bad-request", "context too long", { status: 400 }) }));
    const doc = workflow([input, llm("a", "(a)", { model: "openai:gpt-4o-mini" })], ["in->a"]);
    const { finished, of } = await run(doc);
    expect(model.calls).toHaveLength(1);
    expect(of("node-failed")).toEqual([expect.objectContaining({ nodeId: "a", code: "bad-request", retryable: false })]);
    expect(finished.status).toBe("failed");
    expect(finished.error?.message).toMatch(/node "a" failed: context too long \(model openai:gpt-4o-mini, provider openai\)/);
  });

  it("cancelling during a backoff ends the run cancelled at once, without waiting out the delay", async () => {
    const controller = new AbortController();
    const { model, clock } = setup(() => ({ error: new ModelError("rate-limited", "slow down", { retryAfterMs: 20_000 }) }));
    const doc = workflow([input, llm("a", "(a)")], ["in->a"]);
    const events: RunEvent[] = [];
    const consume = (async () => {
      for await (const event of runWorkflow(doc, { models: model.port, clock, signal: controller.signal, limits: { retryAfterCapMs: 60_000 } })) {
        events.push(event);
        if (event.type === "node-retry") controller.abort();
      }
    })();
    await clock.drive(consume);
    const finished = events.at(-1) as RunEventOf<"run-finished">;
    expect(finished.status).toBe("cancelled");
    expect(finished.ms).toBe(0);
    expect(model.calls).toHaveLength(1);
    expect(events.some((e) => e.type === "node-cancelled" && e.nodeId === "a")).toBe(true);
  });

  it("fails a node whose stream ends without a finish reason (and retries it as a transient cut)", async () => {
    const { run, model } = setup(() => ({ chunks: ["half an ans"], noFinish: true }));
    const { finished, of } = await run(workflow([input, llm("a", "(a)")], ["in->a"]), { limits: { maxAttempts: 2 } });
    expect(model.calls).toHaveLength(2);
    expect(of("node-failed")).toEqual([expect.objectContaining({ code: "stream-incomplete" })]);
    expect(finished.status).toBe("failed");
    expect(finished.state.a).toBeUndefined();
  });

  it("turns a provider that never answers into a first-token timeout", async () => {
    const { run, model } = setup(() => ({ hang: true }));
    const { finished, of } = await run(workflow([input, llm("a", "(a)")], ["in->a"]), { limits: { maxAttempts: 1, firstTokenTimeoutMs: 5_000 } });
    expect(of("node-failed")).toEqual([expect.objectContaining({ code: "timeout:first-token" })]);
    expect(finished.ms).toBe(5_000);
    expect(model.calls[0].aborted).toBe(true);
  });

  it("turns a stream that stalls mid-answer into an idle timeout", async () => {
    const { run } = setup(() => ({ chunks: ["a", "b"], stallAfterFirst: true }));
    const { finished, of } = await run(workflow([input, llm("a", "(a)")], ["in->a"]), { limits: { maxAttempts: 1, idleTimeoutMs: 3_000 } });
    expect(of("node-failed")).toEqual([expect.objectContaining({ code: "timeout:idle" })]);
    expect(finished.ms).toBe(3_000);
  });

  it("cancels independent in-flight branches when one fails, keeping what completed", async () => {
    const { run, model } = setup((call) =>
      idOf(call) === "bad" ? { latency: 5, error: new ModelError("auth", "invalid credentials", { status: 401 }) } : { latency: idOf(call) === "quick" ? 1 : 1_000, text: idOf(call) },
    );
    const doc = workflow([input, llm("bad", "(bad)"), llm("slow", "(slow)"), llm("quick", "(quick)")], ["in->bad", "in->slow", "in->quick"]);
    const { finished, of } = await run(doc);
    expect(finished.status).toBe("failed");
    expect(finished.ms).toBe(5);
    expect(of("node-cancelled").map((e) => e.nodeId)).toEqual(["slow"]);
    expect(model.calls.find((c) => idOf(c) === "slow")?.aborted).toBe(true);
    expect(finished.state.quick).toBe("quick");
  });

  it("rejects structured output that does not match its schema, without retrying", async () => {
    const { run, model } = setup(() => ({ object: { route: 42 } }));
    const doc = workflow([input, router(["a"]), llm("a", "(a)")], ["in->route", "route:a->a"]);
    const { of } = await run(doc);
    expect(model.calls).toHaveLength(1);
    expect(of("node-failed")).toEqual([expect.objectContaining({ nodeId: "route", code: "invalid-output" })]);
  });

  it("does not time a call out while it waits for capacity: the first-token timeout runs from its start", async () => {
    const { run } = setup(() => ({ queuedFor: 20_000, latency: 3_000, text: "late but fine" }));
    const { finished } = await run(workflow([input, llm("a", "(a)")], ["in->a"]), { limits: { maxAttempts: 1, firstTokenTimeoutMs: 5_000 } });
    expect(finished.status).toBe("succeeded");
    expect(finished.ms).toBe(23_000);
  });

  it("times out a call that started after waiting and then never answered, counted from its start", async () => {
    const { run } = setup(() => ({ queuedFor: 20_000, hang: true }));
    const { finished, of } = await run(workflow([input, llm("a", "(a)")], ["in->a"]), { limits: { maxAttempts: 1, firstTokenTimeoutMs: 5_000 } });
    expect(of("node-failed")).toEqual([expect.objectContaining({ code: "timeout:first-token" })]);
    expect(finished.ms).toBe(25_000);
  });

  it("retries a call whose worker was lost, and names every call to the port by node, iteration, instance and number", async () => {
    const lost = new ModelError("worker-lost", "the process running this call stopped");
    const { run, model } = setup((call, index) => (call.schema ? { object: { items: [{ name: "A", description: "a" }] } } : index === 1 ? { latency: 10, error: lost } : { latency: 10, text: "## A" }));
    const doc = workflow(
      [
        input,
        { id: "plan", kind: "orchestrator", config: { outputKey: "sections", prompt: "Plan {{topic}}", maxItems: 5 } },
        { id: "write", kind: "worker", config: { forEach: "sections", outputKey: "done", prompt: "Write {{item.name}}", concurrency: 1 } },
      ],
      ["in->plan", "plan:plan->write"],
    );
    const { finished, of } = await run(doc, { limits: { maxAttempts: 2 } });
    expect(finished.status).toBe("succeeded");
    expect(of("node-retry")).toEqual([expect.objectContaining({ nodeId: "write", instance: 0, attempt: 2, code: "worker-lost" })]);
    expect(model.calls.map((call) => call.site)).toEqual([
      { nodeId: "plan", iteration: 1, call: 1 },
      { nodeId: "write", iteration: 1, instance: 0, call: 1 },
      { nodeId: "write", iteration: 1, instance: 0, call: 2 },
    ]);
  });
});

describe("limits", () => {
  it("stops at the model-call limit with a named error", async () => {
    const { run } = setup(() => ({ text: "x" }));
    const doc = workflow([input, llm("a", "(a)"), llm("b", "(b)"), llm("c", "(c)")], ["in->a", "a->b", "b->c"]);
    const { finished } = await run(doc, { limits: { maxModelCalls: 2 } });
    expect(finished.error?.code).toBe("limit:model-calls");
    expect(finished.state.b).toBe("x");
  });

  it("stops a run that spends more tokens than its budget with budget-exceeded, keeping what finished", async () => {
    // Each scripted call uses 15 tokens: a, b fit a 40-token budget, c takes the run over it.
    const { run, model } = setup(() => ({ text: "x" }));
    const doc = workflow([input, llm("a", "(a)"), llm("b", "(b)"), llm("c", "(c)"), llm("d", "(d)")], ["in->a", "a->b", "b->c", "c->d"]);
    const { finished, of } = await run(doc, { limits: { maxTokens: 40 } });
    expect(finished).toMatchObject({ status: "failed", error: { code: "budget-exceeded", nodeId: "c" }, usage: { inputTokens: 30, outputTokens: 15 } });
    expect(finished.error?.message).toMatch(/used 45 tokens, over its budget of 40/);
    expect(finished.state).toMatchObject({ a: "x", b: "x" });
    expect(of("node-failed")).toEqual([expect.objectContaining({ nodeId: "c", code: "budget-exceeded" })]);
    expect(model.calls.map(idOf)).toEqual(["a", "b", "c"]);
    // A document's own budget may only lower the operator's.
    const lowered = await run(doc, { limits: { maxTokens: 100 } });
    expect(lowered.finished.status).toBe("succeeded");
    const byDocument = await run({ ...doc, settings: { limits: { maxTokens: 20 } } }, { limits: { maxTokens: 100 } });
    expect(byDocument.finished.error).toMatchObject({ code: "budget-exceeded", nodeId: "b" });
  });

  it("ends a run that outlives its wall time", async () => {
    const { run } = setup(() => ({ latency: 5_000, text: "x" }));
    const { finished } = await run(workflow([input, llm("a", "(a)")], ["in->a"]), { limits: { maxWallTimeMs: 1_000 } });
    expect(finished.status).toBe("failed");
    expect(finished.error?.code).toBe("limit:wall-time");
    expect(finished.ms).toBe(1_000);
  });

  it("fails a node whose output grows past the size limit", async () => {
    const { run } = setup(() => ({ chunks: ["x".repeat(600), "y".repeat(600)] }));
    const { of } = await run(workflow([input, llm("a", "(a)")], ["in->a"]), { limits: { maxOutputBytes: 1_000 } });
    expect(of("node-failed")).toEqual([expect.objectContaining({ code: "limit:output-size" })]);
  });

  it("refuses a workflow with more nodes than allowed before any call", async () => {
    const { run, model } = setup(() => ({ text: "x" }));
    const chain = Array.from({ length: 6 }, (_, i) => llm(`n${i}`, `(n${i})`));
    const doc = workflow([input, ...chain], chain.map((n, i) => `${i ? `n${i - 1}` : "in"}->${n.id}`));
    const { finished } = await run(doc, { limits: { maxNodes: 5 } });
    expect(finished.error?.code).toBe("invalid-document");
    expect(finished.error?.issues?.[0].code).toBe("limit:nodes");
    expect(model.calls).toHaveLength(0);
  });

  it("refuses missing or mistyped inputs before any call", async () => {
    const { run, model } = setup(() => ({ text: "x" }));
    const doc = workflow([input, llm("a", "(a)")], ["in->a"], { inputs: [{ key: "topic", label: "Topic", type: "number", required: true }] });
    const { finished } = await run(doc, { inputs: { topic: "many", extra: 1 } });
    expect(finished.error?.code).toBe("invalid-inputs");
    expect(finished.error?.issues?.map((i) => i.path).sort()).toEqual(["inputs.extra", "inputs.topic"]);
    expect(model.calls).toHaveLength(0);
  });
});

describe("outputs and warnings", () => {
  it("warns about unfilled placeholders left in an output", async () => {
    const { run } = setup(() => ({ text: "In conclusion, [mention the overarching topic of the report] matters." }));
    const { finished } = await run(workflow([input, llm("a", "(a)")], ["in->a"]));
    expect(finished.status).toBe("succeeded");
    expect(finished.warnings).toEqual([expect.objectContaining({ code: "unfilled-placeholder", nodeId: "a" })]);
  });

  it("warns when the model stops at its token limit", async () => {
    const { run } = setup(() => ({ text: "cut sho", finishReason: "length" }));
    const { finished } = await run(workflow([input, llm("a", "(a)")], ["in->a"]));
    expect(finished.warnings.map((w) => w.code)).toEqual(["output-truncated"]);
  });

  it("reports token usage per node and for the run", async () => {
    const { run } = setup(() => ({ text: "x" }));
    const { finished, of } = await run(workflow([input, llm("a", "(a)"), llm("b", "(b)")], ["in->a", "a->b"]));
    expect(of("node-finished").find((e) => e.nodeId === "a")?.usage).toEqual({ inputTokens: 10, outputTokens: 5 });
    expect(finished.usage).toEqual({ inputTokens: 20, outputTokens: 10 });
  });

  it("stops cleanly when the consumer stops reading", async () => {
    const { model, clock } = setup(() => ({ latency: 100, text: "x" }));
    const doc = workflow([input, llm("a", "(a)")], ["in->a"]);
    await clock.drive(
      (async () => {
        for await (const event of runWorkflow(doc, { models: model.port, clock })) if (event.type === "node-started" && event.nodeId === "a") break;
      })(),
    );
    expect(model.calls[0].aborted).toBe(true);
  });
});

describe("loops keep their branches", () => {
  const gate = (id: string, rule: ConditionRule) => ({ id, kind: "gate" as const, config: { mode: "condition" as const, condition: { match: "all" as const, rules: [rule] } } });

  it("a router inside a gate loop: the branch it takes on the last pass runs, even if it died on an earlier pass", async () => {
    let drafts = 0;
    const { run } = setup((call) =>
      call.schema ? { object: { route: call.prompt.includes("long") ? "b" : "a", reason: "by length" } } : { text: idOf(call) === "draft" ? (++drafts >= 2 ? "long enough text" : "short") : `${idOf(call)} text` },
    );
    const doc = workflow(
      [
        input,
        llm("draft", "(draft)"),
        { ...router(["a", "b"]), config: { outputKey: "decision", prompt: "{{draft}}", routes: [{ name: "a", description: "a" }, { name: "b", description: "b" }] } },
        gate("check", { op: "length_at_least", key: "draft", value: 10 }),
        llm("afterB", "{{draft}} (afterB)"),
        { id: "out", kind: "output", config: { keys: ["draft", "decision", "afterB"] } },
      ],
      ["in->draft", "draft->route", "route:a->check", "route:b->check", "route:b->afterB", "check:fail->draft", "check:pass->out", "afterB->out"],
    );
    const { finished, of } = await run(doc);
    expect(finished.status).toBe("succeeded");
    expect(finished.outputs).toEqual({ draft: "long enough text", decision: "b", afterB: "afterB text" });
    expect(of("node-skipped").map((e) => e.nodeId)).toEqual([]);
    // What is downstream of a loop sees only its final pass: afterB ran once, after the loop ended.
    expect(of("node-started").filter((e) => e.nodeId === "afterB")).toHaveLength(1);
  });

  it("a gate inside an evaluator loop: its fail branch out of the loop runs when the last pass takes it", async () => {
    let jokes = 0;
    const { run } = setup((call) =>
      call.schema ? { object: { grade: "fail", feedback: "again" } } : { text: idOf(call) === "joke" ? (++jokes === 1 ? "Why? Because!" : "A flat statement.") : "flat fixed" },
    );
    const doc = workflow(
      [
        input,
        llm("joke", "(joke)"),
        gate("punchline", { op: "contains", key: "joke", value: "!" }),
        { id: "grade", kind: "evaluator", config: { key: "joke", gradeKey: "verdict", feedbackKey: "feedback", criteria: "funny", maxIterations: 5 } },
        llm("flat", "{{joke}} (flat)"),
        { id: "out", kind: "output", config: { keys: ["joke", "flat"] } },
      ],
      ["in->joke", "joke->punchline", "punchline:pass->grade", "punchline:fail->flat", "grade:revise->joke", "grade:pass->out", "flat->out"],
    );
    const { finished, of } = await run(doc);
    expect(finished.status).toBe("succeeded");
    expect(finished.outputs).toEqual({ joke: "A flat statement.", flat: "flat fixed" });
    expect(of("node-skipped").map((e) => e.nodeId)).toEqual(["grade"]);
  });

  it("nested loops: the inner loop's count starts again each time the outer loop re-enters it", async () => {
    let inner = 0;
    let outer = 0;
    const { run, model } = setup((call) => {
      if (!call.schema) return { text: `${idOf(call)} text` };
      if (call.prompt.includes("Criteria: inner")) return { object: { grade: ++inner % 2 === 1 ? "fail" : "pass", feedback: "inner" } };
      return { object: { grade: ++outer === 1 ? "fail" : "pass", feedback: "outer" } };
    });
    const evaluator = (id: string, key: string, maxIterations: number) =>
      ({ id, kind: "evaluator", config: { key, gradeKey: `${id}_grade`, feedbackKey: `${id}_feedback`, criteria: id, maxIterations } }) as const;
    const doc = workflow(
      [input, llm("draft", "(draft)"), evaluator("inner", "draft", 2), llm("polish", "{{draft}} (polish)"), evaluator("outer", "polish", 3), { id: "out", kind: "output", config: { keys: ["polish"] } }],
      ["in->draft", "draft->inner", "inner:revise->draft", "inner:pass->polish", "polish->outer", "outer:revise->draft", "outer:pass->out"],
    );
    const { finished } = await run(doc);
    expect(finished.status).toBe("succeeded");
    expect(finished.warnings).toEqual([]);
    expect(model.calls.filter((c) => idOf(c) === "draft")).toHaveLength(4);
  });

  it("bounds the loop-backs of a whole run, nested loops included, with a named error", async () => {
    const { run, model } = setup((call) => (call.schema ? { object: { grade: "fail", feedback: "no" } } : { text: "draft" }));
    const doc = workflow(
      [input, llm("joke", "(joke)"), { id: "grade", kind: "evaluator", config: { key: "joke", gradeKey: "verdict", feedbackKey: "feedback", criteria: "funny", maxIterations: 10 } }],
      ["in->joke", "joke->grade", "grade:revise->joke"],
    );
    const { finished } = await run(doc, { limits: { maxTotalLoopIterations: 3 } });
    expect(finished.status).toBe("failed");
    expect(finished.error).toMatchObject({ code: "limit:loop-iterations", nodeId: "grade" });
    expect(model.calls.filter((c) => c.schema)).toHaveLength(4);
  });
});

describe("no error escapes the run", () => {
  const unhandled: unknown[] = [];
  const listen = (reason: unknown) => unhandled.push(reason);

  it("a node kind whose result throws when read ends the run failed with internal, and nothing is left unhandled", async () => {
    process.on("unhandledRejection", listen);
    const spy = vi.spyOn(KINDS.aggregate, "execute").mockImplementation(async () => ({
      get writes(): Record<string, unknown> {
        throw new Error("the kind broke");
      },
    }));
    try {
      const { run } = setup(() => ({ text: "x" }));
      const doc = workflow([input, llm("a", "(a)"), { id: "join", kind: "aggregate", config: { outputKey: "both" } }], ["in->a", "a->join"]);
      const { finished } = await run(doc);
      expect(finished.status).toBe("failed");
      expect(finished.error?.code).toBe("internal");
      expect(finished.error?.message).toMatch(/the kind broke/);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
    } finally {
      spy.mockRestore();
      process.off("unhandledRejection", listen);
    }
  });

  it.each([
    ["throws when asked for a stream", (): ModelPort => ({ stream: () => { throw new Error("port exploded"); } })],
    ["throws from next()", (): ModelPort => ({ stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => { throw new Error("port exploded"); } }) }) })],
  ])("a model port that %s fails its node with a code", async (_, make) => {
    const clock = new VirtualClock();
    const events: RunEvent[] = [];
    await clock.drive((async () => {
      for await (const event of runWorkflow(workflow([input, llm("a", "(a)")], ["in->a"]), { models: make(), clock })) events.push(event);
    })());
    const finished = events.at(-1) as RunEventOf<"run-finished">;
    expect(finished.status).toBe("failed");
    expect(finished.error).toMatchObject({ code: "unknown", nodeId: "a" });
    expect(finished.error?.message).toMatch(/port exploded/);
  });
});

describe("timeouts and cancel never wait for the provider", () => {
  /** A provider that neither answers nor honours its abort signal, and whose cleanup never ends. */
  const deaf = (): ModelPort & { calls: number } => {
    const port = {
      calls: 0,
      stream: () => {
        port.calls++;
        return { [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => undefined), return: () => new Promise<never>(() => undefined) }) };
      },
    };
    return port;
  };

  it("a first-token timeout fires on a provider that ignores its abort signal", async () => {
    const clock = new VirtualClock();
    const events: RunEvent[] = [];
    const models = deaf();
    await clock.drive((async () => {
      for await (const event of runWorkflow(workflow([input, llm("a", "(a)")], ["in->a"]), { models, clock, limits: { maxAttempts: 2, firstTokenTimeoutMs: 5_000, backoffBaseMs: 100 } })) events.push(event);
    })());
    const finished = events.at(-1) as RunEventOf<"run-finished">;
    expect(finished.error?.code).toBe("timeout:first-token");
    expect(models.calls).toBe(2);
    expect(finished.ms).toBeGreaterThanOrEqual(10_000);
    expect(finished.ms).toBeLessThan(10_200);
  });

  it("cancel ends a run whose provider hangs at once, keeping the streamed text and the finished nodes", async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    let calls = 0;
    const models: ModelPort = {
      stream: () => {
        const call = ++calls;
        let sent = false;
        return {
          [Symbol.asyncIterator]: () => ({
            next: () => {
              if (call === 1) return Promise.resolve(sent ? { done: true as const, value: undefined } : ((sent = true), { done: false as const, value: { type: "finish" as const, finishReason: "stop" } }));
              if (!sent) return (sent = true), Promise.resolve({ done: false as const, value: { type: "text" as const, delta: "half an" } });
              return new Promise<never>(() => undefined);
            },
            return: () => new Promise<never>(() => undefined),
          }),
        };
      },
    };
    const events: RunEvent[] = [];
    clock.schedule(2_000, () => controller.abort());
    await clock.drive((async () => {
      for await (const event of runWorkflow(workflow([input, llm("a", "(a)"), llm("b", "(b)")], ["in->a", "a->b"]), { models, clock, signal: controller.signal, coalesceMs: 30 })) events.push(event);
    })());
    const finished = events.at(-1) as RunEventOf<"run-finished">;
    expect(finished.status).toBe("cancelled");
    expect(finished.ms).toBe(2_000);
    expect(finished.state).toMatchObject({ a: "" });
    expect(events.filter((e) => e.type === "node-delta").map((e) => (e as RunEventOf<"node-delta">).text)).toEqual(["half an"]);
    expect(events.findIndex((e) => e.type === "node-delta")).toBeLessThan(events.findIndex((e) => e.type === "node-cancelled"));
  });

  it("a waiting semaphore acquire rejects when its signal aborts, and the slot goes to the next waiter", async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const controller = new AbortController();
    const first = semaphore.acquire(controller.signal);
    const second = semaphore.acquire();
    controller.abort();
    await expect(first).rejects.toBeInstanceOf(CancelledError);
    semaphore.release();
    await expect(second).resolves.toBeUndefined();
  });
});

describe("coalescing", () => {
  it("merges one call's deltas within the window into fewer events with the same text", async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => `w${i} `);
    const { run } = setup(() => ({ latency: 400, chunks }));
    const doc = workflow([input, llm("a", "(a)")], ["in->a"]);
    const plain = await run(doc);
    const merged = await run(doc, { coalesceMs: 50 });
    const text = (events: RunEvent[]) => events.flatMap((e) => (e.type === "node-delta" ? [e.text] : [])).join("");
    expect(text(merged.events)).toBe(chunks.join(""));
    expect(text(plain.events)).toBe(chunks.join(""));
    expect(plain.of("node-delta")).toHaveLength(40);
    expect(merged.of("node-delta").length).toBeLessThanOrEqual(9);
    expect(merged.finished.state.a).toBe(chunks.join(""));
  });

  it("streams structured output as JSON text deltas whose whole is the object", async () => {
    const object = { route: "joke", reason: "asks for a joke" };
    const json = JSON.stringify(object);
    const clock = new VirtualClock();
    const models: ModelPort = {
      async *stream() {
        for (let i = 0; i < json.length; i += 5) yield { type: "text", delta: json.slice(i, i + 5) };
        yield { type: "finish", finishReason: "stop" };
      },
    };
    const events: RunEvent[] = [];
    await clock.drive((async () => {
      for await (const event of runWorkflow(workflow([input, router(["joke"]), llm("joke", "(joke)")], ["in->route", "route:joke->joke"]), { models, clock })) events.push(event);
    })());
    const deltas = events.filter((e): e is RunEventOf<"node-delta"> => e.type === "node-delta" && e.nodeId === "route");
    expect(deltas.map((e) => e.json).join("")).toBe(json);
    expect(deltas.every((e) => e.partial === undefined && e.text === undefined)).toBe(true);
    expect((events.at(-1) as RunEventOf<"run-finished">).state.decision).toBe("joke");
  });

  it("applies the output size limit to structured output", async () => {
    const clock = new VirtualClock();
    const models: ModelPort = {
      async *stream() {
        yield { type: "text", delta: '{"route":"joke","reason":"' };
        for (let i = 0; i < 100; i++) yield { type: "text", delta: "x".repeat(100) };
        yield { type: "text", delta: '"}' };
        yield { type: "finish", finishReason: "stop" };
      },
    };
    const events: RunEvent[] = [];
    await clock.drive((async () => {
      for await (const event of runWorkflow(workflow([input, router(["joke"]), llm("joke", "(joke)")], ["in->route", "route:joke->joke"]), { models, clock, limits: { maxOutputBytes: 5_000 } })) events.push(event);
    })());
    expect(events.find((e) => e.type === "node-failed")).toMatchObject({ nodeId: "route", code: "limit:output-size" });
  });
});
