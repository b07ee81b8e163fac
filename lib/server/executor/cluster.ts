import "server-only";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { getExecutor } from "@dbos-inc/dbos-sdk/internal/dbos";
import { and, eq, gt, or, sql } from "drizzle-orm";
import { Client } from "pg";
import type { RunEvent } from "@/lib/workflow";
import { readServerConfig, secretsOf } from "../config";
import { getDatabase, PROCESS_ID } from "../db";
import { compactDeltas } from "../db/compact";
import type { Db } from "../db/connect";
import { appendRunEvents, finishRun, getRun, getRunStatus, runEventsPage } from "../db/queries";
import { runEvents, runs } from "../db/schema";
import { createModels } from "../models";
import { Continuation } from "./continuation";
import { APPLICATION, APPLICATION_VERSION, SCHEMA, streamSoFar } from "./dbos";
import { CALL_QUEUE, CALL_WORKFLOW, callClient, callsHere, closeCallClient, durableCall, mapCallsPort } from "./map-calls";
import { runAndRecord } from "./events";
import type { AdmittedRun, RunExecutor, RunServices, RunSink } from "./types";

/**
 * Cluster mode (README, "Cluster mode"; docs/cluster.md): a run is a DBOS Transact workflow on the
 * PostgreSQL every web and worker process shares. Its workflow id is the run id, so a second submit
 * of one run starts nothing; it waits on a queue whose global limit is the server's run limit and
 * whose partitions (one per owner) hold each owner to their own limit; whichever worker dequeues it
 * runs the engine there (`runAndRecord`: the same record as in-process) and writes the events to a
 * durable stream, in batches, that any process reads from any offset.
 *
 * Checkpoints: the durable stream is the run's checkpoint. Each `node-finished` in it records one
 * execution (node id, iteration, item index) with its result. When the process running a run dies
 * (or hands it over at SIGTERM), DBOS puts the workflow back on the queue and another worker runs
 * its step again: it reads what the stream holds, and the engine resumes (`RunOptions.resume`):
 * every recorded execution answers its result without a model call, the executions in progress
 * start over as attempt 2, and the stream goes on from its last event (`Continuation`). DBOS's own
 * steps are numbered by call order, which a dataflow run does not keep (nodes finish in any
 * order), so executions are keyed by what they are instead.
 */

const QUEUE = "trellis-runs";
const STREAM = "events";
/** Trellis's own cancel notification: DBOS notices a cancelled workflow by polling, within about a second. */
const CANCEL_CHANNEL = "trellis_run_cancel";
/** The topic of the durable cancel message a run's workflow is sent (read by the process that runs it, at its start). */
const CANCEL_TOPIC = "trellis.cancel";
/** A run its process has not ended this long after a cancel is cancelled in DBOS (its process may have died before it heard). */
const CANCEL_BACKSTOP_MS = 2_000;

type Running = {
  controller: AbortController;
  gone: boolean;
  /** Set at SIGTERM's deadline: the run stops here without an ending and another process resumes it. */
  handingOver: boolean;
  /** Settles once the run has stopped here (ended, or handed over with everything it sent durable). */
  stopped: Promise<unknown>;
};

type Cluster = {
  launched: Promise<void>;
  /** The durable run as DBOS registered it: what is started and what recovery resumes. */
  run?: (run: AdmittedRun) => Promise<string>;
  /** Runs executing in this process, by id: what a cancel notification aborts, and whether its browser left. */
  running: Map<string, Running>;
  databaseUrl: string;
  listener?: Client;
  sweep?: ReturnType<typeof setInterval>;
};
const KEY = Symbol.for("trellis.cluster");
const global = globalThis as Record<symbol, Cluster | undefined>;

/** The durable run: one step that runs the engine where it was dequeued (again, resuming, after a recovery). */
async function durableRun(run: AdmittedRun): Promise<string> {
  return DBOS.runStep(() => runHere(run), { name: "run" });
}

/**
 * Launches DBOS in this process (once). A web process (instrumentation.ts) enqueues, follows and
 * cancels runs; a worker (`npm run worker`, `executesRuns`) also takes them from the queue.
 * Recovery: every process sweeps for workflows of processes whose heartbeat went silent and puts
 * them back on the queue, where a worker resumes them; DBOS resumes a worker's own at its launch.
 */
