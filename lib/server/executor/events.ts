import "server-only";
import type { RunEvent } from "@/lib/workflow";
import { redact } from "../models/port";

/** Error and warning texts leave the server only after every configured secret is replaced. */
export function withoutSecrets(event: RunEvent, secrets: ReadonlyArray<string>): RunEvent {
  if (!secrets.length) return event;
  if (event.type === "node-failed" || event.type === "node-retry") event.message = redact(event.message, secrets);
  else if (event.type === "warning") event.warning.message = redact(event.warning.message, secrets);
  else if (event.type === "run-finished") {
    if (event.error) event.error.message = redact(event.error.message, secrets);
    for (const warning of event.warnings) warning.message = redact(warning.message, secrets);
  }
  return event;
}

/**
 * The events of a run in progress, kept while it runs so a follower that attaches late (the SSE
 * route, a reconnecting browser) gets every event after the one it last saw, then each new one as
 * it is sent. Bounded by the run: its output is limited (§5.3) and the log goes when the run ends.
 */
export class LiveRunLog {
  private readonly events: RunEvent[] = [];
  private readonly waiting = new Set<() => void>();
  private ended = false;

  append(event: RunEvent): void {
    this.events.push(event);
    if (event.type === "run-finished") this.ended = true;
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  /** Ends the log without a `run-finished` (the run stopped outside the engine): followers stop too. */
  end(): void {
    this.ended = true;
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  async *follow(afterSeq: number, signal: AbortSignal): AsyncGenerator<RunEvent, void, undefined> {
    let next = 0;
    while (next < this.events.length && this.events[next].seq <= afterSeq) next++;
    for (;;) {
      while (next < this.events.length) yield this.events[next++];
      if (this.ended || signal.aborted) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener("abort", wake);
          this.waiting.delete(wake);
          resolve();
        };
        this.waiting.add(wake);
        signal.addEventListener("abort", wake);
      });
    }
  }
}
