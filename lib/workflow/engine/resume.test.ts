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
    // The run's calls: a's (recalled), b's on the stopped attempt, then b and c again.
    expect(resumed.finished.calls).toBe(4);
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

  describe("the run's limits hold across attempts", () => {
    const AT = 1_700_000_000_000;
    /** What the first attempt had sent when b was streaming (or had finished), its start stamped as the server stamps it. */
    const stopped = (events: RunEvent[], cut: (event: RunEvent) => boolean) => {
      const sent = before(events, cut);
      return [{ ...sent[0], at: AT } as RunEvent, ...sent.slice(1)];
    };
    const whileB = (e: RunEvent) => e.type === "node-finished" && e.nodeId === "b";
    const whileC = (e: RunEvent) => e.type === "node-finished" && e.nodeId === "c";

    it("counts the wall time from the run's first start: a resumed run fails when the time left runs out, or at once when none is left", async () => {
      const { run } = setup(() => ({ latency: 600, text: "ok" }));
      const whole = await run(chain);
      const limits = { maxWallTimeMs: 10_000 };
      // 9 s had gone by when it resumed: b and c take 1.2 s more.
      const late = await run(chain, { limits, resume: resumeFromEvents(chain, stopped(whole.events, whileB), AT + 9_000) });
      expect(late.finished).toMatchObject({ status: "failed", error: { code: "limit:wall-time" } });
      expect(late.finished.ms).toBeCloseTo(10_000, -1);
      // Resumed after 1 s, the same work fits.
      const early = await run(chain, { limits, resume: resumeFromEvents(chain, stopped(whole.events, whileB), AT + 1_000) });
      expect(early.finished.status).toBe("succeeded");
      // Resumed after the limit: it fails before any call.
      const over = await run(chain, { limits, resume: resumeFromEvents(chain, stopped(whole.events, whileB), AT + 11_000) });
      expect(over.finished).toMatchObject({ status: "failed", error: { code: "limit:wall-time" } });
      expect(over.calls).toEqual([]);
    });

    it("counts the earlier attempts' model calls against maxModelCalls, the interrupted one included", async () => {
      const { run } = setup((call) => ({ latency: 10, text: `${tag(call)}!` }));
      const whole = await run(chain);
      expect(whole.finished.calls).toBe(3);
      const resume = () => resumeFromEvents(chain, stopped(whole.events, whileB), AT);
      expect(resume().modelCalls).toBe(2);
      // Three calls were enough without a stop; a, b (stopped), b again and c are four.
      const capped = await run(chain, { limits: { maxModelCalls: 3 }, resume: resume() });
      expect(capped.finished).toMatchObject({ status: "failed", error: { code: "limit:model-calls" } });
      expect(capped.calls.map(tag)).toEqual(["b"]);
      const roomy = await run(chain, { limits: { maxModelCalls: 4 }, resume: resume() });
      expect(roomy.finished).toMatchObject({ status: "succeeded", calls: 4 });
    });

    it("counts the recalled executions' tokens against the run's token budget", async () => {
      const { run } = setup((call) => ({ latency: 10, text: `${tag(call)}!` }));
      const whole = await run(chain);
      const used = whole.finished.usage.inputTokens + whole.finished.usage.outputTokens;
      const resume = () => resumeFromEvents(chain, stopped(whole.events, whileC), AT);
      // a and b are recalled with their tokens; c's alone would fit in a budget one token short of the whole run's.
      const short = await run(chain, { limits: { maxTokens: used - 1 }, resume: resume() });
      expect(short.calls.map(tag)).toEqual(["c"]);
      expect(short.finished).toMatchObject({ status: "failed", error: { code: "budget-exceeded" } });
      const exact = await run(chain, { limits: { maxTokens: used }, resume: resume() });
      expect(exact.finished.status).toBe("succeeded");
      expect(exact.finished.usage).toEqual(whole.finished.usage);
    });

    it("counts the calls of a map's instances once, whether they finished, were recalled or were stopped", async () => {
      const mapped = workflow(
        [
          input,
          { id: "plan", kind: "orchestrator", config: { outputKey: "sections", prompt: "Plan {{topic}}", maxItems: 20 } },
          { id: "write", kind: "worker", config: { forEach: "sections", outputKey: "done", prompt: "Write {{item.name}}", concurrency: 2 } },
          { id: "join", kind: "synthesizer", config: { mode: "join", from: "done", outputKey: "report" } },
        ],
        ["in->plan", "plan:plan->write", "write->join"],
      );
      const plan = { items: ["A", "B", "C"].map((name) => ({ name, description: name })) };
      const { run } = setup((call) => (call.schema ? { object: plan } : { latency: call.prompt === "Write A" ? 5 : 20, text: `${call.prompt} ok` }));
      const whole = await run(mapped);
      expect(whole.finished.calls).toBe(4);
      // Stopped with the plan and instance 0 finished, instances 1 and 2 streaming.
      const sent = stopped(whole.events, (e) => e.type === "node-finished" && e.nodeId === "write" && e.instance !== 0);
      const resume = resumeFromEvents(mapped, sent, AT);
      expect(resume.modelCalls).toBe(4);
      const resumed = await run(mapped, { resume });
      expect(resumed.finished).toMatchObject({ status: "succeeded", calls: 6 });
      // Stopped again after instance 1 restarted (as the cluster sends it: a worker-lost retry) and finished: it counts the attempt it lost too.
      const restarted: RunEvent = { seq: 1_000, t: 0, type: "node-retry", nodeId: "write", instance: 1, attempt: 2, delayMs: 0, code: "worker-lost", message: "stopped" };
      const finishedAgain = { ...resumed.events.find((e) => e.type === "node-finished" && e.instance === 1)!, seq: 1_001 };
      expect(resumeFromEvents(mapped, [...sent, restarted, finishedAgain], AT).modelCalls).toBe(5);
    });
  });
});
