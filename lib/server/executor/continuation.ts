import "server-only";
import type { RunEvent, WorkflowDocument } from "@/lib/workflow";
import { resumeFromEvents, type RunResume } from "@/lib/workflow/engine/resume";

/**
 * A cluster run resumed by another process after the one running it died or handed it over. The
 * engine runs the document again with `resume` (the executions the earlier attempt finished answer
 * their recorded results), and this turns the events of that second attempt into the rest of the
 * run's stream: what the earlier attempt had already sent is not sent again, the others are
 * numbered on from its last `seq` with its clock, and an execution that was in progress when it
 * stopped starts over with a `node-retry` of the next attempt number (`code: "worker-lost"`), so
 * a client replaces that node's partial text instead of appending to it.
 */
export class Continuation {
  readonly resume: RunResume;
  /** How many executions the earlier attempt had finished. */
  readonly recalled: number;
  private seq: number;
  private t: number;
  private readonly offsetMs: number;
  /** Identities of the node and loop events already sent. */
  private readonly sent = new Set<string>();
  /** Events with no identity of their own (skips, instance lists, warnings): how many of each were sent, and how many seen again. */
  private readonly counted = new Map<string, number>();
  private readonly recounted = new Map<string, number>();
  /** Executions started and not ended when the earlier attempt stopped (by their start's identity), with the attempts they had had. */
  private readonly interrupted = new Map<string, number>();
  /** Of those, the ones restarted in this attempt (by node and instance): the attempts before, which this attempt's retries count on from. */
  private readonly restarted = new Map<string, number>();

  constructor(document: WorkflowDocument, earlier: ReadonlyArray<RunEvent>, now = Date.now()) {
    const resume = resumeFromEvents(document, earlier, now);
    this.resume = resume;
    this.recalled = resume.size;
    const last = earlier.at(-1);
    this.seq = (last?.seq ?? -1) + 1;
    this.t = last?.t ?? 0;
    // The second attempt's clock starts now; the run's started at `run-started.at`, and its wall-time limit counts from there.
    this.offsetMs = resume.elapsedMs;
    // Per node (or instance): the execution it was in, by its start's identity, and its attempts so far.
    const open = new Map<string, { started: string; attempts: number }>();
    for (const event of earlier) {
      const identity = identityOf(event);
      if (identity) this.sent.add(identity);
      const counted = countedAs(event);
      if (counted) this.counted.set(counted, (this.counted.get(counted) ?? 0) + 1);
      if (event.type === "node-started") open.set(executionOf(event), { started: identity!, attempts: 1 });
      else if (event.type === "node-retry") {
        const execution = open.get(executionOf(event));
        if (execution) execution.attempts = event.attempt;
      } else if (event.type === "node-finished" || event.type === "node-failed" || event.type === "node-cancelled") open.delete(executionOf(event));
    }
    for (const { started, attempts } of open.values()) this.interrupted.set(started, attempts);
  }

  /** The events to send for one event of the second attempt (none when it was sent already), stamped as the run's. */
  next(event: RunEvent): RunEvent[] {
    if (event.type === "run-started") return [];
    const identity = identityOf(event);
    if (identity && this.sent.has(identity)) {
      const attempts = this.interrupted.get(identity);
      if (event.type !== "node-started" || attempts === undefined) return [];
      this.interrupted.delete(identity);
      this.restarted.set(executionOf(event), attempts);
      const { nodeId, instance } = event;
      return [
        this.stamp({
          ...event,
          type: "node-retry",
          nodeId,
          ...(instance !== undefined ? { instance } : {}),
          attempt: attempts + 1,
          delayMs: 0,
          code: "worker-lost",
          message: "the process running this node stopped: it runs again on another",
        }),
      ];
    }
    if (event.type === "node-retry") {
      // This attempt numbers a restarted execution's retries from 2; the run's count goes on from the restart.
      const before = this.restarted.get(executionOf(event));
      if (before !== undefined) event = { ...event, attempt: event.attempt + before };
    } else if (event.type === "node-finished" || event.type === "node-failed" || event.type === "node-cancelled") {
      this.restarted.delete(executionOf(event));
    }
    const counted = countedAs(event);
    if (counted) {
      const seen = (this.recounted.get(counted) ?? 0) + 1;
      this.recounted.set(counted, seen);
      if (seen <= (this.counted.get(counted) ?? 0)) return [];
    }
    return [this.stamp(event)];
  }

  private stamp(event: RunEvent): RunEvent {
    this.t = Math.max(this.t, Math.round((event.t + this.offsetMs) * 1000) / 1000);
    return { ...event, seq: this.seq++, t: this.t } as RunEvent;
  }
}

const executionOf = (event: { nodeId: string; instance?: number }) => `${event.nodeId}\u0000${event.instance ?? ""}`;

/** Events that happen once per execution or loop pass, by what they are about. */
function identityOf(event: RunEvent): string | null {
  switch (event.type) {
    case "node-started":
      return `started\u0000${event.nodeId}\u0000${event.iteration}\u0000${event.instance ?? ""}`;
    case "node-finished":
      return `finished\u0000${event.nodeId}\u0000${event.iteration}\u0000${event.instance ?? ""}`;
    case "loop-iteration":
      return `loop\u0000${event.nodeId}\u0000${event.targetId}\u0000${event.iteration}`;
    default:
      return null;
  }
}

/** Events a replay repeats in the same order but that say nothing of which pass they belong to: counted. */
function countedAs(event: RunEvent): string | null {
  switch (event.type) {
    case "node-skipped":
      return `skipped\u0000${event.nodeId}`;
    case "node-instances":
      return `instances\u0000${event.nodeId}`;
    case "warning":
      return `warning\u0000${JSON.stringify(event.warning)}`;
    // A join's re-run round (its round number restarts on each loop pass): counted, like a skip.
    case "branches-rerun":
      return `rerun\u0000${event.nodeId}\u0000${event.round}`;
    default:
      return null;
  }
}
