import { CancelledError } from "./errors";

/** Counts model calls in flight; waiters are served first come, first served. */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<() => void> = [];
  /** The most permits ever held at once (tests assert the cap). */
  peak = 0;

  constructor(private readonly size: number) {
    this.available = size;
  }

  acquire(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new CancelledError());
    if (this.available > 0) {
      this.available--;
      this.peak = Math.max(this.peak, this.size - this.available);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener("abort", onAbort);
        this.peak = Math.max(this.peak, this.size - this.available);
        resolve();
      };
      const onAbort = () => {
        const at = this.waiters.indexOf(grant);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(new CancelledError());
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(grant);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.available++;
  }
}
