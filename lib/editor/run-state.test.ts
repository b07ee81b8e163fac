import { describe, expect, it } from "vitest";
import type { RunEvent, RunEventBody } from "@/lib/workflow";
import { abandonRun, advanceReplay, applyRunEvents, edgeRunState, INTERRUPTED, recordedDuration, replayRun, startRunState } from "./run-state";

let seq = 0;
const at = (t: number, body: RunEventBody): RunEvent => ({ ...body, seq: seq++, t }) as RunEvent;

describe("run reducer", () => {
  it("streams text into a node and finishes it with its output, ports and duration", () => {
    let run = startRunState("r1", ["a", "b"]);
    run = applyRunEvents(run, [
      at(0, { type: "node-started", nodeId: "a", iteration: 1, model: "demo:default" }),
      at(5, { type: "node-delta", nodeId: "a", text: "Hel" }),
      at(6, { type: "node-delta", nodeId: "a", text: "lo" }),
    ]);
    expect(run.nodes.a).toMatchObject({ status: "running", text: "Hello", model: "demo:default" });
    expect(run.nodes.b.status).toBe("queued");
    run = applyRunEvents(run, [at(9, { type: "node-finished", nodeId: "a", output: { a: "Hello" }, ports: ["out"], usage: { inputTokens: 1, outputTokens: 2 }, ms: 9, iteration: 1 })]);
    expect(run.nodes.a).toMatchObject({ status: "succeeded", text: "Hello", ms: 9, spans: [{ start: 0, end: 9, status: "succeeded" }] });
  });

  it("knows a run the server ran has a record, and one it refused before starting has none", () => {
    const ran = applyRunEvents(startRunState("r1", ["a"]), [at(0, { type: "run-started", runId: "r1", workflow: "w", inputs: {}, at: 1_796_000_000_000 })]);
    expect(ran.recorded).toBe(true);
    // What the run service answers a refusal with (busy, rate-limited, a model it lacks…): no start stamp.
    const refused = applyRunEvents(startRunState("r2", ["a"]), [
      at(0, { type: "run-started", runId: "r2", workflow: "w", inputs: {} }),
      at(0, { type: "run-finished", status: "failed", outputs: {}, state: {}, usage: { inputTokens: 0, outputTokens: 0 }, warnings: [], error: { code: "busy", message: "busy" }, ms: 0 }),
    ]);
    expect(refused.status).toBe("failed");
    expect(refused.recorded).toBeUndefined();
    expect(abandonRun(startRunState("r3", ["a"]), "lost").recorded).toBeUndefined();
  });

  it("keeps untouched nodes identical so their cards do not re-render", () => {
    const run = startRunState("r1", ["a", "b"]);
    const next = applyRunEvents(run, [at(1, { type: "node-started", nodeId: "a", iteration: 1 })]);
    expect(next.nodes.b).toBe(run.nodes.b);
    expect(next.nodes.a).not.toBe(run.nodes.a);
    expect(applyRunEvents(next, [])).toBe(next);
  });

  it("coalesces a batch into the same state as one event at a time", () => {
    const events = [
      at(0, { type: "node-started", nodeId: "a", iteration: 1 }),
      ...Array.from({ length: 50 }, (_, i) => at(i + 1, { type: "node-delta", nodeId: "a", text: `${i} ` })),
      at(60, { type: "node-finished", nodeId: "a", output: {}, ports: ["out"], usage: { inputTokens: 0, outputTokens: 0 }, ms: 60, iteration: 1 }),
    ];
    const batched = applyRunEvents(startRunState("r", ["a"]), events);
    const single = events.reduce((run, event) => applyRunEvents(run, [event]), startRunState("r", ["a"]));
    expect(batched).toEqual(single);
  });

  it("routes deltas to worker instances, even when they arrive before the plan or out of order", () => {
    let run = startRunState("r", ["w"]);
    run = applyRunEvents(run, [
      at(0, { type: "node-started", nodeId: "w", iteration: 1 }),
      at(1, { type: "node-delta", nodeId: "w", instance: 2, text: "third " }),
      at(2, { type: "node-instances", nodeId: "w", labels: ["Intro", "Body", "Conclusion"] }),
      at(3, { type: "node-delta", nodeId: "w", instance: 0, text: "first" }),
      at(4, { type: "node-delta", nodeId: "w", instance: 2, text: "again" }),
      at(5, { type: "node-started", nodeId: "w", instance: 1, label: "Body", iteration: 1 }),
    ]);
    expect(run.nodes.w.instances.map((i) => [i.label, i.text, i.status])).toEqual([
      ["Intro", "first", "queued"],
      ["Body", "", "running"],
      ["Conclusion", "third again", "queued"],
    ]);
  });

  it("starts a fresh iteration of a loop and keeps a timeline span per iteration", () => {
    let run = startRunState("r", ["g"]);
    run = applyRunEvents(run, [
      at(0, { type: "node-started", nodeId: "g", iteration: 1 }),
      at(1, { type: "node-delta", nodeId: "g", text: "draft 1" }),
      at(2, { type: "node-finished", nodeId: "g", output: {}, ports: ["out"], usage: { inputTokens: 0, outputTokens: 0 }, ms: 2, iteration: 1 }),
      at(5, { type: "node-started", nodeId: "g", iteration: 2 }),
      at(6, { type: "node-delta", nodeId: "g", text: "draft 2" }),
    ]);
    expect(run.nodes.g).toMatchObject({ iteration: 2, text: "draft 2", status: "running" });
    expect(run.nodes.g.spans.map((s) => [s.start, s.end, s.iteration])).toEqual([
      [0, 2, 1],
      [5, undefined, 2],
    ]);
  });

  it("derives edge states: flowing, the branch taken, dead branches", () => {
    let run = startRunState("r", ["router", "x"]);
    run = applyRunEvents(run, [at(0, { type: "node-started", nodeId: "router", iteration: 1 })]);
    expect(edgeRunState(run, "router", "joke")).toBe("flowing");
    run = applyRunEvents(run, [
      at(3, { type: "node-finished", nodeId: "router", output: {}, ports: ["joke"], usage: { inputTokens: 0, outputTokens: 0 }, ms: 3, iteration: 1 }),
      at(3, { type: "node-skipped", nodeId: "x" }),
    ]);
    expect(edgeRunState(run, "router", "joke")).toBe("taken");
    expect(edgeRunState(run, "router", "poem")).toBe("dead");
    expect(edgeRunState(run, "x", "out")).toBe("dead");
    expect(edgeRunState(null, "router", "joke")).toBe("idle");
  });

  it("ends a run whose stream broke as failed, never running forever", () => {
    let run = applyRunEvents(startRunState("r", ["a"]), [at(0, { type: "node-started", nodeId: "a", iteration: 1 })]);
    run = abandonRun(run, "The connection to the server was lost.");
    expect(run.status).toBe("failed");
    expect(run.error?.message).toMatch(/connection/);
    expect(run.nodes.a.status).toBe("cancelled");
  });
});

