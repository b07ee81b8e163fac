import "server-only";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { getExecutor } from "@dbos-inc/dbos-sdk/internal/dbos";
import { sql } from "drizzle-orm";
import { Client } from "pg";
import type { RunEvent } from "@/lib/workflow";
import { readServerConfig, secretsOf } from "../config";
import { getDatabase, PROCESS_ID } from "../db";
import type { Db } from "../db/connect";
import { assignRunProcess, finishRun, getRun, getRunStatus, runEventsPage } from "../db/queries";
import { createModels } from "../models";
import { runAndRecord } from "./events";
import type { AdmittedRun, RunExecutor, RunServices, RunSink } from "./types";

/**
 * Cluster mode (README, "Cluster mode"): a run is a DBOS Transact workflow on the PostgreSQL every
 * web and worker process shares. Its workflow id is the run id, so a second submit of one run
 * starts nothing; it waits on a queue whose global limit is the server's run limit; whichever
 * process dequeues it runs the engine there (`runAndRecord`: the same record as in-process) and
 * writes the events to a durable stream, in batches, that any process reads from any offset.
 *
 * What this skeleton does not do yet: checkpoint node executions as durable steps (the whole run
 * is one step), so a run whose worker died is not re-run on another — that would call every
 * model again — but ended `failed` with code `interrupted` by the process that recovers it.
 */

const APPLICATION = "trellis";
/** DBOS's tables live in their own schema of Trellis's database. */
const SCHEMA = "trellis_dbos";
/** Which code may resume a workflow: bump it when the durable run's steps change. */
const APPLICATION_VERSION = "trellis-run-1";
const QUEUE = "trellis-runs";
const STREAM = "events";
/** Trellis's own cancel notification: DBOS notices a cancelled workflow by polling, within about a second. */
const CANCEL_CHANNEL = "trellis_run_cancel";

type Cluster = {
  launched: Promise<void>;
  /** The durable run as DBOS registered it: what is started and what recovery resumes. */
  run?: (run: AdmittedRun) => Promise<string>;
  /** Runs executing in this process, by id: what a cancel notification aborts, and whether its browser left. */
  running: Map<string, { controller: AbortController; gone: boolean }>;
  listener?: Client;
  sweep?: ReturnType<typeof setInterval>;
};
const KEY = Symbol.for("trellis.cluster");
const global = globalThis as Record<symbol, Cluster | undefined>;

/** The durable run: one step that runs the engine where it was dequeued. */
async function durableRun(run: AdmittedRun): Promise<string> {
  return DBOS.runStep(() => runHere(run), { name: "run" });
}

/**
 * Launches DBOS in this process (once): a web process to enqueue, follow and cancel runs (and run
 * them unless `executesRuns` is false), a worker to run them. Recovery: DBOS resumes this process's
 * own workflows at launch; those of a process whose heartbeat went silent are resumed by the sweep.
 */
export async function launchCluster({ databaseUrl, executesRuns = true }: { databaseUrl: string; executesRuns?: boolean }): Promise<Cluster> {
  const existing = global[KEY];
  if (existing) return existing.launched.then(() => existing);
  const cluster: Cluster = { launched: Promise.resolve(), running: new Map() };
  global[KEY] = cluster;
  cluster.launched = (async () => {
    const config = readServerConfig();
    DBOS.setConfig({
      name: APPLICATION,
      systemDatabaseUrl: databaseUrl,
      systemDatabaseSchemaName: SCHEMA,
      executorID: PROCESS_ID,
      applicationVersion: APPLICATION_VERSION,
      logLevel: "warn",
      ...(executesRuns ? {} : { listenQueues: [] }),
    });
    cluster.run = DBOS.registerWorkflow(durableRun, { name: "trellis.run" });
    await DBOS.launch();
    await DBOS.registerQueue(QUEUE, { globalConcurrency: config.admission.maxConcurrentRuns, minPollingIntervalMs: 100, onConflict: "always_update" });
    if (!executesRuns) return;
    cluster.listener = new Client({ connectionString: databaseUrl });
    cluster.listener.on("notification", ({ payload = "" }) => {
      const [runId, reason] = payload.split(" ");
      const running = cluster.running.get(runId);
      if (!running) return;
      running.gone ||= reason === "client-gone";
      running.controller.abort();
    });
    cluster.listener.on("error", (error) => console.error("trellis: the cancel listener failed:", error.message));
    await cluster.listener.connect();
    await cluster.listener.query(`LISTEN ${CANCEL_CHANNEL}`);
    cluster.sweep = setInterval(() => void recoverSilentProcesses(config.heartbeat.staleAfterMs).catch((error: Error) => console.error("trellis: recovery sweep failed:", error.message)), config.heartbeat.everyMs);
    cluster.sweep.unref();
  })();
  await cluster.launched;
  return cluster;
}

