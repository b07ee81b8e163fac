/**
 * The saves of one editor, one at a time. A save asked for while another is in flight (two quick
 * Ctrl+S) waits for it and is told so, so it can skip saving a document that is saved by then; a
 * first save uses one client-chosen id for a new workflow until a save succeeds, so a retry after
 * a lost answer (or a second press) stores the same workflow instead of creating a second one.
 */
export class SaveQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private newId: string | null = null;

  /** The id a new workflow is created under: the same for every attempt until one succeeds. */
  idForNew(): string {
    return (this.newId ??= crypto.randomUUID());
  }

  /** A save created the workflow: the next new one (a copy) gets another id. */
  created(): void {
    this.newId = null;
  }

  /** Runs `save` after every save queued before it; `queued` says whether it had to wait for one. */
  run<T>(save: (queued: boolean) => Promise<T>): Promise<T> {
    const queued = this.inFlight > 0;
    this.inFlight++;
    const next = this.tail.then(() => save(queued)).finally(() => this.inFlight--);
    this.tail = next.catch(() => undefined);
    return next;
  }
}
