import { CancelledError } from "./errors";

type Waiter = { grant: () => void; refuse: (error: Error) => void };

/** Counts model calls in flight; waiters are served first come, first served. */
export class Semaphore {
  private available: number;
  private readonly waiters: Waiter[] = [];

  constructor(size: number) {
    this.available = size;
  }

  /** Resolves when a slot is free; rejects with CancelledError as soon as `signal` aborts, slot or not. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new CancelledError());
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(new CancelledError());
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        refuse: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next.grant();
    else this.available++;
  }

  /** Refuses every waiter (the run is over). */
  refuseAll(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.refuse(error);
  }
}

/**
 * The in-flight calls of one scope (a run, or the instances of one map node). One abort
 * listener per scope instead of one per call: a 500-wide map would otherwise put 500
 * listeners on one signal.
 */
export class CallGroup {
  private readonly calls = new Map<AbortController, (() => void) | undefined>();

  constructor(
    readonly signal: AbortSignal,
    reason: unknown,
  ) {
    signal.addEventListener("abort", () => {
      for (const [call, onAbort] of this.calls) {
        call.abort(reason);
        onAbort?.();
      }
    }, { once: true });
  }

  /** A controller for one call; `onAbort` runs when the group aborts it (cheaper than a listener on its signal). */
  open(onAbort?: () => void): AbortController {
    const call = new AbortController();
    if (this.signal.aborted) {
      call.abort(this.signal.reason);
      onAbort?.();
    } else this.calls.set(call, onAbort);
    return call;
  }

  close(call: AbortController): void {
    this.calls.delete(call);
  }
}
