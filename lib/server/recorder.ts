import "server-only";
import type { RunEvent, RunEventOf } from "@/lib/workflow";
import { compactDeltas } from "./db/compact";
import { databaseErrorMessage, sqlState } from "./db/errors";

export type RecorderSink = {
  append(events: RunEvent[]): Promise<void>;
  /**
   * Stores the run's result; `lost` counts the events that could not be stored, so the record can
   * say so. `events`, when given, are the run's last ones (its `run-finished` among them), to be
   * stored in the same write.
   */
  finish(finished: RunEventOf<"run-finished">, info: { lost: number; events?: RunEvent[] }): Promise<void>;
};

/** What `finish()` achieved: `recorded` only when every event and the result were stored. */
export type RecordResult = { recorded: boolean; lost: number };

export type RecorderOptions = {
  /** A batch waits at most this long for more events. */
  maxDelayMs: number;
  /** A batch is written at once when this many events are waiting, and never holds more. */
  maxBatch: number;
  /** While the database is away, at most this many events (or about this many bytes) wait; more are lost and counted. */
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  /** Failed writes are retried with exponential backoff from `retryInitialMs` up to `retryMaxMs` between attempts. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long `finish()` may keep retrying before it answers; the result is then retried in the background. */
  finishTimeoutMs: number;
  /** A write that has not answered by then counts as failed (a silently dropped connection can hang for minutes). */
  writeTimeoutMs: number;
  /** Told once per outage (the first failed write), not on every retry. */
  onError(error: unknown): void;
};

const DEFAULTS: RecorderOptions = {
  maxDelayMs: 100,
  maxBatch: 64,
  maxBufferedEvents: 10_000,
  maxBufferedBytes: 32 * 1024 * 1024,
  retryInitialMs: 100,
  retryMaxMs: 5_000,
  finishTimeoutMs: 30_000,
  writeTimeoutMs: 10_000,
  onError: (error) => console.error("trellis: run recording is failing, retrying:", databaseErrorMessage(error)),
};

/** Between background attempts to store a result that `finish()` could not. */
const BACKGROUND_RETRY_MAX_MS = 30_000;

// Every recorder with something unwritten (events, or a result being retried), across Next.js
// bundles: SIGTERM flushes them all.
const REGISTRY = Symbol.for("trellis.recorders");
const active = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new Set()) as Set<RunRecorder>;

/** Writes what every active recorder holds, retrying until `timeoutMs`; what is still unwritten then is counted as lost. */
export async function flushAllRecorders({ timeoutMs = 5_000 }: { timeoutMs?: number } = {}): Promise<{ recorders: number; lost: number }> {
  const recorders = [...active];
  await Promise.all(recorders.map((recorder) => recorder.flush({ timeoutMs })));
  return { recorders: recorders.length, lost: recorders.reduce((sum, recorder) => sum + recorder.lost, 0) };
}

/** A rough size, cheap enough for every delta: the streamed text dominates. */
function approxBytes(event: RunEvent): number {
  if (event.type === "node-delta") return 128 + (event.text?.length ?? 0) + (event.json?.length ?? 0) + (event.partial === undefined ? 0 : JSON.stringify(event.partial).length);
  if (event.type === "node-finished") return 128 + (JSON.stringify(event.output)?.length ?? 0);
  return 256;
}

/** Errors no retry can fix: the data itself is refused (PostgreSQL classes 22 and 23). */
const permanent = (error: unknown) => /^2[23]/.test(sqlState(error) ?? "");

class WriteTimeoutError extends Error {
  constructor(ms: number) {
    super(`the database did not answer a write within ${Math.round(ms)} ms`);
    this.name = "WriteTimeoutError";
  }
}

/** The write, or a failure once `ms` have passed; a write that answers later is harmless (writes are idempotent). */
function withTimeout(write: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WriteTimeoutError(ms)), ms);
  });
  return Promise.race([write, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number, { unref = false } = {}) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (unref) timer.unref();
  });

/**
 * Stores a run's events as they happen without slowing the stream: events are buffered and
 * written in batches (every `maxDelayMs`, or at once when `maxBatch` are waiting), one write at a
 * time, in order, each batch's deltas merged into chunks of at most 50 ms (compactDeltas), so a
 * run's record is compact by the time it ends and a replay at recorded speed looks the same. The
 * last batch goes with the result, so a short run is one write. A failed write is retried with backoff, never given up at the first error:
 * during the run for as long as it lasts (the buffer is bounded; overflow is counted as lost), and
 * from `finish()` on for `finishTimeoutMs`. The result is always attempted, and if it cannot be
 * stored by then it keeps being retried in the background, so no record stays `running` while
 * its process lives. The run itself never waits on the database except in `finish()`.
 */
export class RunRecorder {
  private pending: RunEvent[] = [];
  /** What each pending event counts against maxBufferedBytes, measured once (approxBytes serialises outputs). */
  private pendingSizes: number[] = [];
  private pendingBytes = 0;
  private pump: Promise<void> | null = null;
  private finishing: Promise<boolean> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private deadline = Infinity;
  private failing = false;
  private lostEvents = 0;
  private readonly options: RecorderOptions;
  /** Write attempts so far, for tests and diagnostics. */
  writes = 0;

