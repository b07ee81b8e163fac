import { describe, expect, it } from "vitest";
import type { WorkflowDocument } from "../schema";
import { input, llm, workflow } from "../testing/build";
import { scriptedModel, type Script } from "../testing/scripted-model";
import { VirtualClock } from "../testing/virtual-clock";
import type { RunEvent, RunEventOf } from "./events";
import type { ModelCall } from "./model-port";
import { resumeFromEvents } from "./resume";
import { runWorkflow, type RunOptions } from "./run";

/** One scripted model; each run returns its events and the calls it made. */
function setup(script: (call: ModelCall) => Script) {
  const clock = new VirtualClock();
  const model = scriptedModel(clock, script);
  const run = async (doc: WorkflowDocument, options: Partial<RunOptions> = {}) => {
    const before = model.calls.length;
    const events: RunEvent[] = [];
    await clock.drive(
      (async () => {
        for await (const event of runWorkflow(doc, { models: model.port, clock, random: () => 0.5, runId: "r", ...options })) events.push(event);
      })(),
    );
    return { events, finished: events.at(-1) as RunEventOf<"run-finished">, calls: model.calls.slice(before) };
  };
  return { run };
}

const tag = (call: ModelCall) => /\((\w+)\)/.exec(call.prompt)?.[1] ?? call.prompt;
/** The events an attempt had sent when it stopped: everything before the first event `cut` matches. */
const before = (events: RunEvent[], cut: (event: RunEvent) => boolean) => events.slice(0, events.findIndex(cut));

describe("resuming a run after its earlier attempt stopped", () => {
  const chain = workflow([input, llm("a"), llm("b", "Use {{a}} (b)"), llm("c", "Use {{b}} (c)")], ["in->a", "a->b", "b->c"]);

  it("recalls every execution the earlier attempt finished without calling the model, runs the rest, and ends where a whole run ends", async () => {
    const { run } = setup((call) => ({ latency: 10, text: `${tag(call)}!` }));
    const whole = await run(chain);
    // Stopped while b streamed: in and a had finished.
    const sent = before(whole.events, (e) => e.type === "node-finished" && e.nodeId === "b");
    const resumed = await run(chain, { resume: resumeFromEvents(chain, sent) });
    expect(resumed.calls.map(tag)).toEqual(["b", "c"]);
    expect(resumed.calls[0].prompt).toBe("Use a! (b)");
    expect(resumed.finished.state).toEqual(whole.finished.state);
    expect(resumed.finished.outputs).toEqual(whole.finished.outputs);
    // The recalled execution keeps its usage: the run's total is the whole run's.
    expect(resumed.finished.usage).toEqual(whole.finished.usage);
    expect(resumed.finished.calls).toBe(2);
    // Every execution is announced with the same node, iteration and order of readiness as before.
    const starts = (events: RunEvent[]) => events.filter((e) => e.type === "node-started").map((e) => `${e.nodeId}#${e.iteration}`);
    expect(starts(resumed.events)).toEqual(starts(whole.events));
  });

  it("recalls by iteration inside a loop: a pass that finished is recalled, the pass in progress runs again with the feedback it had", async () => {
    const looped = workflow(
      [
        input,
        llm("joke", "Joke about {{topic}}{{#feedback}} with feedback: {{feedback}}{{/feedback}} (joke)"),
        { id: "grade", kind: "evaluator", config: { key: "joke", gradeKey: "verdict", feedbackKey: "feedback", criteria: "funny", maxIterations: 3 } },
        llm("after", "Polish {{joke}} (after)"),
      ],
      ["in->joke", "joke->grade", "grade:revise->joke", "grade:pass->after"],
    );
    let grades = 0;
    let drafts = 0;
    const { run } = setup((call) =>
      call.schema ? { object: ++grades >= 2 ? { grade: "pass", feedback: "good" } : { grade: "fail", feedback: `fix ${grades}` } } : { text: tag(call) === "joke" ? `draft ${++drafts}` : "polished" },
    );
    const whole = await run(looped);
    expect(whole.finished.state).toMatchObject({ joke: "draft 2", verdict: "pass" });
    // Stopped while the second draft streamed.
    const sent = before(whole.events, (e) => e.type === "node-finished" && e.nodeId === "joke" && e.iteration === 2);
    const resumed = await run(looped, { resume: resumeFromEvents(looped, sent) });
    expect(resumed.calls.map((call) => call.prompt)).toEqual(["Joke about cats with feedback: fix 1 (joke)", expect.any(String), "Polish draft 3 (after)"]);
    expect(resumed.events.filter((e) => e.type === "loop-iteration")).toHaveLength(1);
    expect(resumed.finished.status).toBe("succeeded");
  });

  it("recalls a map's finished instances by item index; only the others call the model", async () => {
    const mapped = workflow(
      [
        input,
        { id: "plan", kind: "orchestrator", config: { outputKey: "sections", prompt: "Plan {{topic}}", maxItems: 20 } },
        { id: "write", kind: "worker", config: { forEach: "sections", outputKey: "done", prompt: "Write {{item.name}}", concurrency: 2 } },
        { id: "join", kind: "synthesizer", config: { mode: "join", from: "done", outputKey: "report" } },
      ],
      ["in->plan", "plan:plan->write", "write->join"],
    );
    const plan = { items: ["A", "B", "C", "D"].map((name) => ({ name, description: name })) };
    const { run } = setup((call) => (call.schema ? { object: plan } : { latency: call.prompt === "Write A" ? 5 : 20, text: `${call.prompt} ok` }));
    const whole = await run(mapped);
    // Stopped once instance 0 had finished, the others still streaming or queued.
    const sent = before(whole.events, (e) => e.type === "node-finished" && e.nodeId === "write" && e.instance !== 0);
    expect(sent.filter((e) => e.type === "node-finished" && e.nodeId === "write").map((e) => (e as RunEventOf<"node-finished">).instance)).toEqual([0]);
    const resumed = await run(mapped, { resume: resumeFromEvents(mapped, sent) });
    expect(resumed.calls.map((call) => call.prompt)).toEqual(["Write B", "Write C", "Write D"]);
    expect(resumed.finished.state.report).toBe(whole.finished.state.report);
  });
});
