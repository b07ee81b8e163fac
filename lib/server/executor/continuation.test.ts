import { describe, expect, it } from "vitest";
import { ModelError, runWorkflow, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import { input, llm, workflow } from "@/lib/workflow/testing/build";
import { scriptedModel } from "@/lib/workflow/testing/scripted-model";
import { VirtualClock } from "@/lib/workflow/testing/virtual-clock";
import { replayRun } from "@/lib/editor/run-state";
import { Continuation } from "./continuation";

/** A run stopped part-way, then resumed: the stream a follower reads across both attempts. */

/** `lose`: the first call with this prompt fails as a call whose worker died does (cluster mode's map calls). */
async function run(doc: WorkflowDocument, resume?: Continuation, lose?: string): Promise<{ events: RunEvent[]; calls: string[] }> {
  const clock = new VirtualClock();
  let grades = 0;
  let lost = false;
  const model = scriptedModel(clock, (call) =>
    call.prompt === lose && !lost && (lost = true)
      ? { latency: 5, chunks: ["half "], error: new ModelError("worker-lost", "the process making this call stopped") }
      : call.schema?.properties && "grade" in (call.schema.properties as object)
      ? // The grader: fail, fail, then pass, counted across both attempts as a model would answer afresh.
        { latency: 10, object: ++grades % 3 === 0 ? { grade: "pass", feedback: "good" } : { grade: "fail", feedback: `fix ${grades}` } }
      : call.schema
        ? { object: { items: ["A", "B", "C"].map((name) => ({ name, description: name })) } }
        : { latency: 40, chunks: [`${call.prompt} `, "streams ", "on"] },
  );
  const events: RunEvent[] = [];
  await clock.drive(
    (async () => {
      for await (const event of runWorkflow(doc, { models: model.port, clock, random: () => 0.5, runId: "r", resume: resume?.resume })) {
        events.push(...(resume ? resume.next(event) : [event]));
      }
    })(),
  );
  return { events, calls: model.calls.map((call) => call.prompt) };
}

const chain = workflow([input, llm("a", "A"), llm("b", "B {{a}}"), llm("c", "C {{b}}")], ["in->a", "a->b", "b->c"]);
const mapped = workflow(
  [
    input,
    { id: "plan", kind: "orchestrator", config: { outputKey: "sections", prompt: "Plan {{topic}}", maxItems: 20 } },
    { id: "write", kind: "worker", config: { forEach: "sections", outputKey: "done", prompt: "Write {{item.name}}", concurrency: 3 } },
    { id: "join", kind: "synthesizer", config: { mode: "join", from: "done", outputKey: "report" } },
  ],
  ["in->plan", "plan:plan->write", "write->join"],
);

const looped = workflow(
  [
    input,
    llm("joke", "Joke{{#feedback}} after {{feedback}}{{/feedback}}"),
    { id: "grade", kind: "evaluator", config: { key: "joke", gradeKey: "verdict", feedbackKey: "feedback", criteria: "funny", maxIterations: 5 } },
  ],
  ["in->joke", "joke->grade", "grade:revise->joke"],
);

describe("a resumed run's stream", () => {
  it("goes on from the last event sent: numbered without gaps, nothing sent twice, the interrupted node restarting as attempt 2", async () => {
    const whole = await run(chain);
    // The earlier attempt had sent b's first delta when it stopped.
    const cut = whole.events.findIndex((e) => e.type === "node-delta" && e.nodeId === "b") + 1;
    const earlier = whole.events.slice(0, cut);
    const second = await run(chain, new Continuation(chain, earlier));
    expect(second.calls).toEqual(["B A streams on", "C B A streams on streams on"]);
    const stream = [...earlier, ...second.events];
    expect(stream.map((e) => e.seq)).toEqual(stream.map((_, i) => i));
    const finishes = stream.filter((e): e is RunEventOf<"node-finished"> => e.type === "node-finished").map((e) => `${e.nodeId}#${e.iteration}`);
    expect(finishes).toEqual(["in#1", "a#1", "b#1", "c#1"]);
    expect(second.events[0]).toMatchObject({ type: "node-retry", nodeId: "b", attempt: 2, code: "worker-lost", delayMs: 0 });
    expect(stream.filter((e) => e.type === "run-started")).toHaveLength(1);
    // Time never goes back.
    expect(stream.every((e, i) => i === 0 || e.t >= stream[i - 1].t)).toBe(true);
    // A client that read the whole stream shows b's text once, as a whole run's.
    const shown = replayRun("r", ["in", "a", "b", "c"], stream);
    const expected = replayRun("r", ["in", "a", "b", "c"], whole.events);
    expect(shown.nodes.b.text).toBe(expected.nodes.b.text);
    expect(shown.outputs).toEqual(expected.outputs);
  });

  it("inside a loop: passes already sent are not sent again (nor their loop-iteration), the pass in progress restarts as attempt 2", async () => {
    const whole = await run(looped);
    expect(whole.events.filter((e) => e.type === "loop-iteration")).toHaveLength(2);
    // Stopped while the second draft streamed (after the first loop-iteration).
    const cut = whole.events.findIndex((e) => e.type === "node-delta" && e.nodeId === "joke" && whole.events.some((l) => l.type === "loop-iteration" && l.seq < e.seq)) + 1;
    const earlier = whole.events.slice(0, cut);
    const second = await run(looped, new Continuation(looped, earlier));
    const stream = [...earlier, ...second.events];
    expect(stream.map((e) => e.seq)).toEqual(stream.map((_, i) => i));
    // Only the second draft and what follows called the model again; the first pass was recalled.
    expect(second.calls[0]).toBe("Joke after fix 1");
    const loops = stream.filter((e): e is RunEventOf<"loop-iteration"> => e.type === "loop-iteration").map((e) => e.iteration);
    expect(loops).toEqual([...new Set(loops)]);
    const finishes = stream.filter((e): e is RunEventOf<"node-finished"> => e.type === "node-finished").map((e) => `${e.nodeId}#${e.iteration}`);
    expect(finishes).toEqual([...new Set(finishes)]);
    expect(second.events.filter((e) => e.type === "node-retry")).toEqual([expect.objectContaining({ nodeId: "joke", attempt: 2, code: "worker-lost" })]);
    expect(stream.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
  });

  it("restarts only the map instances in progress; finished ones and their node's instance list are not sent again", async () => {
    const whole = await run(mapped);
    const cut = whole.events.findIndex((e) => e.type === "node-finished" && e.nodeId === "write" && e.instance !== undefined) + 1;
    const earlier = whole.events.slice(0, cut);
    const done = (earlier.at(-1) as RunEventOf<"node-finished">).instance!;
    const second = await run(mapped, new Continuation(mapped, earlier));
    expect(second.calls).toHaveLength(2);
    const retries = second.events.filter((e): e is RunEventOf<"node-retry"> => e.type === "node-retry");
    // The node itself and the two instances that were streaming.
    expect(retries.map((e) => String(e.instance ?? "node")).sort()).toEqual([...[0, 1, 2].filter((i) => i !== done).map(String), "node"]);
    expect(retries.every((e) => e.attempt === 2)).toBe(true);
    expect(second.events.filter((e) => e.type === "node-instances")).toHaveLength(0);
    const ids = ["in", "plan", "write", "join"];
    const shown = replayRun("r", ids, [...earlier, ...second.events]);
    expect(shown.outputs).toEqual(replayRun("r", ids, whole.events).outputs);
    expect(shown.nodes.write.instances.map((instance) => instance.text)).toEqual(["Write A streams on", "Write B streams on", "Write C streams on"]);
  });

  it("numbers an instance's attempts on across both attempts of the run: a call lost again after the restart is attempt 3", async () => {
    const whole = await run(mapped);
    const cut = whole.events.findIndex((e) => e.type === "node-finished" && e.nodeId === "write" && e.instance !== undefined) + 1;
    const earlier = whole.events.slice(0, cut);
    const done = (earlier.at(-1) as RunEventOf<"node-finished">).instance!;
    const unlucky = [0, 1, 2].find((i) => i !== done)!;
    const second = await run(mapped, new Continuation(mapped, earlier), `Write ${"ABC"[unlucky]}`);
    const retries = second.events.filter((e): e is RunEventOf<"node-retry"> => e.type === "node-retry" && e.instance === unlucky);
    expect(retries.map((e) => [e.attempt, e.code])).toEqual([
      [2, "worker-lost"],
      [3, "worker-lost"],
    ]);
    expect(second.events.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    const ids = ["in", "plan", "write", "join"];
    // The text of the lost attempt is replaced, not appended to.
    expect(replayRun("r", ids, [...earlier, ...second.events]).nodes.write.instances[unlucky].text).toBe(`Write ${"ABC"[unlucky]} streams on`);
  });
});
