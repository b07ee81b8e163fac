import { describe, expect, it } from "vitest";
import { runWorkflow, type RunEvent, type RunEventOf } from "@/lib/workflow";
import { input, llm, workflow } from "@/lib/workflow/testing/build";
import { scriptedModel } from "@/lib/workflow/testing/scripted-model";
import { VirtualClock } from "@/lib/workflow/testing/virtual-clock";
import { Continuation } from "./continuation";

/** A cluster run resumed after its worker stopped during an aggregate's re-run round (docs/architecture.md §4.15). */

const doc = workflow(
  [
    input,
    llm("a", "Answer about {{topic}} (a)"),
    llm("b", "Answer about {{topic}} (b)"),
    llm("c", "Answer about {{topic}} (c)"),
    { id: "j", kind: "aggregate", config: { outputKey: "combined", agreement: { key: "agreement", rerun: {} } } },
  ],
  ["in->a", "in->b", "in->c", "a->j", "b->j", "c->j"],
);

async function run(resume?: Continuation): Promise<RunEvent[]> {
  const clock = new VirtualClock();
  const nile = "The Nile is the longest river in Africa and flows north through Egypt.";
  const model = scriptedModel(clock, (call) => ({
    latency: 10,
    text: call.prompt.includes("(c)") && !call.prompt.includes("[Agreement check]") ? "Quarterly revenue grew because the marketing budget doubled." : nile,
  }));
  const events: RunEvent[] = [];
  await clock.drive(
    (async () => {
      for await (const event of runWorkflow(doc, { models: model.port, clock, random: () => 0.5, runId: "r", resume: resume?.resume })) {
        events.push(...(resume ? resume.next(event) : [event]));
      }
    })(),
  );
  return events;
}

describe("a resumed run's stream across a re-run round", () => {
  it("sends the round once, re-runs the branch that had not finished, and ends where the whole run does", async () => {
    const whole = await run();
    // The earlier attempt stopped while c ran again for round 2.
    const cut = whole.findIndex((e) => e.type === "node-started" && e.nodeId === "c" && e.iteration === 2) + 1;
    const earlier = whole.slice(0, cut);
    const rest = await run(new Continuation(doc, earlier));
    const stream = [...earlier, ...rest];
    expect(stream.filter((e) => e.type === "branches-rerun")).toHaveLength(1);
    expect(stream.map((e) => e.seq)).toEqual(stream.map((_, i) => i));
    const finished = stream.at(-1) as RunEventOf<"run-finished">;
    expect(finished.status).toBe("succeeded");
    expect(finished.state).toEqual((whole.at(-1) as RunEventOf<"run-finished">).state);
    expect(rest.find((e) => e.type === "node-retry")).toMatchObject({ nodeId: "c", code: "worker-lost" });
  });
});