/** Stops taking runs and closes DBOS (SIGTERM of a worker; runs in progress are recovered by another). */
export async function stopCluster(): Promise<void> {
  const cluster = global[KEY];
  if (!cluster) return;
  global[KEY] = undefined;
  clearInterval(cluster.sweep);
  await cluster.launched.catch(() => undefined);
  await cluster.listener?.end().catch(() => undefined);
  await DBOS.shutdown();
}

/**
 * Workflows left pending by a process whose heartbeat has gone silent are put back on a queue,
 * where any live process takes them. Every process sweeps; DBOS re-enqueues each workflow once.
 * DBOS's table is read here, beside the code that owns it, not in the storage module.
 */
async function recoverSilentProcesses(staleAfterMs: number): Promise<void> {
  const { db } = await getDatabase();
  const result = (await db.execute(sql`
    SELECT DISTINCT w.executor_id FROM ${sql.identifier(SCHEMA)}.workflow_status w
    WHERE w.status = 'PENDING' AND w.executor_id <> ${PROCESS_ID}
      AND NOT EXISTS (SELECT 1 FROM trellis_processes p WHERE p.id = w.executor_id AND p.heartbeat_at > now() - make_interval(secs => ${staleAfterMs / 1000}))`)) as unknown as { rows: Array<{ executor_id: string }> };
  const silent = result.rows.map((row) => row.executor_id);
  if (silent.length) await getExecutor().recoverPendingWorkflows(silent);
}

/** Runs an admitted run in this process, inside its durable step: events to the record and to the run's stream. */
async function runHere(run: AdmittedRun): Promise<string> {
  const cluster = global[KEY];
  const { db } = await getDatabase();
  const models = createModels();
  const services: RunServices = { db, port: models.port, coalesceMs: models.coalesceMs, secrets: secretsOf(readServerConfig()) };
  const stream = new StreamWriter();
  // From now on this process answers for the run: the sweep interrupts it if this process goes silent.
  if (!(await assignRunProcess(db, { runId: run.runId, processId: PROCESS_ID }))) {
    // It ended while it waited (its admitting process went silent, or it was cancelled): its record says how.
    await stream.close();
    return "ended-before";
  }
  const earlier = await runEventsPage(db, { runId: run.runId, after: -1, limit: 1 });
  if (earlier.events.length) {
    // A process ran this step before and died: without node checkpoints, running it again would call every model again.
    const finished = finishedEvent("failed", { code: "interrupted", message: "the process running this run stopped; it cannot be resumed yet" });
    await finishRun(db, { runId: run.runId, finished });
    stream.push(finished);
    await stream.close();
    return "interrupted";
  }
  const controller = new AbortController();
  const running = { controller, gone: false };
  cluster?.running.set(run.runId, running);
  // DBOS's own cancel (polled) is the backstop for Trellis's notification.
  DBOS.stepStatus?.cancelSignal.addEventListener("abort", () => controller.abort(), { once: true });
  try {
    await runAndRecord(run, services, { signal: controller.signal, gone: () => running.gone, emit: (event) => stream.push(event) });
  } finally {
    cluster?.running.delete(run.runId);
  }
  await stream.close();
  return "ended";
}

/** A run-finished of a run that ended outside the engine. */
function finishedEvent(status: "failed" | "cancelled", error: { code: string; message: string }, last?: RunEvent): Extract<RunEvent, { type: "run-finished" }> {
  return { seq: (last?.seq ?? 0) + 1, t: last?.t ?? 0, type: "run-finished", status, outputs: {}, state: {}, usage: { inputTokens: 0, outputTokens: 0 }, warnings: [], error, ms: last?.t ?? 0 };
}

/**
 * Events go to the durable stream in batches: one write at a time, each taking every event that
 * arrived meanwhile (a write costs a few milliseconds of PostgreSQL; one per delta would not keep up).
 * `run-finished` waits for its write, so the step ends only once every event is durable.
 */
