import { describe, expect, it } from "vitest";
import { runWorkflow, type AgreementReport, type RunEvent } from "@/lib/workflow";
import { input, llm, workflow } from "@/lib/workflow/testing/build";
import { scriptedModel } from "@/lib/workflow/testing/scripted-model";
import { VirtualClock } from "@/lib/workflow/testing/virtual-clock";
import { applyRunEvents, replayRun, startRunState } from "./run-state";

/** A run whose aggregate re-ran a branch, as the canvas and a replay of its record see it. */

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
const ids = doc.nodes.map((n) => n.id);

async function recorded(): Promise<RunEvent[]> {
  const clock = new VirtualClock();
  const nile = "The Nile is the longest river in Africa and flows north through Egypt.";
  // c answers off topic until it is asked to check its answer against the others.
  const model = scriptedModel(clock, (call) => ({
    latency: 10,
    text: call.prompt.includes("(c)") && !call.prompt.includes("[Agreement check]") ? "Quarterly revenue grew because the marketing budget doubled." : nile,
  }));
  const events: RunEvent[] = [];
  await clock.drive(
    (async () => {
      for await (const event of runWorkflow(doc, { models: model.port, clock })) events.push(event);
    })(),
  );
  return events;
}

describe("run state of a re-run round", () => {
  it("records the round, shows the join waiting for its branches meanwhile, and the re-run branch twice on the timeline", async () => {
    const events = await recorded();
    const at = events.findIndex((e) => e.type === "branches-rerun");
    expect(at).toBeGreaterThan(0);
    const during = applyRunEvents(startRunState("r", ids), events.slice(0, at + 1));
    expect(during.reruns).toEqual([{ nodeId: "j", round: 2, keys: ["c"], nodes: ["c"], t: events[at].t }]);
    expect(during.nodes.j.status).toBe("queued");
    expect((during.nodes.j.output as { agreement: AgreementReport }).agreement.rerun).toEqual({ round: 2, keys: ["c"] });

    const live = applyRunEvents(startRunState("r", ids), events);
    expect(live.status).toBe("succeeded");
    expect(live.nodes.j.status).toBe("succeeded");
    expect(live.nodes.c.spans.map((s) => s.iteration)).toEqual([1, 2]);
    expect(live.nodes.a.spans).toHaveLength(1);
    const report = (live.nodes.j.output as { agreement: AgreementReport }).agreement;
    expect(report.rounds).toEqual([{ round: 2, rerun: ["c"], before: expect.any(Number), after: 1 }]);
  });

  it("replays to the same state as the live run, batched or one event at a time", async () => {
    const events = await recorded();
    const live = events.reduce((run, event) => applyRunEvents(run, [event]), startRunState("r", ids));
    expect(applyRunEvents(startRunState("r", ids), events)).toEqual(live);
    expect(replayRun("r", ids, events)).toEqual(live);
    const rerunAt = events.find((e) => e.type === "branches-rerun")!.t;
    expect(replayRun("r", ids, events, rerunAt).reruns).toHaveLength(1);
    expect(replayRun("r", ids, events, rerunAt - 0.001).reruns).toBeUndefined();
  });
});
