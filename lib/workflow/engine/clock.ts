import { CancelledError } from "./errors";

/** Time as the engine sees it: injectable so tests can run on a virtual clock. */
export type Clock = {
  now(): number;
  /** Resolves after `ms`; rejects with CancelledError as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
};

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new CancelledError());
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, Math.max(0, ms));
      function onAbort() {
        clearTimeout(timer);
        reject(new CancelledError());
      }
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  },
};