class StreamWriter {
  private buffer: RunEvent[] = [];
  private writing: Promise<void> | null = null;
  private failed: unknown = null;

  push(event: RunEvent): Promise<void> | void {
    this.buffer.push(event);
    this.writing ??= this.drain();
    if (event.type === "run-finished") return this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.buffer.length && !this.failed) {
        const batch = this.buffer;
        this.buffer = [];
        await DBOS.writeStream(STREAM, batch);
      }
    } catch (error) {
      // The workflow was cancelled through DBOS: the record still gets every event.
      this.failed = error;
    } finally {
      this.writing = null;
    }
  }

  async close(): Promise<void> {
    await this.writing;
    if (!this.failed) await DBOS.closeStream(STREAM);
  }
}

/** Tells the process running a run to cancel it (`client-gone`: its browser left); a run still on the queue is cancelled there. */
async function cancelEverywhere(db: Db, runId: string, reason: "cancel" | "client-gone"): Promise<void> {
  await db.execute(sql`SELECT pg_notify(${CANCEL_CHANNEL}, ${`${runId} ${reason}`})`);
  // Still waiting on the queue: no process holds it to hear the notification.
  if ((await DBOS.getWorkflowStatus(runId))?.status === "ENQUEUED") await DBOS.cancelWorkflow(runId);
}

async function runOf(db: Db, runId: string, owner: string) {
  const run = await getRun(db, { owner, runId });
  return run?.status === "running" ? run : null;
}

export function clusterExecutor(databaseUrl: string): RunExecutor {
  const ready = () => launchCluster({ databaseUrl });
  const read = async function* (runId: string, afterSeq: number, signal?: AbortSignal): AsyncGenerator<RunEvent, void, undefined> {
    for await (const batch of DBOS.readStream<RunEvent[]>(runId, STREAM)) {
      for (const event of batch) if (event.seq > afterSeq) yield event;
      if (signal?.aborted) return;
    }
  };
  const executor: RunExecutor = {
    kind: "cluster",

    async execute(run: AdmittedRun, sink: RunSink, services: RunServices): Promise<void> {
      const { run: durable } = await ready();
      if (!durable) throw new Error("DBOS was launched without Trellis's run workflow");
      await DBOS.startWorkflow(durable, { workflowID: run.runId, queueName: QUEUE })(run);
      // The browser that started it left (or the transport cancelled): the run ends as it would in-process.
      const cancel = () => void cancelEverywhere(services.db, run.runId, sink.gone ? "client-gone" : "cancel").catch((error: Error) => console.error("trellis: cancel failed:", error.message));
      sink.controller.signal.addEventListener("abort", cancel, { once: true });
      let last: RunEvent | undefined;
      try {
        for await (const event of read(run.runId, -1)) {
          last = event;
          sink.send(event);
        }
        if (last?.type === "run-finished") return;
        // The workflow ended without a run-finished in its stream (cancelled through DBOS before or
        // while it ran): the record says how it ended, or it ends here.
        const rest = await runEventsPage(services.db, { runId: run.runId, after: last?.seq ?? -1 });
        for (const event of rest.events) {
          last = event;
          sink.send(event);
        }
        if (last?.type === "run-finished") return;
        if ((await getRunStatus(services.db, { runId: run.runId })) === "interrupted") {
          // The process running it went silent and the sweep said so; the record keeps that status.
          sink.send(finishedEvent("failed", { code: "interrupted", message: "the process running this run stopped" }, last));
          return;
        }
        const finished = finishedEvent("cancelled", { code: "cancelled", message: "the run was cancelled before it could finish" }, last);
        await finishRun(services.db, { runId: run.runId, finished });
        sink.send(finished);
      } finally {
        sink.controller.signal.removeEventListener("abort", cancel);
      }
    },

    // A second start of one run id is refused by admission (the run's row) and by DBOS (the workflow id);
    // index.ts answers this without loading DBOS.
    isLive: () => false,

    async cancel(runId, owner) {
      await ready();
      const { db } = await getDatabase();
      if (!(await runOf(db, runId, owner))) return false;
      await cancelEverywhere(db, runId, "cancel");
      return true;
    },

    async follow(runId, afterSeq, signal) {
      await ready();
      const status = (await DBOS.getWorkflowStatus(runId))?.status;
      return status === "PENDING" || status === "ENQUEUED" ? read(runId, afterSeq, signal) : null;
    },
  };
  return executor;
}