export async function launchCluster({ databaseUrl, executesRuns = false }: { databaseUrl: string; executesRuns?: boolean }): Promise<Cluster> {
  const existing = global[KEY];
  if (existing) return existing.launched.then(() => existing);
  const cluster: Cluster = { launched: Promise.resolve(), running: new Map(), databaseUrl };
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
    DBOS.registerWorkflow(durableCall, { name: CALL_WORKFLOW });
    await DBOS.launch();
    await DBOS.registerQueue(QUEUE, {
      globalConcurrency: config.admission.maxConcurrentRuns,
      // One partition per owner: a busy owner waits behind their own runs, not in front of others'.
      partitionConcurrency: config.admission.maxRunsPerIdentity,
      minPollingIntervalMs: 100,
      onConflict: "always_update",
    });
    // A map's instances: their model calls, taken by any worker within the cluster's and each process's limits.
    const calls = config.executor.kind === "cluster" ? config.executor : { mapCalls: config.admission.maxConcurrentModelCalls, mapCallsPerProcess: undefined };
    await DBOS.registerQueue(CALL_QUEUE, {
      globalConcurrency: calls.mapCalls,
      ...(calls.mapCallsPerProcess ? { workerConcurrency: calls.mapCallsPerProcess } : {}),
      minPollingIntervalMs: 100,
      onConflict: "always_update",
    });
    cluster.sweep = setInterval(() => void recoverSilentProcesses(config.heartbeat.staleAfterMs).catch((error: Error) => console.error("trellis: recovery sweep failed:", error.message)), config.heartbeat.everyMs);
    cluster.sweep.unref();
    if (!executesRuns) return;
    cluster.listener = new Client({ connectionString: databaseUrl });
    cluster.listener.on("notification", ({ payload = "" }) => {
      const [runId, reason] = payload.split(" ");
      // A map call made here (its id is its run's, then its place in the run).
      callsHere().get(runId)?.controller.abort();
      const running = cluster.running.get(runId);
      if (!running) return;
      running.gone ||= reason === "client-gone";
      running.controller.abort();
    });
    cluster.listener.on("error", (error) => console.error("trellis: the cancel listener failed:", error.message));
    await cluster.listener.connect();
    await cluster.listener.query(`LISTEN ${CANCEL_CHANNEL}`);
  })();
  await cluster.launched;
  return cluster;
}

/**
 * SIGTERM of a process in cluster mode: it takes no more runs, lets those in progress here finish
 * for up to `drainMs`, then hands the others over — each stops where it is, with every event it
 * sent durable, and goes back on the queue, where another worker resumes it at once (the
 * executions in progress start over as attempt 2). Then DBOS is shut down. Returns how many runs
 * finished here and how many were handed over.
 */
export async function stopCluster({ drainMs = 0 }: { drainMs?: number } = {}): Promise<{ finished: number; handedOver: number }> {
  const cluster = global[KEY];
  if (!cluster) return { finished: 0, handedOver: 0 };
  clearInterval(cluster.sweep);
  await cluster.launched.catch(() => undefined);
  // No more runs from the queue (DBOS.shutdown would also wait for the runs here to finish).
  await getExecutor().deactivateEventReceivers();
  const inProgress = [...cluster.running.values()];
  // Map calls made here drain with the runs, and are handed over with them.
  const callsInProgress = [...callsHere().values()];
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.allSettled([...inProgress, ...callsInProgress].map((work) => work.stopped)), new Promise((resolve) => (timer = setTimeout(resolve, drainMs)))]);
  clearTimeout(timer);
  const left = [...cluster.running.values()];
  const callsLeft = [...callsHere().values()];
  for (const work of [...left, ...callsLeft]) {
    work.handingOver = true;
    work.controller.abort();
  }
  await Promise.allSettled([...left, ...callsLeft].map((work) => work.stopped));
  // Back on the queue now rather than once this process's heartbeat is stale (with any run taken
  // from the queue just before it stopped taking them); a write of this process to them is refused from here on.
  await getExecutor().recoverPendingWorkflows([PROCESS_ID]);
  global[KEY] = undefined;
  await cluster.listener?.end().catch(() => undefined);
  await closeCallClient();
  await DBOS.shutdown();
  return { finished: inProgress.length - left.length, handedOver: left.length };
}

