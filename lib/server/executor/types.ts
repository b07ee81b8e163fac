import "server-only";
import type { ModelPort, RunEvent, RunLimits, WorkflowDocument } from "@/lib/workflow";
import type { RunReuse } from "@/lib/workflow/engine/reuse";
import type { Db } from "../db/connect";

/**
 * Where a run executes once it has been admitted (docs/architecture.md §6; README, "Cluster mode").
 * The run service (`lib/server/runs.ts`) parses, checks ownership and admits; an executor runs the
 * engine, records every event and sends it to the transport. Two implementations: `in-process`
 * (this process, the default) and `cluster` (durable workflows on PostgreSQL).
 */
export interface RunExecutor {
  readonly kind: "in-process" | "cluster";
  /** Runs an admitted run to its end: every event is recorded, then sent; `run-finished` only once the record holds it. */
  execute(run: AdmittedRun, sink: RunSink, services: RunServices): Promise<void>;
  /** Whether a run with this id is in progress here (a second start of it is a duplicate). */
  isLive(runId: string): boolean;
  /** Cancels a run in progress; only the identity that started it may. False when there is no such run of theirs. */
  cancel(runId: string, owner: string): Promise<boolean>;
  /**
   * The events of a run in progress after `afterSeq`, as they are sent, ending with `run-finished`;
   * null when this executor cannot follow the run (it is not in progress here). Access is the caller's check.
   */
  follow(runId: string, afterSeq: number, signal: AbortSignal): Promise<AsyncIterable<RunEvent> | null>;
}

/** A run the run service has admitted: its row exists, its limits are what it was admitted with. */
export type AdmittedRun = {
  runId: string;
  owner: string;
  document: WorkflowDocument;
  inputs: Record<string, unknown>;
  limits: Partial<RunLimits>;
  reuse?: RunReuse;
};

/** The transport a run's events go to. Aborting `controller` cancels the run; `gone` says the browser left. */
export type RunSink = {
  readonly controller: AbortController;
  readonly gone: boolean;
  send(event: RunEvent): void;
};

/** What this process runs a run with: its database, its models and the secrets no event may carry. */
export type RunServices = {
  db: Db;
  port: ModelPort;
  coalesceMs: number;
  secrets: ReadonlyArray<string>;
};
