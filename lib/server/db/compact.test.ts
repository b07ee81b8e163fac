import { describe, expect, it } from "vitest";
import { recordedDuration, replayRun, type RunState } from "@/lib/editor/run-state";
import { findTemplate, parseDocument, runWorkflow, type RunEvent, type RunEventBody } from "@/lib/workflow";
import { createModels } from "../models";
import { compactDeltas, COMPACT_WINDOW_MS, resumeFrom } from "./compact";

/** Deltas merged at the end of a run: fewer rows, and a replay at recorded speed that looks the same. */

function recorder() {
  let seq = 0;
  return (t: number, body: RunEventBody): RunEvent => ({ ...body, seq: seq++, t }) as RunEvent;
}

const NODES = ["a", "b", "w", "s"];

/** What a card shows: text, JSON text, partial object and every instance's text, per node. */
function shown(run: RunState) {
  return Object.fromEntries(Object.entries(run.nodes).map(([id, node]) => [id, { status: node.status, text: node.text, json: node.json ?? "", partial: node.partial, instances: node.instances.map((i) => i.text) }]));
}

/** Everything shown at `t` in the compacted replay was shown in the original by `t`, and the original's is shown in the compacted one by `t` + the window. */
function expectSameReplay(original: RunEvent[], compacted: RunEvent[], ids = NODES) {
  expect(recordedDuration(compacted)).toBe(recordedDuration(original));
  expect(shown(replayRun("r", ids, compacted))).toEqual(shown(replayRun("r", ids, original)));
  for (let t = 0; t <= recordedDuration(original); t += 5) {
    const before = shown(replayRun("r", ids, original, t));
    const now = shown(replayRun("r", ids, compacted, t));
    const later = shown(replayRun("r", ids, compacted, t + COMPACT_WINDOW_MS));
    for (const id of ids) {
      expect(before[id].text.startsWith(now[id].text)).toBe(true);
      expect(later[id].text.startsWith(before[id].text) || later[id].status !== "running").toBe(true);
      expect(before[id].json.startsWith(now[id].json)).toBe(true);
      now[id].instances.forEach((text, i) => expect((before[id].instances[i] ?? "").startsWith(text)).toBe(true));
    }
  }
}

