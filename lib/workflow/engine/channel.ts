/**
 * A single-consumer async queue: the engine pushes events synchronously, the consumer pulls
 * with `for await`. `onStart` runs on the first pull; `onReturn` when the consumer stops early
 * (`return()` or `throw()`), which takes effect at once even while the consumer waits for an event.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  private buffer: T[] = [];
  private head = 0;
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private closed = false;
  private started = false;

  constructor(
    private readonly onStart: () => void,
    private readonly onReturn: () => void,
  ) {}

  push(value: T): void {
    if (this.closed) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting({ value, done: false });
    } else this.buffer.push(value);
  }

  close(): void {
    this.closed = true;
    const waiting = this.waiting;
    if (waiting && this.head >= this.buffer.length) {
      this.waiting = null;
      waiting({ value: undefined, done: true });
    }
  }

  private stop(): Promise<IteratorResult<T>> {
    if (!this.closed) this.onReturn();
    this.closed = true;
    this.buffer = [];
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (!this.started) {
          this.started = true;
          this.onStart();
        }
        if (this.head < this.buffer.length) {
          const value = this.buffer[this.head++];
          if (this.head > 1024 && this.head * 2 > this.buffer.length) {
            this.buffer = this.buffer.slice(this.head);
            this.head = 0;
          }
          return Promise.resolve({ value, done: false });
        }
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
      return: () => this.stop(),
      // React's stream serialiser calls throw() when the request is aborted: stop at once, not at the next event.
      throw: () => this.stop(),
    };
  }
}