  constructor(
    private readonly sink: RecorderSink,
    options: Partial<RecorderOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Events that will not be stored (buffer overflow, or still unwritten when time ran out). */
  get lost(): number {
    return this.lostEvents;
  }

  push(event: RunEvent) {
    const bytes = approxBytes(event);
    // The result always gets in: without it a replay cannot tell how the run ended.
    const full = this.pending.length >= this.options.maxBufferedEvents || this.pendingBytes + bytes > this.options.maxBufferedBytes;
    if (full && event.type !== "run-finished") {
      this.lostEvents++;
      return;
    }
    active.add(this);
    this.pending.push(event);
    this.pendingSizes.push(bytes);
    this.pendingBytes += bytes;
    if (this.pending.length >= this.options.maxBatch) void this.kick();
    // Every run's batch falls due at the same moments (multiples of the delay), so the batches of
    // runs streaming together are written together, in one statement (appendRunEventsGrouped).
    else this.timer ??= setTimeout(() => void this.kick(), this.options.maxDelayMs - (Date.now() % this.options.maxDelayMs));
  }

  /**
   * Writes whatever is buffered; resolves when every write so far is done (or, past `timeoutMs`,
   * given up and counted as lost). Never rejects.
   */
  async flush({ timeoutMs }: { timeoutMs?: number } = {}): Promise<void> {
    if (timeoutMs !== undefined) this.deadline = Math.min(this.deadline, Date.now() + timeoutMs);
    while (this.pending.length || this.pump) await this.kick();
    // The last events finish() took to write with the result are still held until that write answers.
    if (this.finishing) await this.finishing;
  }

  /**
   * Flushes and stores the run's result, retrying for at most `finishTimeoutMs`. Never rejects.
   * The last batch (at most `maxBatch` events, `run-finished` among them once pushed) is written
   * with the result, in one write; should that write fail for good, the result is stored alone.
   */
  async finish(finished: RunEventOf<"run-finished">): Promise<RecordResult> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const last = this.take(Math.max(0, this.pending.length - this.options.maxBatch));
    await this.flush({ timeoutMs: this.options.finishTimeoutMs });
    let stored = false;
    if (last.length) {
      const events = compactDeltas(last);
      active.add(this);
      this.finishing = this.attempt(() => this.sink.finish(finished, { lost: this.lostEvents, events }));
      stored = await this.finishing;
      this.finishing = null;
      active.delete(this);
      if (!stored) this.lostEvents += last.length;
    }
    const lost = this.lostEvents;
    if (!stored) stored = await this.attempt(() => this.sink.finish(finished, { lost }));
    if (!stored) void this.finishInBackground(finished, lost);
    return { recorded: stored && lost === 0, lost };
  }

  /** Removes pending events from `start` (at most `count`) and what they counted. */
  private take(start: number, count = Infinity): RunEvent[] {
    for (const bytes of this.pendingSizes.splice(start, count)) this.pendingBytes -= bytes;
    return this.pending.splice(start, count);
  }

  private kick(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pump ??= this.drain().finally(() => {
      this.pump = null;
      if (!this.pending.length) active.delete(this);
    });
    return this.pump;
  }

  private async drain() {
    while (this.pending.length) {
      const batch = this.take(0, this.options.maxBatch);
      // Deltas are stored compact: those of one node within 50 ms become one row, written once,
      // rather than written apart and merged (deleted and rewritten) when the run ends.
      const rows = compactDeltas(batch);
      if (!(await this.attempt(() => this.sink.append(rows)))) this.lostEvents += batch.length;
    }
  }

  /** One write, retried with exponential backoff and jitter until it succeeds, fails for good, or the deadline comes. */
  private async attempt(write: () => Promise<void>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      this.writes++;
      try {
        // Within the deadline, but never so short that a healthy database could not answer.
        await withTimeout(write(), Math.min(this.options.writeTimeoutMs, Math.max(1_000, this.deadline - Date.now())));
        this.failing = false;
        return true;
      } catch (error) {
        if (!this.failing) this.options.onError(error);
        this.failing = true;
        if (permanent(error)) return false;
        const delay = this.backoff(attempt, this.options.retryMaxMs);
        if (Date.now() + delay > this.deadline) return false;
        await sleep(delay);
      }
    }
  }

  private backoff(attempt: number, maxMs: number) {
    const base = Math.min(maxMs, this.options.retryInitialMs * 2 ** Math.min(attempt, 20));
    return base * (0.8 + Math.random() * 0.4);
  }

  /** Keeps trying to store the result while the process lives (it stays in the registry until then). */
  private async finishInBackground(finished: RunEventOf<"run-finished">, lost: number) {
    active.add(this);
    for (let attempt = 0; ; attempt++) {
      await sleep(this.backoff(attempt, BACKGROUND_RETRY_MAX_MS), { unref: true });
      try {
        await withTimeout(this.sink.finish(finished, { lost }), this.options.writeTimeoutMs);
        active.delete(this);
        return;
      } catch (error) {
        if (permanent(error)) {
          active.delete(this);
          return;
        }
      }
    }
  }
}
