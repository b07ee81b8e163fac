import { describe, expect, it } from "vitest";
import { runWorkflow } from "../engine/run";
import type { RunEvent, RunEventOf } from "../engine/events";
import { input, llm, workflow } from "../testing/build";
import { scriptedModel } from "../testing/scripted-model";
import { VirtualClock } from "../testing/virtual-clock";
import type { WorkflowDocument } from "../schema";
import type { Script } from "../testing/scripted-model";
import type { ModelCall } from "../engine/model-port";
import { agreementReport } from "./agreement";

/** Agreement across parallel outputs: the report, and the aggregate that writes it. */

const RIVERS = "The Nile is the longest river in Africa and flows north through Egypt into the Mediterranean.";

describe("agreementReport", () => {
  it("scores branches that say the same thing high, and finds the one that does not", () => {
    const report = agreementReport([
      { key: "a", text: RIVERS },
      { key: "b", text: "Flowing north through Egypt, the Nile, Africa's longest river, reaches the Mediterranean." },
      { key: "c", text: "The Nile, the longest river in Africa, flows north to the Mediterranean through Egypt." },
      { key: "d", text: "Quarterly revenue grew because the marketing budget doubled." },
    ]);
    expect(report.outliers).toEqual(["d"]);
    expect(report.agrees).toBe(false);
    expect(report.conflicts).toMatch(/^"d" stands apart from the other branches/);
    expect(report.summary).toMatch(/^agreement 0\.\d\d across 4 branches; outlier: d$/);
    expect(report.pairs).toHaveLength(6);
  });

  it("agrees when every branch says much the same", () => {
    const report = agreementReport([
      { key: "a", text: RIVERS },
      { key: "b", text: RIVERS.replace("longest", "great") },
    ]);
    expect(report).toMatchObject({ agrees: true, outliers: [], conflicts: "" });
    expect(report.score).toBeGreaterThan(0.8);
  });

  it("reports disagreement without inventing an outlier when two branches differ", () => {
    const report = agreementReport([
      { key: "a", text: RIVERS },
      { key: "b", text: "Quarterly revenue grew because the marketing budget doubled." },
    ]);
    expect(report).toMatchObject({ score: 0, agrees: false, outliers: [] });
    expect(report.conflicts).toMatch(/share little/);
  });

  it("has nothing to compare with fewer than two branches", () => {
    expect(agreementReport([{ key: "a", text: "x" }])).toMatchObject({ score: null, agrees: true, summary: "agreement not checked: one branch to compare" });
  });
});

async function run(doc: WorkflowDocument, script: (call: ModelCall) => Script) {
  const clock = new VirtualClock();
  const model = scriptedModel(clock, script);
  const events: RunEvent[] = [];
  await clock.drive(
    (async () => {
      for await (const event of runWorkflow(doc, { models: model.port, clock })) events.push(event);
    })(),
  );
  return { events, model, finished: events.at(-1) as RunEventOf<"run-finished"> };
}

describe("the aggregate's agreement check", () => {
  const doc = workflow(
    [
      input,
      llm("a", "A about {{topic}}"),
      llm("b", "B about {{topic}}"),
      llm("c", "C about {{topic}}"),
      { id: "j", kind: "aggregate", config: { outputKey: "combined", agreement: { key: "agreement", threshold: 0.3 } } },
      { id: "v", kind: "synthesizer", config: { mode: "llm", from: "combined", outputKey: "answer", prompt: "{{#agreement.conflicts}}Check: {{agreement.conflicts}}{{/agreement.conflicts}} {{joined}}" } },
    ],
    ["in->a", "in->b", "in->c", "a->j", "b->j", "c->j", "j->v"],
  );

  it("writes the report next to the combined text, into the run record, and for the synthesizer", async () => {
    const texts: Record<string, string> = { A: RIVERS, B: RIVERS, C: "Quarterly revenue grew because the marketing budget doubled." };
    const { events, model, finished } = await run(doc, (call) => ({ latency: 10, text: texts[call.prompt[0]] ?? "ok" }));
    expect(finished.status).toBe("succeeded");
    const merged = events.find((e): e is RunEventOf<"node-finished"> => e.type === "node-finished" && e.nodeId === "j");
    expect(Object.keys(merged?.output as object)).toEqual(["agreement", "combined"]);
    expect(finished.state.agreement).toMatchObject({ outliers: ["c"], threshold: 0.3 });
    expect(model.calls.find((c) => c.prompt.startsWith("Check:"))?.prompt).toContain('"c" stands apart');
  });

  it("is optional: without it the aggregate writes only its combined text", async () => {
    const plain = workflow(
      [input, llm("a", "A about {{topic}}"), llm("b", "B about {{topic}}"), { id: "j", kind: "aggregate", config: { outputKey: "combined" } }],
      ["in->a", "in->b", "a->j", "b->j"],
    );
    const { finished } = await run(plain, () => ({ text: "x" }));
    expect(finished.status).toBe("succeeded");
    expect(finished.state.agreement).toBeUndefined();
  });
});
