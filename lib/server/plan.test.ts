import { describe, expect, it } from "vitest";
import { runWorkflow, withModel, type AgreementReport, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import type { ModelConfig } from "./config";
import { createModels } from "./models";
import { demoPlan, demoPlanObject } from "./models/demo-plan";
import { admitPlan, planWorkflow, PLANS_PER_MINUTE } from "./plan";

/** Planning from a task with the offline demo model, end to end: plan → route → build → run. */

const config: ModelConfig = { demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 };
const models = createModels(config);

async function plan(task: string) {
  const result = await planWorkflow({ task }, { models });
  if (!result.ok) throw new Error(result.error.message);
  return result.data;
}

async function run(document: WorkflowDocument) {
  const events: RunEvent[] = [];
  for await (const event of runWorkflow(withModel(document, "demo:fast"), { models: models.port })) events.push(event);
  return { events, finished: events.at(-1) as RunEventOf<"run-finished"> };
}

describe("the demo planner", () => {
  it("splits a task into its listed parts; a recommendation depends on the rest", () => {
    const subtasks = demoPlan("Compare Python, Go and Rust for a CLI tool: performance, ecosystem, learning curve and a recommendation");
    expect(subtasks.map((s) => s.title)).toEqual(["Performance", "Ecosystem", "Learning curve", "Recommendation"]);
    expect(subtasks[3].dependsOn).toEqual(["s1", "s2", "s3"]);
    expect(subtasks.slice(0, 3).every((s) => s.dependsOn.length === 0)).toBe(true);
  });

  it("chains steps joined by 'then'", () => {
    const subtasks = demoPlan("Outline a blog post about remote work, then draft it, then edit it for clarity");
    expect(subtasks.map((s) => s.dependsOn)).toEqual([[], ["s1"], ["s2"]]);
  });

  it("is deterministic, and answers the planner's schema through the demo model", () => {
    const task = "Write a haiku, a limerick and a short story about autumn";
    expect(demoPlan(task)).toEqual(demoPlan(task));
    expect(demoPlan(task).map((s) => s.prompt)).toEqual(["Write a haiku.", "Write a limerick.", "Write a short story about autumn."]);
    expect(demoPlanObject("x", { properties: { answer: {} } })).toBeUndefined();
  });
});

describe("planWorkflow", () => {
  it.each([
    ["Outline a blog post about remote work, then draft it, then edit it for clarity", "sequential", "3 subtasks, width 1, depth 3, coupling 0.67 → sequential: a chain of 3 steps"],
    ["Write a haiku, a limerick and a short story about autumn", "parallel", "3 subtasks, width 3, depth 1, coupling 0.00 → parallel: 3 branches at once, then a checked merge"],
    ["Research each of these cities: Paris, Rome, Berlin, Vienna and a comparison", "hierarchical", "5 subtasks, width 4, depth 2, coupling 0.40 → hierarchical: a coordinator hands 4 items of one kind of work to workers"],
    ["Compare Python, Go and Rust for a CLI tool: performance, ecosystem, learning curve and a recommendation", "hybrid", "4 subtasks, width 3, depth 2, coupling 0.50 → hybrid: 2 stages"],
  ])("plans %j as %s, and the workflow runs offline", async (task, topology, explanation) => {
    const planned = await plan(task);
    expect(planned.topology).toBe(topology);
    expect(planned.explanation).toBe(explanation);
    expect(planned.repairs).toEqual([]);
    const { finished } = await run(planned.document);
    expect(finished.status).toBe("succeeded");
    expect(Object.values(finished.outputs).every((value) => typeof value === "string" && value.length > 20)).toBe(true);
  });

  it("puts an agreement score on the parallel merge, in the run record and for the synthesizer", async () => {
    const planned = await plan("Write a haiku, a limerick and a short story about autumn");
    const { events, finished } = await run(planned.document);
    const merged = events.find((e): e is RunEventOf<"node-finished"> => e.type === "node-finished" && e.nodeId === "n_results");
    const report = (merged?.output as { agreement: AgreementReport }).agreement;
    expect(report.method).toBe("lexical");
    expect(report.score).toBeGreaterThanOrEqual(0);
    expect(report.branches.map((b) => b.key)).toEqual(["haiku", "limerick", "short_story_about_autumn"]);
    expect(finished.state.agreement).toEqual(report);
  });

  it("hands the planned subtasks to the workers of a hierarchical workflow, the comparison last", async () => {
    const planned = await plan("Research each of these cities: Paris, Rome, Berlin, Vienna and a comparison");
    const { events } = await run(planned.document);
    const labels = events.find((e): e is RunEventOf<"node-instances"> => e.type === "node-instances")?.labels;
    expect(labels).toEqual(["Paris", "Rome", "Berlin", "Vienna", "Comparison"]);
    const starts = events.filter((e): e is RunEventOf<"node-started"> => e.type === "node-started" && e.nodeId === "n_work" && e.instance !== undefined);
    expect(starts.at(-1)?.instance).toBe(4);
  });

  it("refuses a task it cannot plan and a model this server does not have", async () => {
    expect(await planWorkflow({ task: "" }, { models })).toMatchObject({ ok: false, error: { code: "invalid-request" } });
    expect(await planWorkflow({ task: "Plan a trip", model: "openai:gpt-4o" }, { models })).toMatchObject({ ok: false, error: { code: "model-not-configured" } });
    expect(await planWorkflow({ task: "Plan a trip", extra: 1 }, { models })).toMatchObject({ ok: false, error: { code: "invalid-request" } });
  });

  it("limits plans per identity per minute", () => {
    const owner = `test-${Math.random()}`;
    for (let i = 0; i < PLANS_PER_MINUTE; i++) expect(admitPlan(owner, 1_000)).toBe(true);
    expect(admitPlan(owner, 1_000)).toBe(false);
    expect(admitPlan(owner, 62_000)).toBe(true);
  });
});
