import { describe, expect, it } from "vitest";
import type { RunEvent, RunEventOf } from "@/lib/workflow";
import { flushAllRecorders, RunRecorder, type RecorderOptions } from "./recorder";

/** The run recorder against a fake sink: batching, retries, bounded buffering, and the result it reports. */

/** An event the recorder stores as it is (deltas of one node it merges: see the compaction case). */
const event = (seq: number): RunEvent => ({ seq, t: seq, type: "node-delta", nodeId: `n${seq}`, text: "x" });
const finished = (seq: number): RunEventOf<"run-finished"> => ({
  seq,
  t: seq,
  type: "run-finished",
  status: "succeeded",
  outputs: {},
  state: {},
  usage: { inputTokens: 0, outputTokens: 0 },
  warnings: [],
  ms: seq,
});

/** A database that refuses the first `failures` writes of each kind, then stores them. */
function fakeSink({ appendFailures = 0, finishFailures = 0, error = () => new Error("connection refused") }: { appendFailures?: number; finishFailures?: number; error?: () => Error } = {}) {
  const stored: number[] = [];
  const results: Array<{ status: string; lost: number }> = [];
  const state = { appendFailures, finishFailures, appendCalls: 0, down: false };
  return {
    stored,
    results,
    state,
    sink: {
      append: async (events: RunEvent[]) => {
        state.appendCalls++;
        if (state.down || state.appendFailures-- > 0) throw error();
        stored.push(...events.map((e) => e.seq));
      },
      // The run's last events come with its result, stored in the same write.
      finish: async (result: RunEventOf<"run-finished">, { lost, events = [] }: { lost: number; events?: RunEvent[] }) => {
        if (state.down || state.finishFailures-- > 0) throw error();
        stored.push(...events.map((e) => e.seq));
        results.push({ status: result.status, lost });
      },
    },
  };
}

const quick: Partial<RecorderOptions> = { maxDelayMs: 5, maxBatch: 10, retryInitialMs: 2, retryMaxMs: 10, onError: () => {} };

