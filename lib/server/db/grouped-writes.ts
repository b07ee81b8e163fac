/**
 * Group commit for writes that many runs make at once (their recorders' event batches): the
 * writes asked for in one turn of the event loop go to the database as one statement, so a
 * hundred runs streaming cost about one insert per batch interval instead of a hundred. A write
 * waits for nothing but the end of the current turn. Should a group's statement fail, each write
 * in it is tried alone, so one run's refused events never cost another run its own.
 */
export class GroupedWrites<T> {
  private queue: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    /** Writes in one statement at most. */
    private readonly maxGroup = 32,
  ) {}

  /** Resolves once `item` is stored (or rejects with the error of writing it alone). */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const waiting = this.queue;
    this.queue = [];
    const groups: Array<typeof waiting> = [];
    for (let i = 0; i < waiting.length; i += this.maxGroup) groups.push(waiting.slice(i, i + this.maxGroup));
    await Promise.all(
      groups.map(async (group) => {
        try {
          await this.write(group.map((entry) => entry.item));
          for (const entry of group) entry.resolve();
        } catch (error) {
          if (group.length === 1) return group[0].reject(error);
          await Promise.all(group.map((entry) => this.write([entry.item]).then(entry.resolve, entry.reject)));
        }
      }),
    );
  }
}
