import { describe, expect, it } from "vitest";
import { runWorkflow } from "./engine/run";
import { parseDocument } from "./schema";
import { keysRead, testNodeDocument } from "./test-node";
import { input, workflow } from "./testing/build";
import { scriptedModel } from "./testing/scripted-model";
import { VirtualClock } from "./testing/virtual-clock";
import type { RunEvent } from "./engine/events";

describe("Test this node", () => {
  const doc = workflow(
    [
      input,
      { id: "plan", kind: "orchestrator", config: { outputKey: "sections", prompt: "Plan {{topic}}", maxItems: 5 } },
      { id: "write", kind: "worker", config: { forEach: "sections", outputKey: "done", prompt: "Write {{item.name}} on {{topic}}" } },
    ],
    ["in->plan", "plan:plan->write"],
  );

  it("reads the keys a node's templates and fields use, not its item scope", () => {
    expect(keysRead(doc, "write").sort()).toEqual(["sections", "topic"]);
  });

  it("runs the node alone: upstream keys answered by pinned steps, no other model call", async () => {
    const built = testNodeDocument(doc, "write", { topic: "otters", sections: [{ name: "A" }, { name: "B" }] });
    if (!built.ok) throw new Error(built.message);
    expect(parseDocument(built.document).ok).toBe(true);
    const clock = new VirtualClock();
    const model = scriptedModel(clock, (call) => ({ text: call.prompt }));
    const events: RunEvent[] = [];
    await clock.drive(
      (async () => {
        for await (const event of runWorkflow(built.document, { models: model.port, clock, inputs: built.inputs })) events.push(event);
      })(),
    );
    expect(model.calls.map((c) => c.prompt)).toEqual(["Write A on otters", "Write B on otters"]);
    const finished = events.at(-1);
    expect(finished?.type === "run-finished" && finished.state.done).toEqual(["Write A on otters", "Write B on otters"]);
  });

  it("refuses nodes with nothing to test", () => {
    expect(testNodeDocument(doc, "in", {})).toMatchObject({ ok: false });
  });
});