describe("run recorder", () => {
  it("writes in order, in batches, one write at a time", async () => {
    const written: number[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const recorder = new RunRecorder(
      {
        append: async (events) => {
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          written.push(events.map((e) => e.seq));
          inFlight--;
        },
        finish: async () => {},
      },
      { maxDelayMs: 1_000, maxBatch: 100, onError: () => {} },
    );
    for (let seq = 0; seq < 250; seq++) recorder.push(event(seq));
    await recorder.flush();
    expect(written.map((batch) => batch.length)).toEqual([100, 100, 50]);
    expect(written.flat()).toEqual([...Array(250).keys()]);
    expect(maxInFlight).toBe(1);
  });

  it("retries failed writes with backoff until the database recovers: every event stored once, in order, each outage reported once", async () => {
    const { sink, stored, results } = fakeSink({ appendFailures: 4, finishFailures: 2 });
    const errors: unknown[] = [];
    const recorder = new RunRecorder(sink, { ...quick, onError: (error) => errors.push(error) });
    for (let seq = 0; seq < 35; seq++) recorder.push(event(seq));
    expect(await recorder.finish(finished(35))).toEqual({ recorded: true, lost: 0 });
    expect(stored).toEqual([...Array(35).keys()]);
    expect(results).toEqual([{ status: "succeeded", lost: 0 }]);
    // Two outages: the events' (4 failed writes), then the result's (2).
    expect(errors).toHaveLength(2);
    expect(recorder.lost).toBe(0);
  });

  it("stores a short run's events and its result in one write", async () => {
    const { sink, stored, results, state } = fakeSink();
    const recorder = new RunRecorder(sink, { ...quick, maxDelayMs: 60_000 });
    for (let seq = 0; seq < 5; seq++) recorder.push(event(seq));
    recorder.push(finished(5));
    expect(await recorder.finish(finished(5))).toEqual({ recorded: true, lost: 0 });
    expect(state.appendCalls).toBe(0);
    expect(stored).toEqual([0, 1, 2, 3, 4, 5]);
    expect(results).toEqual([{ status: "succeeded", lost: 0 }]);
  });

  it("writes the events before the last batch first, in order, then the last batch with the result", async () => {
    const { sink, stored, results, state } = fakeSink();
    const recorder = new RunRecorder(sink, { ...quick, maxDelayMs: 60_000, maxBatch: 10 });
    for (let seq = 0; seq < 25; seq++) recorder.push(event(seq));
    recorder.push(finished(25));
    expect(await recorder.finish(finished(25))).toEqual({ recorded: true, lost: 0 });
    expect(stored).toEqual([...Array(26).keys()]);
    expect(state.appendCalls).toBe(2);
    expect(results).toHaveLength(1);
  });

  it("stores the result alone when the database refuses its last events as data, counting them as lost", async () => {
    const results: Array<{ lost: number; events: number }> = [];
    const recorder = new RunRecorder(
      {
        append: async () => {},
        finish: async (_, { lost, events = [] }) => {
          if (events.length) throw Object.assign(new Error("invalid input syntax for type json"), { code: "22P02" });
          results.push({ lost, events: events.length });
        },
      },
      { ...quick, maxDelayMs: 60_000 },
    );
    for (let seq = 0; seq < 3; seq++) recorder.push(event(seq));
    recorder.push(finished(3));
    expect(await recorder.finish(finished(3))).toEqual({ recorded: false, lost: 4 });
    expect(results).toEqual([{ lost: 4, events: 0 }]);
  });

  it("keeps a bounded buffer while the database is away: overflow is counted as lost, the result still gets in", async () => {
    const { sink, stored, results, state } = fakeSink();
    state.down = true;
    const recorder = new RunRecorder(sink, { ...quick, maxBufferedEvents: 20 });
    for (let seq = 0; seq < 50; seq++) recorder.push(event(seq));
    recorder.push({ ...finished(50) });
    state.down = false;
    const result = await recorder.finish(finished(50));
    // The first batch was in flight (not buffered) while the buffer filled: 10 + 20 kept, 20 lost.
    expect(result).toEqual({ recorded: false, lost: 20 });
    expect(stored).toHaveLength(31);
    expect(stored.at(-1)).toBe(50);
    expect(results).toEqual([{ status: "succeeded", lost: 20 }]);
  });

  it("gives back the room written events took in its byte bound, so a long run loses nothing", async () => {
    const { sink, stored, results } = fakeSink();
    // Room for about fifteen of these events at a time; the run makes a hundred, written as it goes.
    const recorder = new RunRecorder(sink, { ...quick, maxBufferedBytes: 15 * 129 });
    for (let seq = 0; seq < 100; seq++) {
      recorder.push(event(seq));
      if (seq % 10 === 9) await recorder.flush();
    }
    recorder.push(finished(100));
    expect(await recorder.finish(finished(100))).toEqual({ recorded: true, lost: 0 });
    expect(stored).toHaveLength(101);
    expect(results).toEqual([{ status: "succeeded", lost: 0 }]);
  });

  it("answers within its time bound when the database stays down, and keeps storing the result in the background", async () => {
    const { sink, stored, results, state } = fakeSink();
    state.down = true;
    const recorder = new RunRecorder(sink, { ...quick, finishTimeoutMs: 150 });
    for (let seq = 0; seq < 5; seq++) recorder.push(event(seq));
    const started = Date.now();
    expect(await recorder.finish(finished(5))).toEqual({ recorded: false, lost: 5 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(stored).toEqual([]);
    state.down = false;
    for (let i = 0; i < 100 && !results.length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    // No record is left `running`: the result arrives once the database is back, saying what was lost.
    expect(results).toEqual([{ status: "succeeded", lost: 5 }]);
  });

  it("counts a write that never answers as failed, so finish() still answers within its bound", async () => {
    const recorder = new RunRecorder({ append: () => new Promise<void>(() => {}), finish: () => new Promise<void>(() => {}) }, { ...quick, finishTimeoutMs: 100, writeTimeoutMs: 50 });
    recorder.push(event(0));
    const started = Date.now();
    expect(await recorder.finish(finished(1))).toEqual({ recorded: false, lost: 1 });
    // Each write waits at least a second once the deadline is near (a healthy database answers well within that).
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("drops at once a batch the database refuses as data (no retry can fix it), and goes on", async () => {
    let refused = false;
    const stored: number[] = [];
    const recorder = new RunRecorder(
      {
        append: async (events) => {
          if (!refused) {
            refused = true;
            throw Object.assign(new Error("invalid input syntax for type json"), { code: "22P02" });
          }
          stored.push(...events.map((e) => e.seq));
        },
        finish: async (_, { events = [] }) => {
          stored.push(...events.map((e) => e.seq));
        },
      },
      quick,
    );
    for (let seq = 0; seq < 15; seq++) recorder.push(event(seq));
    expect(await recorder.finish(finished(15))).toEqual({ recorded: false, lost: 10 });
    expect(stored).toEqual([10, 11, 12, 13, 14]);
  });

  it("flushes every active recorder on demand (what SIGTERM does), without waiting for the batch delay", async () => {
    const first = fakeSink();
    const second = fakeSink();
    const a = new RunRecorder(first.sink, { ...quick, maxDelayMs: 60_000 });
    const b = new RunRecorder(second.sink, { ...quick, maxDelayMs: 60_000 });
    a.push(event(0));
    b.push(event(0));
    b.push(event(1));
    // The registry is process-wide: other tests' recorders may be in it too.
    const flushed = await flushAllRecorders({ timeoutMs: 1_000 });
    expect(flushed.recorders).toBeGreaterThanOrEqual(2);
    expect(a.lost + b.lost).toBe(0);
    expect(first.stored).toEqual([0]);
    expect(second.stored).toEqual([0, 1]);
  });

  it("flushing every recorder (SIGTERM) waits for the last events a finishing run writes with its result", async () => {
    const stored: number[] = [];
    const recorder = new RunRecorder(
      {
        append: async (events) => void stored.push(...events.map((e) => e.seq)),
        finish: async (_, { events = [] }) => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          stored.push(...events.map((e) => e.seq));
        },
      },
      { ...quick, maxDelayMs: 60_000 },
    );
    for (let seq = 0; seq < 3; seq++) recorder.push(event(seq));
    recorder.push(finished(3));
    const finishing = recorder.finish(finished(3));
    await new Promise((resolve) => setImmediate(resolve));
    await flushAllRecorders({ timeoutMs: 1_000 });
    expect(stored).toEqual([0, 1, 2, 3]);
    expect(await finishing).toEqual({ recorded: true, lost: 0 });
  });

  it("gives up what it cannot write by the flush deadline and counts it as lost", async () => {
    const { sink, state } = fakeSink();
    state.down = true;
    const recorder = new RunRecorder(sink, { ...quick, maxDelayMs: 60_000 });
    for (let seq = 0; seq < 3; seq++) recorder.push(event(seq));
    const flushed = await flushAllRecorders({ timeoutMs: 100 });
    expect(flushed.lost).toBeGreaterThanOrEqual(3);
    expect(recorder.lost).toBe(3);
  });

  it("stores each batch's deltas compact: one row per node and 50 ms, text intact, other events as they are, lost counted in events", async () => {
    const rows: RunEvent[] = [];
    const recorder = new RunRecorder(
      {
        append: async (events) => {
          rows.push(...events);
        },
        finish: async (_, { events = [] }) => {
          rows.push(...events);
        },
      },
      { ...quick, maxDelayMs: 60_000, maxBatch: 1_000 },
    );
    const pushed: RunEvent[] = [{ seq: 0, t: 0, type: "node-started", nodeId: "a", iteration: 1 }];
    // 300 deltas of two nodes, interleaved, 1 ms apart: 300 ms of streaming.
    for (let i = 0; i < 300; i++) pushed.push({ seq: pushed.length, t: 1 + i, type: "node-delta", nodeId: i % 2 ? "b" : "a", text: String(i % 10) });
    pushed.push({ seq: pushed.length, t: 301, type: "node-finished", nodeId: "a", output: {}, ports: ["out"], usage: { inputTokens: 0, outputTokens: 0 }, ms: 301, iteration: 1 });
    for (const e of pushed) recorder.push(e);
    expect(await recorder.finish(finished(pushed.length))).toEqual({ recorded: true, lost: 0 });
    const deltas = rows.filter((e) => e.type === "node-delta");
    // Two nodes × 300 ms in chunks of at most 50 ms (51 ms of deltas each, inclusive).
    expect(deltas.length).toBeLessThanOrEqual(2 * 6);
    const text = (list: RunEvent[], node: string) => list.flatMap((e) => (e.type === "node-delta" && e.nodeId === node ? [e.text] : [])).join("");
    expect(text(rows, "a")).toBe(text(pushed, "a"));
    expect(text(rows, "b")).toBe(text(pushed, "b"));
    expect(rows.filter((e) => e.type !== "node-delta")).toEqual(pushed.filter((e) => e.type !== "node-delta"));
    expect(rows.map((e) => e.seq)).toEqual([...rows.map((e) => e.seq)].sort((x, y) => x - y));
  });
});
