import "server-only";
import { DBOS, DBOSClient } from "@dbos-inc/dbos-sdk";
import { ModelError, type CallSite, type ModelCall, type ModelChunk, type ModelErrorCode, type ModelPort } from "@/lib/workflow";
import { getDatabase } from "../db";
import { createModels } from "../models";
import { APPLICATION, SCHEMA, streamSoFar } from "./dbos";

/**
 * Cluster mode spreads a map's instances across the workers (docs/cluster.md, "Map instances").
 * The run's engine runs inside its durable workflow's one step on one worker, where DBOS refuses
 * to start another workflow; so the model call an instance makes is handed to a client
 * (`DBOSClient`, outside the step's context) that enqueues it as a workflow of its own on the call
 * queue, whose limits hold across the cluster (TRELLIS_MAX_CONCURRENT_MAP_CALLS) and per process
 * (TRELLIS_MAP_CALLS_PER_PROCESS). Whichever worker takes it makes the call and writes the chunks
 * to the call's durable stream, which the run's worker relays to the engine as the instance's
 * stream: the engine's timeouts, retries, limits and events are the same as for a call made here.
 *
 * A call's workflow id is the run id and the call's site (node, iteration, item, the call's number
 * in that execution), so a run resumed on another worker after its own died asks for the same
 * call again and re-attaches to it — running or finished — instead of calling the model again.
 * A call whose own worker died is not made twice either: when its workflow is recovered, it ends
 * as `worker-lost` (a retryable failure) once it had sent any chunk, and the engine makes the next
 * attempt a call of its own, which the client shows as a restart of the instance.
 */

export const CALL_QUEUE = "trellis-map-calls";
export const CALL_WORKFLOW = "trellis.map-call";
const CHUNKS = "chunks";
/** Connections of the client's pool: an enqueue, a cancel and the stream reads (which wait on notifications) of the calls relayed here. */
const CLIENT_POOL = 4;
/** How long a call's `started` waits to be written with its first chunk. */
const STARTED_WAIT_MS = 200;
/** The shortest time between two writes of a call's chunks. */
const WRITE_EVERY_MS = 30;

/** What a call's durable stream carries: the model's chunks, then how it ended. */
type StreamedChunk =
  | Extract<ModelChunk, { type: "text" | "finish" | "started" }>
  | { type: "error"; code: ModelErrorCode; message: string; retryable: boolean; status?: number; retryAfterMs?: number }
  | { type: "lost" };

/** A call being made in this process: what a cancel aborts, and what SIGTERM drains or hands over. */
export type CallHere = { controller: AbortController; handingOver: boolean; stopped: Promise<unknown> };

type Calls = { client?: Promise<DBOSClient>; here: Map<string, CallHere> };
const KEY = Symbol.for("trellis.cluster.map-calls");
const global = globalThis as Record<symbol, Calls | undefined>;
const calls = (): Calls => (global[KEY] ??= { here: new Map() });

/** The calls this process is making, by workflow id. */
export const callsHere = (): Map<string, CallHere> => calls().here;

/** The call's workflow id: the run's, then where in the run the call is made. */
export function callId(runId: string, site: CallSite): string {
  return `${runId}/${site.nodeId}/${site.iteration}/${site.instance ?? ""}/${site.call}`;
}

/** The client this process enqueues, reads and cancels calls through (one pool for the process). */
export function callClient(databaseUrl: string): Promise<DBOSClient> {
  const state = calls();
  if (!state.client) {
    const creating = DBOSClient.create({ systemDatabaseUrl: databaseUrl, systemDatabaseSchemaName: SCHEMA, applicationName: APPLICATION, systemDatabasePoolSize: CLIENT_POOL });
    state.client = creating;
    // A client that could not connect is not kept: the next call tries again.
    creating.catch(() => {
      if (state.client === creating) state.client = undefined;
    });
  }
  return state.client;
}

export async function closeCallClient(): Promise<void> {
  const state = calls();
  const client = state.client;
  state.client = undefined;
  await client?.then((c) => c.destroy()).catch(() => undefined);
}

/**
 * The run's model port in cluster mode: a map instance's call goes to the call queue, any other
 * call is made here. `keepCalls` says the run is being handed over (SIGTERM): its calls on the
 * queue go on, for the run's next attempt to re-attach to, instead of being cancelled with it.
 */
export function mapCallsPort(
  local: ModelPort,
  { runId, client, appVersion, cancel, keepCalls }: { runId: string; client: Promise<DBOSClient>; appVersion: string; cancel: (callId: string) => Promise<void>; keepCalls: () => boolean },
): ModelPort {
  return {
    ...(local.embed ? { embed: local.embed.bind(local) } : {}),
    stream(call, signal, site) {
      if (site?.instance === undefined) return local.stream(call, signal, site);
      return relay(callId(runId, site), call, signal, { client, appVersion, cancel, keepCalls });
    },
  };
}

