import type { Clock } from "../engine/clock";

type Timer = { at: number; seq: number; fn: () => void };

/**
 * Deterministic time for tests: scheduled work only runs when `drive` advances to it, after
 * every pending microtask has run. A run that waits on nothing scheduled is reported as a
 * deadlock instead of hanging the test.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  schedule(ms: number, fn: () => void): () => void {
    const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Advances time timer by timer until `work` settles. */
  async drive<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    watched.catch(() => undefined);
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return watched;
      if (!this.timers.length) throw new Error(`deadlock at t=${this.time}: the work is waiting and nothing is scheduled`);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift()!;
      this.time = next.at;
      next.fn();
    }
  }
}