describe("replay of a recorded run", () => {
  const events: RunEvent[] = [
    at(0, { type: "run-started", runId: "r", workflow: "w", inputs: {} }),
    at(0, { type: "node-started", nodeId: "a", iteration: 1 }),
    at(10, { type: "node-delta", nodeId: "a", text: "one " }),
    at(20, { type: "node-delta", nodeId: "a", text: "two" }),
    at(30, { type: "node-finished", nodeId: "a", output: { a: "one two" }, ports: ["out"], usage: { inputTokens: 1, outputTokens: 2 }, ms: 30, iteration: 1 }),
    at(30, { type: "node-started", nodeId: "b", iteration: 1 }),
    at(50, { type: "node-finished", nodeId: "b", output: {}, ports: ["out"], usage: { inputTokens: 1, outputTokens: 1 }, ms: 20, iteration: 1 }),
    at(51, { type: "run-finished", status: "succeeded", outputs: { a: "one two" }, state: {}, usage: { inputTokens: 2, outputTokens: 3 }, warnings: [], ms: 51 }),
  ];

  it("replayed to the end is the live run's final state", () => {
    const live = applyRunEvents(startRunState("r", ["a", "b"]), events);
    expect(replayRun("r", ["a", "b"], events)).toEqual(live);
    expect(recordedDuration(events)).toBe(51);
  });

  it("at a moment mid-run shows what had streamed by then, with the clocks stopped there", () => {
    const mid = replayRun("r", ["a", "b"], events, 15);
    expect(mid).toMatchObject({ status: "running", frozenAt: 15, t: 15 });
    expect(mid.nodes.a).toMatchObject({ status: "running", text: "one " });
    expect(mid.nodes.b.status).toBe("queued");
  });

  it("moving forward from a position equals replaying to the new position from the start", () => {
    const from = replayRun("r", ["a", "b"], events, 15);
    const forward = advanceReplay(from, events, 3, 6, 40);
    expect(forward).toEqual(replayRun("r", ["a", "b"], events, 40));
    expect(forward.nodes.b.status).toBe("running");
  });
});

describe("replay of an interrupted run", () => {
  const events: RunEvent[] = [
    at(0, { type: "run-started", runId: "r", workflow: "w", inputs: {} }),
    at(0, { type: "node-started", nodeId: "a", iteration: 1 }),
    at(10, { type: "node-finished", nodeId: "a", output: { a: "done" }, ports: ["out"], usage: { inputTokens: 1, outputTokens: 1 }, ms: 10, iteration: 1 }),
    at(10, { type: "node-started", nodeId: "b", iteration: 1 }),
    at(20, { type: "node-delta", nodeId: "b", text: "half" }),
  ];

  it("ends where the record ends, saying the server stopped, with what completed kept", () => {
    const end = replayRun("r", ["a", "b"], events, Infinity, true);
    expect(end).toMatchObject({ status: "failed", error: { code: "interrupted", message: INTERRUPTED } });
    expect(end.frozenAt).toBeUndefined();
    expect(end.nodes.a).toMatchObject({ status: "succeeded", output: { a: "done" } });
    expect(end.nodes.b).toMatchObject({ status: "cancelled", text: "half" });
    // Before the end it is still running, as it was.
    expect(replayRun("r", ["a", "b"], events, 15, true).status).toBe("running");
  });
});
