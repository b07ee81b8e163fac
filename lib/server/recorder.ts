import "server-only";
import type { RunEvent, RunEventOf } from "@/lib/workflow";

export type RecorderSink = {
  append(events: RunEvent[]): Promise<void>;
  finish(finished: RunEventOf<"run-finished">): Promise<void>;
};

/**
 * Stores a run's events as they happen without slowing the stream: events are buffered and
 * written in batches (every `maxDelayMs`, or at once when `maxBatch` are waiting), one write at a
 * time, in order. A failed write is reported once and stops recording; the run itself goes on.
 */
export class RunRecorder {
  private buffer: RunEvent[] = [];
  private writing: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private broken = false;
  /** Number of writes issued, for tests and diagnostics. */
  writes = 0;

  constructor(
    private readonly sink: RecorderSink,
    private readonly options: { maxDelayMs: number; maxBatch: number; onError(error: unknown): void } = {
      maxDelayMs: 100,
      maxBatch: 64,
      onError: (error) => console.error("run recording stopped:", error),
    },
  ) {}

  push(event: RunEvent) {
    if (this.broken) return;
    this.buffer.push(event);
    if (this.buffer.length >= this.options.maxBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.maxDelayMs);
  }

  /** Writes whatever is buffered; resolves when every write so far is done. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer.splice(0);
    if (batch.length && !this.broken) {
      this.writes++;
      this.writing = this.writing.then(() => (this.broken ? undefined : this.sink.append(batch))).catch((error) => this.fail(error));
    }
    return this.writing;
  }

  /** Flushes and stores the run's result. */
  async finish(finished: RunEventOf<"run-finished">): Promise<void> {
    await this.flush();
    if (this.broken) return;
    await this.sink.finish(finished).catch((error) => this.fail(error));
  }

  private fail(error: unknown) {
    if (this.broken) return;
    this.broken = true;
    this.buffer = [];
    this.options.onError(error);
  }
}
