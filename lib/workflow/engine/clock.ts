import { CancelledError } from "./errors";

/** Time as the engine sees it: injectable so tests can run on a virtual clock. */
export type Clock = {
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  schedule(ms: number, fn: () => void): () => void;
};

export const systemClock: Clock = {
  now: () => performance.now(),
  schedule(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms`; rejects with CancelledError as soon as `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError());
    const onAbort = () => {
      cancel();
      reject(new CancelledError());
    };
    const cancel = clock.schedule(ms, () => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