async function* relay(
  id: string,
  call: ModelCall,
  signal: AbortSignal,
  { client: connecting, appVersion, cancel, keepCalls }: { client: Promise<DBOSClient>; appVersion: string; cancel: (callId: string) => Promise<void>; keepCalls: () => boolean },
): AsyncGenerator<ModelChunk> {
  const client = await connecting;
  // An id already taken (a resumed run asking again) answers the call that has it.
  await client.enqueue({ workflowName: CALL_WORKFLOW, queueName: CALL_QUEUE, workflowID: id, appVersion }, call);
  const stop = () => {
    if (!keepCalls()) void cancel(id).catch((error: Error) => console.error("trellis: cancelling a map call failed:", error.message));
  };
  signal.addEventListener("abort", stop, { once: true });
  try {
    yield { type: "queued" };
    for await (const batch of client.readStream<StreamedChunk[]>(id, CHUNKS)) {
      for (const chunk of batch) {
        if (chunk.type === "error") {
          throw new ModelError(chunk.code, chunk.message, { retryable: chunk.retryable, status: chunk.status, retryAfterMs: chunk.retryAfterMs });
        }
        if (chunk.type === "lost") throw new ModelError("worker-lost", "the process making this call stopped before it finished");
        yield chunk;
        // The call's ending is its stream's last value (the stream is not closed: one write fewer a call).
        if (chunk.type === "finish") return;
      }
      if (signal.aborted) return;
    }
    // The stream ended without an ending: the call's workflow was cancelled (or this run's attempt is over).
    if (!signal.aborted) throw new ModelError("worker-lost", "the call was stopped before it finished");
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/** The call's workflow: one step that makes the call where it was dequeued. */
export async function durableCall(call: ModelCall): Promise<string> {
  return DBOS.runStep(() => callHere(call), { name: "call" });
}

/** This process's models, built once (a call is made with the same environment as every other). */
let models: ReturnType<typeof createModels> | undefined;

async function callHere(call: ModelCall): Promise<string> {
  const id = DBOS.workflowID!;
  const before = await streamSoFar<StreamedChunk>((await getDatabase()).db, id, CHUNKS);
  const last = before.at(-1);
  // It had ended, and its process stopped before its step was recorded.
  if (last?.type === "finish" || last?.type === "error" || last?.type === "lost") return "ended";
  // (Its stream is never closed: its last value says how it ended, and a reader stops there or when the workflow ends.)
  if (before.some((chunk) => chunk.type === "text")) {
    // It had sent part of an answer that is gone with its process: the engine makes the call again, as a new attempt.
    await DBOS.writeStream(CHUNKS, [{ type: "lost" }]);
    return "lost";
  }
  const controller = new AbortController();
  let stopped!: () => void;
  const here: CallHere = { controller, handingOver: false, stopped: new Promise<void>((resolve) => (stopped = resolve)) };
  callsHere().set(id, here);
  DBOS.stepStatus?.cancelSignal.addEventListener("abort", () => controller.abort(), { once: true });
  const stream = new ChunkWriter();
  try {
    stream.push({ type: "started" });
    models ??= createModels();
    const { port } = models;
    try {
      for await (const chunk of port.stream(call, controller.signal)) {
        if (chunk.type === "text" || chunk.type === "finish") stream.push(chunk);
      }
    } catch (error) {
      if (!controller.signal.aborted) stream.push(failure(error));
    }
    if (here.handingOver) {
      // SIGTERM's deadline: what was sent stays; the call's workflow goes back on the queue as it is and ends `lost` there.
      await stream.settle();
      return new Promise<never>(() => undefined);
    }
    await stream.settle();
    return "ended";
  } finally {
    callsHere().delete(id);
    stopped();
  }
}

function failure(error: unknown): StreamedChunk {
  if (error instanceof ModelError) {
    return { type: "error", code: error.code, message: error.message, retryable: error.retryable, ...(error.status !== undefined ? { status: error.status } : {}), ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}) };
  }
  return { type: "error", code: "unknown", message: error instanceof Error ? error.message : String(error), retryable: false };
}

/**
 * A call's chunks go to its durable stream in batches, one write at a time, each taking what
 * arrived meanwhile with its text deltas merged (a write costs a few milliseconds of PostgreSQL).
 */
class ChunkWriter {
  private buffer: StreamedChunk[] = [];
  private writing: Promise<void> | null = null;
  private failed = false;
  private held: ReturnType<typeof setTimeout> | undefined;

  push(chunk: StreamedChunk): void {
    const last = this.buffer.at(-1);
    if (chunk.type === "text" && last?.type === "text") this.buffer[this.buffer.length - 1] = { type: "text", delta: last.delta + chunk.delta };
    else this.buffer.push(chunk);
    if (chunk.type === "started") {
      // Written with the first chunk, or alone if the model is slow to answer: one write fewer a call.
      this.held = setTimeout(() => this.release(), STARTED_WAIT_MS);
      return;
    }
    this.release();
  }

  private release(): void {
    clearTimeout(this.held);
    this.writing ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.buffer.length && !this.failed) {
        const batch = this.buffer;
        this.buffer = [];
        const began = performance.now();
        await DBOS.writeStream(CHUNKS, batch);
        // At most one write a window while the answer streams (the engine merges deltas per window anyway); its ending goes at once.
        const wait = WRITE_EVERY_MS - (performance.now() - began);
        if (wait > 0 && batch.at(-1)?.type === "text") await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } catch {
      // The call's workflow was cancelled: nobody reads it any more.
      this.failed = true;
    } finally {
      this.writing = null;
    }
  }

  async settle(): Promise<void> {
    if (this.buffer.length) this.release();
    while (this.writing) await this.writing;
  }
}
