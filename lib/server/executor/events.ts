import "server-only";
import { runWorkflow, type RunEvent } from "@/lib/workflow";
import { runRecordSink } from "../db/queries";
import { redact } from "../models/port";
import { RunRecorder } from "../recorder";
import type { Continuation } from "./continuation";
import type { AdmittedRun, RunServices } from "./types";

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
 * Runs the engine on an admitted run in this process: each event is redacted, recorded, then
 * emitted; `run-finished` is emitted only once the record holds it, so a share or a replay right
 * after sees all of it. Both executors run a run through here (cluster mode on its worker).
 */
export async function runAndRecord(
  run: AdmittedRun,
  services: RunServices,
  {
    signal,
    gone,
    emit,
    continuation,
    handingOver,
  }: {
    signal: AbortSignal;
    gone: () => boolean;
    emit: (event: RunEvent) => void | Promise<void>;
    /** Cluster mode: the run resumes after an earlier attempt stopped (see Continuation). */
    continuation?: Continuation;
    /** Cluster mode: this process hands the run over to another; it stops here without an ending, its record written so far. */
    handingOver?: () => boolean;
  },
): Promise<"ended" | "handed-over"> {
  const { runId, document, inputs, limits, reuse } = run;
  const { db, port, coalesceMs, secrets } = services;
  const recorder = new RunRecorder(runRecordSink(db, runId));
  for await (const engineEvent of runWorkflow(document, { runId, inputs, models: port, signal, limits, coalesceMs, reuse, resume: continuation?.resume })) {
    if (handingOver?.()) {
      // What the engine says from here (its cancelled ending) is not the run's: the next attempt goes on.
      await recorder.flush();
      return "handed-over";
    }
    for (const event of continuation ? continuation.next(withoutSecrets(engineEvent, secrets)) : [withoutSecrets(engineEvent, secrets)]) {
      // The engine counts time from its start; the record also says when that was.
      if (event.type === "run-started") event.at = Date.now();
      if (event.type === "run-finished" && gone() && event.status === "cancelled") {
        event.error = { code: "client-gone", message: "the browser stopped following this run" };
      }
      recorder.push(event);
      if (event.type === "run-finished") {
        const stored = await recorder.finish(event);
        if (!stored.recorded) {
          event.warnings.push({ code: "not-recorded", message: `this run could not be stored completely (${stored.lost} events lost): its replay and history will be incomplete` });
        }
      }
      // The in-process transport takes events synchronously; only the cluster's durable stream is awaited.
      const sent = emit(event);
      if (sent) await sent;
    }
  }
  return "ended";
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