describe("compactDeltas", () => {
  it("merges a node's deltas into chunks of at most 50 ms, at the place and time of each chunk's last delta", () => {
    const at = recorder();
    const events = [
      at(0, { type: "node-started", nodeId: "a", iteration: 1 }),
      ...Array.from({ length: 20 }, (_, i) => at(1 + i * 10, { type: "node-delta", nodeId: "a", text: `${i} ` })),
      at(200, { type: "node-finished", nodeId: "a", output: {}, ports: ["out"], usage: { inputTokens: 0, outputTokens: 0 }, ms: 200, iteration: 1 }),
    ];
    const compacted = compactDeltas(events);
    const deltas = compacted.filter((event) => event.type === "node-delta");
    // 20 deltas 10 ms apart: chunks of 6 (0..50 ms), the last one shorter.
    expect(deltas.map((event) => (event.type === "node-delta" ? event.text : ""))).toEqual(["0 1 2 3 4 5 ", "6 7 8 9 10 11 ", "12 13 14 15 16 17 ", "18 19 "]);
    expect(deltas.map((event) => [event.seq, event.t])).toEqual([
      [6, 51],
      [12, 111],
      [18, 171],
      [20, 191],
    ]);
    expect(compacted.map((event) => event.seq)).toEqual([...compacted.map((event) => event.seq)].sort((x, y) => x - y));
    expectSameReplay(events, compacted, ["a"]);
  });

  it("keeps nodes, instances and kinds apart, and never merges across a retry, a new iteration or an end", () => {
    const at = recorder();
    const events = [
      at(0, { type: "node-started", nodeId: "a", iteration: 1 }),
      at(0, { type: "node-started", nodeId: "b", iteration: 1 }),
      at(0, { type: "node-started", nodeId: "w", iteration: 1 }),
      at(1, { type: "node-delta", nodeId: "a", text: "Hel" }),
      at(2, { type: "node-delta", nodeId: "b", json: '{"gr' }),
      at(3, { type: "node-delta", nodeId: "w", instance: 0, text: "one " }),
      at(4, { type: "node-delta", nodeId: "w", instance: 1, text: "two " }),
      at(5, { type: "node-delta", nodeId: "a", text: "lo" }),
      at(6, { type: "node-delta", nodeId: "b", json: 'ade":' }),
      at(7, { type: "node-delta", nodeId: "w", instance: 0, text: "more" }),
      // A retry clears a's text: what came before it must not be merged with what comes after.
      at(8, { type: "node-retry", nodeId: "a", attempt: 2, delayMs: 10, code: "rate-limited", message: "429" }),
      at(20, { type: "node-delta", nodeId: "a", text: "Again" }),
      at(21, { type: "node-delta", nodeId: "a", text: "!" }),
      at(22, { type: "node-finished", nodeId: "a", output: {}, ports: ["out"], usage: { inputTokens: 0, outputTokens: 0 }, ms: 22, iteration: 1 }),
      at(23, { type: "node-started", nodeId: "a", iteration: 2 }),
      at(24, { type: "node-delta", nodeId: "a", text: "Second" }),
      at(25, { type: "node-delta", nodeId: "s", partial: { a: 1 } }),
      at(26, { type: "node-delta", nodeId: "s", partial: { a: 1, b: 2 } }),
      at(27, { type: "node-delta", nodeId: "b", json: '"pass"}' }),
      at(30, { type: "run-finished", status: "succeeded", outputs: {}, state: {}, usage: { inputTokens: 0, outputTokens: 0 }, warnings: [], ms: 30 }),
    ];
    const compacted = compactDeltas(events);
    const deltas = compacted.flatMap((event) => (event.type === "node-delta" ? [[event.nodeId, event.instance ?? null, event.text ?? event.json ?? event.partial]] : []));
    expect(deltas).toEqual([
      ["w", 1, "two "],
      ["a", null, "Hello"],
      ["w", 0, "one more"],
      ["a", null, "Again!"],
      ["a", null, "Second"],
      ["s", null, { a: 1, b: 2 }],
      ["b", null, '{"grade":"pass"}'],
    ]);
    expectSameReplay(events, compacted, ["a", "b", "w", "s"]);
  });

  it("leaves a run without deltas, and the input, as they are", () => {
    const at = recorder();
    const events = [at(0, { type: "node-started", nodeId: "a", iteration: 1 }), at(1, { type: "node-delta", nodeId: "a", text: "x" }), at(100, { type: "node-delta", nodeId: "a", text: "y" })];
    const copy = structuredClone(events);
    expect(compactDeltas(events)).toEqual(events);
    expect(events).toEqual(copy);
  });

  it("shrinks a real run of every template and replays it the same", async () => {
    const { port, registry } = createModels({ demo: { firstTokenDelayMs: 2, chunkDelayMs: 3 }, limits: {}, coalesceMs: 0 });
    expect(registry).toBeDefined();
    for (const id of ["prompt-chaining", "parallelization", "orchestrator-worker", "evaluator-optimizer"]) {
      const parsed = parseDocument(findTemplate(id)!.json);
      if (!parsed.ok) throw new Error("invalid template");
      const events: RunEvent[] = [];
      for await (const event of runWorkflow(parsed.document, { runId: "r", inputs: {}, models: port })) events.push(event);
      const compacted = compactDeltas(events);
      const deltas = (list: RunEvent[]) => list.filter((event) => event.type === "node-delta").length;
      // Deltas every ~3 ms: a 50 ms chunk holds many (timers on a busy machine only make them fewer).
      expect(deltas(compacted)).toBeLessThan(deltas(events) / 3);
      const ids = parsed.document.nodes.map((node) => node.id);
      expect(shown(replayRun("r", ids, compacted))).toEqual(shown(replayRun("r", ids, events)));
    }
  });
});

describe("resumeFrom", () => {
  it("sends a client that saw some of a merged chunk's deltas the rest of its text or JSON text only, and whole events otherwise", () => {
    const at = recorder();
    const original: RunEvent[] = [
      at(0, { type: "node-started", nodeId: "a", iteration: 1 }),
      at(1, { type: "node-delta", nodeId: "a", text: "Hel" }),
      at(2, { type: "node-delta", nodeId: "b", json: '{"k":' }),
      at(3, { type: "node-delta", nodeId: "a", text: "lo, " }),
      at(4, { type: "node-delta", nodeId: "b", json: '"v"}' }),
      at(5, { type: "node-delta", nodeId: "a", text: "world" }),
      at(6, { type: "node-delta", nodeId: "w", partial: { x: 1 } }),
      at(7, { type: "node-delta", nodeId: "w", partial: { x: 2 } }),
    ];
    const compacted = compactDeltas(original);
    const textOf = (events: RunEvent[], nodeId: string, field: "text" | "json") =>
      events.map((e) => (e.type === "node-delta" && e.nodeId === nodeId ? (e[field] ?? "") : "")).join("");
    for (let cut = -1; cut < original.length; cut++) {
      const rest = compacted.map((event) => resumeFrom(event, cut)).filter((event): event is RunEvent => event !== null);
      const seen = original.filter((event) => event.seq <= cut);
      expect(textOf([...seen, ...rest], "a", "text")).toBe("Hello, world");
      expect(textOf([...seen, ...rest], "b", "json")).toBe('{"k":"v"}');
      expect(rest.every((event) => event.seq > cut && !("parts" in event))).toBe(true);
    }
    // A partial replaces the one before: the newest is sent whole.
    expect(resumeFrom(compacted.find((e) => e.type === "node-delta" && e.nodeId === "w")!, 6)).toMatchObject({ partial: { x: 2 } });
  });
});