/**
 * Workflows left pending by a process whose heartbeat has gone silent are put back on a queue,
 * where any live worker takes them. Every process sweeps; DBOS re-enqueues each workflow once.
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

/** The reason of a cancel sent to a run's workflow (see cancelEverywhere), or null. Read from DBOS's table, beside the code that writes it. */
async function cancelRequested(db: Db, runId: string): Promise<"cancel" | "client-gone" | null> {
  const result = (await db.execute(sql`SELECT message FROM ${sql.identifier(SCHEMA)}.notifications WHERE destination_uuid = ${runId} AND topic = ${CANCEL_TOPIC} LIMIT 1`)) as unknown as {
    rows: Array<{ message: string }>;
  };
  const message = result.rows[0]?.message;
  if (message === undefined) return null;
  return message.includes("client-gone") ? "client-gone" : "cancel";
}

/**
 * This process answers for the run from now on (the heartbeat sweep judges it by this process). A
 * run the sweep marked interrupted while its process was dead is running again: DBOS recovered it.
 * False when it ended otherwise (cancelled while it waited, or finished).
 */
async function claimRun(db: Db, runId: string): Promise<boolean> {
  const claimed = await db
    .update(runs)
    .set({ processId: PROCESS_ID, status: "running", error: null, finishedAt: null })
    .where(and(eq(runs.id, runId), or(eq(runs.status, "running"), and(eq(runs.status, "interrupted"), sql`${runs.error}->>'code' = 'interrupted'`))))
    .returning({ id: runs.id });
  return claimed.length > 0;
}

/**
 * The record of a resumed run is made to hold what its stream holds: the earlier attempt recorded
 * in batches of its own, so it may have stored events its stream never got (they go: the second
 * attempt numbers its own from the stream's last) or not yet stored the last ones the stream has.
 * A stored chunk of deltas carries its last delta's number, so none kept covers a later event.
 */
async function alignRecord(db: Db, runId: string, sent: ReadonlyArray<RunEvent>): Promise<void> {
  const last = sent.at(-1)!.seq;
  await db.delete(runEvents).where(and(eq(runEvents.runId, runId), gt(runEvents.seq, last)));
  const [stored] = await db
    .select({ seq: sql<number | null>`max(${runEvents.seq})` })
    .from(runEvents)
    .where(eq(runEvents.runId, runId));
  const missing = sent.filter((event) => event.seq > (stored?.seq ?? -1));
  if (missing.length) await appendRunEvents(db, { runId, events: compactDeltas(missing) });
}

/** Runs an admitted run in this process, inside its durable step: events to the record and to the run's stream. */
async function runHere(run: AdmittedRun): Promise<string> {
  const cluster = global[KEY];
  const { db } = await getDatabase();
  const models = createModels();
  const stream = new StreamWriter();
  // Every event earlier attempts of the run wrote (none for its first attempt).
  const sent = await streamSoFar<RunEvent>(db, run.runId, STREAM);
  if (sent.at(-1)?.type === "run-finished") {
    // The earlier attempt ended the run and died before its step was recorded.
    await stream.close();
    return "ended";
  }
  if (!(await claimRun(db, run.runId))) {
    // It ended while it waited (cancelled, or finished by another path): its record says how.
    await stream.close();
    return "ended-before";
  }
  let continuation: Continuation | undefined;
  if (sent.length) {
    continuation = new Continuation(run.document, sent);
    await alignRecord(db, run.runId, sent);
  }
  const controller = new AbortController();
  let stopped!: () => void;
  const running: Running = { controller, gone: false, handingOver: false, stopped: new Promise<void>((resolve) => (stopped = resolve)) };
  cluster?.running.set(run.runId, running);
  const port = cluster
    ? mapCallsPort(models.port, {
        runId: run.runId,
        client: callClient(cluster.databaseUrl),
        appVersion: APPLICATION_VERSION,
        cancel: (callId) => cancelCall(db, cluster.databaseUrl, callId),
        // Handed over, the run's calls go on for its next attempt to re-attach to.
        keepCalls: () => running.handingOver,
      })
    : models.port;
  const services: RunServices = { db, port, coalesceMs: models.coalesceMs, secrets: secretsOf(readServerConfig()) };
  // Cancelled while no process ran it (or before this one listened): it ends cancelled at once.
  const cancelled = await cancelRequested(db, run.runId);
  if (cancelled) {
    running.gone = cancelled === "client-gone";
    controller.abort();
  }
  // DBOS's own cancel (polled) is the backstop for Trellis's notification.
  DBOS.stepStatus?.cancelSignal.addEventListener("abort", () => controller.abort(), { once: true });
  let outcome: "ended" | "handed-over";
  try {
    outcome = await runAndRecord(run, services, {
      signal: controller.signal,
      gone: () => running.gone,
      emit: (event) => stream.push(event),
      continuation,
      handingOver: () => running.handingOver,
    });
    if (outcome === "ended") await stream.close();
    else await stream.settle();
  } finally {
    cluster?.running.delete(run.runId);
    stopped();
  }
  if (outcome === "handed-over") {
    // The step must not end: the workflow goes back on the queue as it is and another worker resumes it.
    return new Promise<never>(() => undefined);
  }
  return continuation ? "resumed" : "ended";
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

  /** Every event pushed so far is durable (or the stream refused it). */
  async settle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    await this.settle();
    if (!this.failed) await DBOS.closeStream(STREAM);
  }
}

