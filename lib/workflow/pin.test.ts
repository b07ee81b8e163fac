import { describe, expect, it } from "vitest";
import { documentJsonSchema } from "./json-schema";
import { parseDocument, parseDocumentText, serializeDocument, type WorkflowDocument } from "./schema";
import { input, llm, workflow } from "./testing/build";
import { scriptedModel } from "./testing/scripted-model";
import { VirtualClock } from "./testing/virtual-clock";
import type { RunEvent, RunEventOf } from "./engine/events";
import { runWorkflow } from "./engine/run";
import { TEMPLATES } from "./templates";

async function run(doc: WorkflowDocument) {
  const clock = new VirtualClock();
  const model = scriptedModel(clock, (call) => (call.schema ? { object: { grade: "fail", feedback: "again" } } : { text: `answer to ${call.prompt}` }));
  const events: RunEvent[] = [];
  await clock.drive(
    (async () => {
      for await (const event of runWorkflow(doc, { models: model.port, clock })) events.push(event);
    })(),
  );
  return { events, finished: events.at(-1) as RunEventOf<"run-finished">, calls: model.calls };
}

describe("pinned outputs in the document", () => {
  it("round-trips byte for byte, and a document without pins is unchanged by the field's existence", () => {
    const doc = workflow([input, { ...llm("a"), pinned: { value: "a fixed answer" } }, llm("b", "Use {{a}} (b)")], ["in->a", "a->b"]);
    const first = parseDocument(doc);
    if (!first.ok) throw new Error(first.issues[0].message);
    const text = serializeDocument(first.document);
    expect(text).toContain('"pinned": {\n        "value": "a fixed answer"\n      }');
    const parsed = parseDocumentText(text);
    expect(parsed.ok && serializeDocument(parsed.document)).toBe(text);
    for (const template of TEMPLATES) {
      const plain = parseDocument(template.json);
      expect(plain.ok && plain.document.nodes.some((n) => "pinned" in n)).toBe(false);
    }
  });

  it("rejects pins that cannot apply, with their paths", () => {
    const bad = (node: Record<string, unknown>) => {
      const doc = workflow([input, node as never], ["in->x"]);
      const parsed = parseDocument(doc);
      return parsed.ok ? [] : parsed.issues.map((i) => `${i.path}: ${i.message}`);
    };
    expect(bad({ ...llm("x"), pinned: { value: "v", extra: 1 } })).toEqual(['nodes[1].pinned.extra: unknown key "extra"']);
    expect(bad({ ...llm("x"), pinned: {} })).toEqual(["nodes[1].pinned.value: is required"]);
    expect(bad({ id: "x", kind: "output", config: { keys: ["topic"] }, pinned: { value: 1 } })).toEqual(["nodes[1].pinned: a output node has no output to pin"]);
    expect(bad({ id: "x", kind: "gate", config: { mode: "condition", condition: { match: "any", rules: [{ op: "is_empty", key: "topic" }] } }, pinned: { value: 1 } })).toEqual([
      'nodes[1].pinned.port: a pinned gate names the port that fires: "pass" or "fail"',
    ]);
    expect(bad({ id: "x", kind: "evaluator", config: { key: "topic", gradeKey: "g", feedbackKey: "f", criteria: "c" }, pinned: { value: { g: "maybe" } } })).toHaveLength(1);
  });

  it("is documented in the published JSON Schema", () => {
    const text = JSON.stringify(documentJsonSchema());
    expect(text).toContain("A pinned output: the node does not run");
  });
});

describe("pinned outputs in a run", () => {
  it("a pinned node answers its value without calling the model; downstream sees it; the event says pinned", async () => {
    const doc = workflow([input, { ...llm("a"), pinned: { value: "fixed" } }, llm("b", "Use {{a}} (b)")], ["in->a", "a->b"]);
    const { events, finished, calls } = await run(doc);
    expect(calls.map((c) => c.prompt)).toEqual(["Use fixed (b)"]);
    expect(finished.state).toMatchObject({ a: "fixed", b: "answer to Use fixed (b)" });
    expect(events.find((e) => e.type === "node-finished" && e.nodeId === "a")).toMatchObject({ pinned: true, output: { a: "fixed" } });
    expect(finished.calls).toBe(1);
  });

  it("a pinned router takes the route it names; a pinned gate fires its port", async () => {
    const doc = workflow(
      [
        input,
        { id: "route", kind: "router", config: { outputKey: "decision", prompt: "{{topic}}", routes: [{ name: "x", description: "x" }, { name: "y", description: "y" }] }, pinned: { value: "y" } },
        llm("X", "(X)"),
        { id: "gate", kind: "gate", config: { mode: "condition", condition: { match: "any", rules: [{ op: "is_empty", key: "topic" }] } }, pinned: { port: "fail" } },
        llm("Y", "(Y)"),
      ],
      ["in->route", "route:x->X", "route:y->gate", "gate:fail->Y"],
    );
    const { finished, calls } = await run(doc);
    expect(finished.state.decision).toBe("y");
    expect(calls.map((c) => c.prompt)).toEqual(["(Y)"]);
  });

  it("a pinned evaluator that says fail loops within its bound, then continues with a warning", async () => {
    const doc = workflow(
      [input, llm("joke", "(joke)"), { id: "grade", kind: "evaluator", config: { key: "joke", gradeKey: "g", feedbackKey: "f", criteria: "c", maxIterations: 2 }, pinned: { value: { g: "fail", f: "more" } } }],
      ["in->joke", "joke->grade", "grade:revise->joke"],
    );
    const { finished, calls } = await run(doc);
    expect(calls).toHaveLength(2);
    expect(finished.warnings.map((w) => w.code)).toEqual(["max-iterations"]);
    expect(finished.state).toMatchObject({ g: "fail", f: "more" });
  });
});