/**
 * Tells the process running a run to cancel it (`client-gone`: its browser left); a run still on
 * the queue is cancelled there. The cancel is also a durable message to the run's workflow: a
 * process that starts or resumes the run later (its worker died before it heard) cancels it at
 * once. A run no process has ended a little later is cancelled in DBOS, the backstop.
 */
async function cancelEverywhere(db: Db, runId: string, reason: "cancel" | "client-gone"): Promise<void> {
  await db.execute(sql`SELECT pg_notify(${CANCEL_CHANNEL}, ${`${runId} ${reason}`})`);
  // Its map calls still waiting or running (the run's worker may be dead and unable to cancel them).
  const open = (await db.execute(
    sql`SELECT workflow_uuid FROM ${sql.identifier(SCHEMA)}.workflow_status WHERE workflow_uuid LIKE ${`${runId}/%`} AND status IN ('PENDING', 'ENQUEUED')`,
  )) as unknown as { rows: Array<{ workflow_uuid: string }> };
  const databaseUrl = global[KEY]?.databaseUrl;
  if (databaseUrl) await Promise.all(open.rows.map((row) => cancelCall(db, databaseUrl, row.workflow_uuid)));
  await DBOS.send(runId, reason, CANCEL_TOPIC, `trellis-cancel-${runId}`);
  const status = (await DBOS.getWorkflowStatus(runId))?.status;
  // Still waiting on the queue: no process holds it to hear the notification.
  if (status === "ENQUEUED") await DBOS.cancelWorkflow(runId);
  else if (status === "PENDING") {
    const backstop = setTimeout(() => {
      void DBOS.getWorkflowStatus(runId)
        .then((later) => (later?.status === "PENDING" || later?.status === "ENQUEUED" ? DBOS.cancelWorkflow(runId) : undefined))
        .catch((error: Error) => console.error("trellis: cancel backstop failed:", error.message));
    }, CANCEL_BACKSTOP_MS);
    backstop.unref();
  }
}

/** Stops a map call wherever it is: the process making it hears at once, and DBOS takes it off the queue or cancels it. */
async function cancelCall(db: Db, databaseUrl: string, callId: string): Promise<void> {
  await db.execute(sql`SELECT pg_notify(${CANCEL_CHANNEL}, ${`${callId} cancel`})`);
  await (await callClient(databaseUrl)).cancelWorkflow(callId);
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
      await DBOS.startWorkflow(durable, { workflowID: run.runId, queueName: QUEUE, enqueueOptions: { queuePartitionKey: run.owner } })(run);
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
        const cancelled = await cancelRequested(services.db, run.runId);
        if (!cancelled && (await getRunStatus(services.db, { runId: run.runId })) === "interrupted") {
          // The process running it went silent and the sweep said so; the record keeps that status.
          sink.send(finishedEvent("failed", { code: "interrupted", message: "the process running this run stopped" }, last));
          return;
        }
        // Cancelled before a process ran it, or while the one running it was dead: it ends cancelled
        // (even if the sweep had marked it interrupted meanwhile), in its record too.
        const finished = finishedEvent("cancelled", { code: cancelled === "client-gone" ? "client-gone" : "cancelled", message: "the run was cancelled before it could finish" }, last);
        await appendRunEvents(services.db, { runId: run.runId, events: [finished] });
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

    // Any run the cluster has (waiting, running or ended) is read from its durable stream: the
    // events exactly as sent. The events route falls back to the record when it ends without run-finished.
    async follow(runId, afterSeq, signal) {
      await ready();
      return (await DBOS.getWorkflowStatus(runId)) ? read(runId, afterSeq, signal) : null;
    },
  };
  return executor;
}
