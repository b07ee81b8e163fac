import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Client } from "pg";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { GET } from "@/app/api/runs/[runId]/events/route";
import { ASSIGN_MARKER, findTemplate, parseDocument, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import { readServerConfig } from "@/lib/server/config";
import { closeDatabase, getDatabase, PROCESS_ID } from "@/lib/server/db";
import type { Db } from "@/lib/server/db/connect";
import * as q from "@/lib/server/db/queries";
import { launchCluster, stopCluster } from "@/lib/server/executor/cluster";
import { browserIdentityCookie } from "@/lib/server/identity";
import { cancelRun, startRun, type RunContext } from "@/lib/server/runs";

/**
 * Cluster mode on one PostgreSQL: worker processes (`npm run worker`) execute the runs that this
 * process admits, and this process streams, follows and cancels them through DBOS. Faults are
 * real: a worker is killed with SIGKILL or stopped with SIGTERM while it streams a run.
 */

const base = process.env.TEST_DATABASE_URL;
if (!base) throw new Error("the cluster suite needs TEST_DATABASE_URL (a PostgreSQL role that may create databases)");
const DATABASE = "trellis_cluster_test";
const databaseUrl = Object.assign(new URL(base), { pathname: `/${DATABASE}` }).toString();

const PACE = { TRELLIS_DEMO_FIRST_TOKEN_MS: "100", TRELLIS_DEMO_CHUNK_MS: "15" };
/** Every process beats often, so a silent one is noticed within the test. */
const BEATS = { TRELLIS_HEARTBEAT_MS: "500", TRELLIS_PROCESS_STALE_MS: "2000" };
/**
 * The queue's partition limit: each owner at most 2 runs at a time (admission is given more room in
 * the partition test). Map instances' calls: at most 3 on the cluster, 2 in one process — so three
 * in flight take both workers.
 */
const LIMITS = { TRELLIS_MAX_RUNS_PER_IDENTITY: "2", TRELLIS_MAX_CONCURRENT_MAP_CALLS: "3", TRELLIS_MAP_CALLS_PER_PROCESS: "2" };

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

async function collect(events: AsyncIterable<RunEvent>, onEvent?: (event: RunEvent) => void): Promise<RunEvent[]> {
  const seen: RunEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    onEvent?.(event);
  }
  return seen;
}

type Worker = { child: ChildProcess; id: string; output(): string; exited: Promise<number | null> };
const outputs: Array<() => string> = [];
const allOutput = () => outputs.map((output, i) => `--- worker ${i}:\n${output().slice(-4000)}`).join("\n");

/** Starts a worker and resolves once it takes runs. At SIGTERM it hands runs still in progress after 300 ms over. */
function startWorker(): Promise<Worker> {
  // Node itself runs the worker (tsx as a loader, not its wrapper process), so a kill reaches the worker.
  const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", "scripts/worker.ts", "--drain-ms", "300"], {
    env: { ...process.env, ...PACE, ...BEATS, ...LIMITS, TRELLIS_EXECUTOR: "cluster", DATABASE_URL: databaseUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  workers.add(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  void exited.then(() => workers.delete(child));
  return new Promise((resolve, reject) => {
    let output = "";
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /trellis worker ([0-9a-f-]{36}): taking runs/.exec(output);
      if (ready) {
        outputs.push(() => output);
        resolve({ child, id: ready[1], output: () => output, exited });
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    void exited.then((code) => reject(new Error(`the worker exited (${code}) before taking runs:\n${output}`)));
  });
}

let db: Db;
/** Every worker process alive. */
const workers = new Set<ChildProcess>();
let first: Worker;
/** Every worker started, in order. */
const started: Worker[] = [];
let owners = 0;
const context = (): RunContext => ({ owner: `cluster-${Date.now()}-${owners++}-abcdefghijklmnopqrstuvwxyz`, db, processId: PROCESS_ID });
const newId = () => globalThis.crypto.randomUUID();

beforeAll(async () => {
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  for (const [name, value] of Object.entries({ ...PACE, ...BEATS, ...LIMITS, TRELLIS_EXECUTOR: "cluster", DATABASE_URL: databaseUrl })) vi.stubEnv(name, value);
  db = (await getDatabase()).db;
  // This process admits, follows and cancels; only the workers execute.
  await launchCluster({ databaseUrl });
  first = await startWorker();
  started.push(first);
}, 60_000);

afterAll(async () => {
  for (const child of workers) child.kill("SIGKILL");
  await stopCluster();
  await closeDatabase();
});

/** Exactly two workers taking runs (every worker alive): the one that runs a test's run, and one to take it over. */
async function twoWorkers(): Promise<Worker[]> {
  const live = () => started.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);
  while (live().length < 2) started.push(await startWorker());
  first = live()[0];
  return live();
}

/** Fails with what every worker wrote and where the run's workflow is, rather than at the test's timeout, when `work` takes longer than `ms`. */
async function within<T>(ms: number, runId: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void DBOS.getWorkflowStatus(runId).then((status) =>
        reject(new Error(`run ${runId} did not end within ${ms} ms; its workflow: ${JSON.stringify({ status: status?.status, executor: status?.executorId })}\n${allOutput()}`)),
      );
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The worker running a run now (DBOS says which process holds its workflow). */
async function holderOf(runId: string, among: Worker[]): Promise<Worker> {
  const id = (await DBOS.getWorkflowStatus(runId))?.executorId;
  const holder = among.find((worker) => worker.id === id);
  if (!holder) throw new Error(`run ${runId} is held by ${id}, none of this test's workers`);
  return holder;
}

/** What a crash must not change: one stream, numbered without gaps, each execution finished once, ending as a run without a crash ends. */
function expectWhole(events: RunEvent[], reference: RunEvent[]) {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
  const finishes = events.filter((e): e is RunEventOf<"node-finished"> => e.type === "node-finished").map((e) => `${e.nodeId}#${e.iteration}#${e.instance ?? ""}`);
  expect(new Set(finishes).size).toBe(finishes.length);
  const referenceFinishes = reference.filter((e): e is RunEventOf<"node-finished"> => e.type === "node-finished").map((e) => `${e.nodeId}#${e.iteration}#${e.instance ?? ""}`);
  expect(finishes.sort()).toEqual(referenceFinishes.sort());
  const [finished, expected] = [events.at(-1), reference.at(-1)] as Array<RunEventOf<"run-finished">>;
  expect(finished).toMatchObject({ type: "run-finished", status: "succeeded" });
  expect(finished.outputs).toEqual(expected.outputs);
  expect(finished.usage).toEqual(expected.usage);
}

/** Model calls the run made, every attempt's (the engine counts them in `run-finished`). */
const modelCalls = (events: RunEvent[]) => (events.at(-1) as RunEventOf<"run-finished">).calls!;

/** Model calls lost with a stopped worker: one per execution that restarted (a map worker's own restart calls nothing; its instances do). */
function lostCalls(events: RunEvent[]): number {
  const mapWorkers = new Set(events.flatMap((e) => (e.type === "node-instances" ? [e.nodeId] : [])));
  return events.filter((e) => e.type === "node-retry" && e.code === "worker-lost" && (e.instance !== undefined || !mapWorkers.has(e.nodeId))).length;
}

/** Executions that called a model and had finished (in the durable stream) before the run was resumed. */
function finishedBeforeResume(events: RunEvent[]): number {
  const resumed = events.find((e) => e.type === "node-retry" && e.code === "worker-lost")!;
  return events.filter((e) => e.type === "node-finished" && e.seq < resumed.seq && e.usage.outputTokens > 0).length;
}

/** The orchestrator-worker template planning exactly 8 sections, written 8 at a time (the demo planner assigns the items it is given, as for a planned hierarchy). */
function eightSections(): WorkflowDocument {
    const plain = template("orchestrator-worker");
    const parts = Array.from({ length: 8 }, (_, i) => `${i + 1}. name: Part ${i + 1} | instructions: describe aspect ${i + 1} of the topic`);
    const assigned = parseDocument({
      ...plain,
      nodes: plain.nodes.map((node) =>
        node.id === "n_plan"
          ? { ...node, config: { outputKey: "sections", prompt: `Plan a report on {{topic}}. ${ASSIGN_MARKER}, in this order:\n\n${parts.join("\n")}`, fields: [{ name: "name", type: "string" }, { name: "instructions", type: "string" }, { name: "after", type: "string" }], maxItems: 8 } }
          : node.id === "n_write"
            ? { ...node, config: { forEach: "sections", outputKey: "completed_sections", prompt: "Write the section {{item.name}} of a report on {{topic}}: {{item.instructions}}", concurrency: 8 } }
            : node,
      ),
    });
    if (!assigned.ok) throw new Error(`invalid test document: ${JSON.stringify(assigned.issues)}`);
    return assigned.document;
}

describe("cluster mode", () => {
  it("runs a run admitted here on the worker, its events streamed here from the durable stream, in order, none missing or repeated", async () => {
    const ctx = context();
    const runId = newId();
    const events = await collect(startRun({ runId, document: template("parallelization"), inputs: { topic: "kites" } }, ctx));
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    expect((await DBOS.getWorkflowStatus(runId))?.executorId).toBe(first.id);
    const record = await q.getRunRecord(db, { owner: ctx.owner, runId });
    expect(record?.run.status).toBe("succeeded");
    expect(record?.events.at(-1)).toEqual(events.at(-1));
  });

  it("serves a run in progress on the worker as Server-Sent Events from where Last-Event-ID resumes", async () => {
    const ctx = context();
    const runId = newId();
    let follower: Promise<RunEvent[]> | undefined;
    let resumeAfter = -1;
    const events = await collect(startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "a kite" } }, ctx), (event) => {
      if (follower || event.type !== "node-delta") return;
      resumeAfter = event.seq;
      follower = (async () => {
        const response = await GET(
          new Request(`http://127.0.0.1:3000/api/runs/${runId}/events`, { headers: { accept: "text/event-stream", "last-event-id": String(resumeAfter), cookie: await browserIdentityCookie(ctx.owner) } }),
          { params: Promise.resolve({ runId }) },
        );
        const text = await response.text();
        return text
          .split("\n\n")
          .map((message) => message.split("\n").find((line) => line.startsWith("data: ")))
          .filter((line): line is string => Boolean(line))
          .map((line) => JSON.parse(line.slice(6)) as RunEvent);
      })();
    });
    expect(await follower!).toEqual(events.filter((event) => event.seq > resumeAfter));
  });

  it("cancels a run on the worker from here within a second, and it stays cancelled", async () => {
    const ctx = context();
    const runId = newId();
    let cancelledAt = 0;
    const events = await collect(startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "a kite" } }, ctx), (event) => {
      if (cancelledAt || event.type !== "node-delta") return;
      cancelledAt = Date.now();
      void cancelRun(runId, ctx.owner);
    });
    const finished = events.at(-1);
    expect(finished).toMatchObject({ type: "run-finished", status: "cancelled" });
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    expect((await q.getRun(db, { owner: ctx.owner, runId }))?.status).toBe("cancelled");
  });

  it("records a run whose browser stops reading as cancelled by client-gone, on the worker, within a second", async () => {
    const ctx = context();
    const runId = newId();
    for await (const event of startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "a kite" } }, ctx)) {
      if (event.type === "node-delta") break;
    }
    const left = Date.now();
    let run = await q.getRun(db, { owner: ctx.owner, runId });
    while (run?.status === "running" && Date.now() - left < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      run = await q.getRun(db, { owner: ctx.owner, runId });
    }
    expect(Date.now() - left).toBeLessThan(1_000);
    expect(run).toMatchObject({ status: "cancelled", error: { code: "client-gone" } });
  });

  it("starts one run for one run id submitted twice", async () => {
    const ctx = context();
    const runId = newId();
    const [first, second] = await Promise.all([
      collect(startRun({ runId, document: template("routing"), inputs: { input: "refund" } }, ctx)),
      collect(startRun({ runId, document: template("routing"), inputs: { input: "refund" } }, ctx)),
    ]);
    const outcomes = [first.at(-1), second.at(-1)].map((event) => (event?.type === "run-finished" ? (event.error?.code ?? event.status) : "none")).sort();
    expect(outcomes).toEqual(["duplicate-run", "succeeded"]);
  });

  it("resumes a run whose worker is killed (SIGKILL) mid-stream on the other worker: finished nodes are not called again, the streaming one restarts as attempt 2, the outputs are a crash-free run's", async () => {
    const pair = await twoWorkers();
    const ctx = context();
    const document = template("prompt-chaining");
    const reference = await collect(startRun({ runId: newId(), document, inputs: { topic: "a kite" } }, ctx));
    const runId = newId();
    let killed: { at: number; worker: Worker; streaming: string; finishedBefore: number } | undefined;
    const finishedModelNodes = new Set<string>();
    const events = await collect(startRun({ runId, document, inputs: { topic: "a kite" } }, ctx), (event) => {
      if (event.type === "node-finished" && event.usage.outputTokens > 0) finishedModelNodes.add(event.nodeId);
      // Killed while the second model node streams: the first one's result is in the durable stream.
      if (killed || event.type !== "node-delta" || finishedModelNodes.size !== 1 || finishedModelNodes.has(event.nodeId)) return;
      killed = { at: Date.now(), worker: pair[0], streaming: event.nodeId, finishedBefore: finishedModelNodes.size };
      void holderOf(runId, pair).then((holder) => {
        killed!.worker = holder;
        holder.child.kill("SIGKILL");
      });
    });
    expect(killed).toBeDefined();
    expect(await killed!.worker.exited).toBe(null);
    expect(Date.now() - killed!.at).toBeLessThan(15_000);
    expectWhole(events, reference);
    // The other worker finished it.
    expect((await DBOS.getWorkflowStatus(runId))?.executorId).toBe(pair.find((worker) => worker !== killed!.worker)!.id);
    // The node that streamed restarted as attempt 2; the resumed attempt called only the models of nodes that had not finished.
    const retry = events.find((e): e is RunEventOf<"node-retry"> => e.type === "node-retry");
    expect(retry).toMatchObject({ nodeId: killed!.streaming, attempt: 2, code: "worker-lost" });
    expect(events.filter((e) => e.type === "node-retry")).toHaveLength(1);
    expect(finishedBeforeResume(events)).toBeGreaterThanOrEqual(killed!.finishedBefore);
    // Every call of a crash-free run, plus the one the dead worker had made for the node that restarted.
    expect(modelCalls(events)).toBe(modelCalls(reference) + 1);
    // The record is the stream: the run succeeded (not left interrupted by the heartbeat sweep), every event as sent but deltas merged.
    expect((await q.getRun(db, { owner: ctx.owner, runId }))?.status).toBe("succeeded");
    const stored = (await q.runEventsPage(db, { runId, limit: 10_000 })).events;
    expect(stored.at(-1)).toEqual(events.at(-1));
    expect(stored.filter((e) => e.type !== "node-delta")).toEqual(events.filter((e) => e.type !== "node-delta"));
  });

  it("holds a resumed run to its limits across attempts (SIGKILL mid-stream): the model calls of the dead worker count against maxModelCalls, the wall time counts from the run's first start", async () => {
    await twoWorkers();
    const ctx = context();
    const plain = template("prompt-chaining");
    const reference = await collect(startRun({ runId: newId(), document: plain, inputs: { topic: "a kite" } }, ctx));
    const referenceEnd = reference.at(-1) as RunEventOf<"run-finished">;
    expect(referenceEnd.status).toBe("succeeded");
    const limited = (limits: Record<string, number>): WorkflowDocument => ({ ...plain, settings: { ...plain.settings, limits: { ...plain.settings?.limits, ...limits } } });
    /** Runs `document` and kills the worker running it with SIGKILL while the second model node streams. */
    const killedMidway = async (document: WorkflowDocument) => {
      // A worker to kill and one to take the run over (the previous kill left one).
      const pair = await twoWorkers();
      const runId = newId();
      const finished = new Set<string>();
      let killed: Promise<Worker> | undefined;
      const events = await within(
        30_000,
        runId,
        collect(startRun({ runId, document, inputs: { topic: "a kite" } }, ctx), (event) => {
          if (event.type === "node-finished" && event.usage.outputTokens > 0) finished.add(event.nodeId);
          if (killed || event.type !== "node-delta" || finished.size !== 1 || finished.has(event.nodeId)) return;
          killed = holderOf(runId, pair).then((holder) => {
            holder.child.kill("SIGKILL");
            return holder;
          });
        }),
      );
      expect(killed).toBeDefined();
      expect(await (await killed!).exited).toBe(null);
      return events;
    };
    // The calls a crash-free run makes are one short once a worker died mid-call: that call was made too.
    const calls = await killedMidway(limited({ maxModelCalls: referenceEnd.calls! }));
    expect(calls.filter((e) => e.type === "node-retry")).toEqual([expect.objectContaining({ attempt: 2, code: "worker-lost" })]);
    expect(calls.at(-1)).toMatchObject({ type: "run-finished", status: "failed", error: { code: "limit:model-calls" } });
    // A wall time the crash-free run keeps to, but not with the 2 s the dead worker's run waited to be taken over.
    const wallTimeMs = Math.round(referenceEnd.ms) + 1_500;
    const late = (await killedMidway(limited({ maxWallTimeMs: wallTimeMs }))).at(-1) as RunEventOf<"run-finished">;
    expect(late).toMatchObject({ status: "failed", error: { code: "limit:wall-time" } });
    // Its duration is the run's, from its first start (the second attempt alone is shorter than the limit).
    expect(late.ms).toBeGreaterThanOrEqual(wallTimeMs);
  });

  it("hands a run over at SIGTERM of its worker: the worker exits 0 at once, the other worker resumes it where it was, map instances that had finished are not called again", async () => {
    const pair = await twoWorkers();
    const document = template("orchestrator-worker");
    const reference = await collect(startRun({ runId: newId(), document, inputs: { topic: "kites" } }, context()));
    const runId = newId();
    let stopped: { at: number; worker: Worker; instancesDone: number } | undefined;
    let instancesDone = 0;
    const events = await within(
      30_000,
      runId,
      collect(startRun({ runId, document, inputs: { topic: "kites" } }, context()), (event) => {
        if (event.type === "node-finished" && event.instance !== undefined) instancesDone++;
        if (stopped || instancesDone < 1 || event.type !== "node-delta" || event.instance === undefined) return;
        stopped = { at: Date.now(), worker: pair[0], instancesDone };
        void holderOf(runId, pair).then((holder) => {
          stopped!.worker = holder;
          holder.child.kill("SIGTERM");
        });
      }),
    );
    expect(stopped).toBeDefined();
    expect(await stopped!.worker.exited).toBe(0);
    expect(stopped!.worker.output()).toContain("1 handed over");
    // Handed over at once, not found by the heartbeat sweep seconds later.
    expect(Date.now() - stopped!.at).toBeLessThan(10_000);
    expectWhole(events, reference);
    expect((await DBOS.getWorkflowStatus(runId))?.executorId).toBe(pair.find((worker) => worker !== stopped!.worker)!.id);
    const retries = events.filter((e): e is RunEventOf<"node-retry"> => e.type === "node-retry");
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((e) => e.code === "worker-lost")).toBe(true);
    // Each execution's attempts count on from 2: a map call the stopped worker was making is lost with it and made again as the next attempt.
    const attempts = new Map<string, number[]>();
    for (const retry of retries) attempts.set(`${retry.nodeId}#${retry.instance ?? ""}`, [...(attempts.get(`${retry.nodeId}#${retry.instance ?? ""}`) ?? []), retry.attempt]);
    for (const numbers of attempts.values()) expect(numbers).toEqual(numbers.map((_, i) => i + 2));
    // The plan and the instances that had finished were recalled: only the others called a model again.
    expect(finishedBeforeResume(events)).toBeGreaterThanOrEqual(1 + stopped!.instancesDone);
    expect(modelCalls(events)).toBe(modelCalls(reference) + lostCalls(events));
  });

  it("spreads an orchestrator's 8 map instances across both workers through the call queue limited to 3: never more than 3 in flight, all 8 finish", async () => {
    const pair = await twoWorkers();
    const ctx = context();
    const document = eightSections();
    const runId = newId();
    const admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
    const calls = () => admin.query<{ status: string; executor_id: string | null }>(`SELECT status, executor_id FROM trellis_dbos.workflow_status WHERE workflow_uuid LIKE $1`, [`${runId}/%`]);
    let peak = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await calls();
        peak = Math.max(peak, rows.filter((row) => row.status === "PENDING").length);
        samples++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const events = await within(60_000, runId, collect(startRun({ runId, document, inputs: { topic: "kites" } }, ctx)));
    sampling = false;
    await sampler;
    const { rows } = await calls();
    await admin.end();
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    const instances = events.filter((e): e is RunEventOf<"node-finished"> => e.type === "node-finished" && e.nodeId === "n_write" && e.instance !== undefined);
    expect(instances.map((e) => e.instance).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(instances.every((e) => e.usage.outputTokens > 0)).toBe(true);
    // One call workflow per instance, each ended well, and the queue's limit held at every sample.
    expect(rows).toHaveLength(8);
    expect(rows.every((row) => row.status === "SUCCESS")).toBe(true);
    expect(samples).toBeGreaterThan(20);
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(3);
    // Both workers made calls.
    expect(new Set(rows.map((row) => row.executor_id))).toEqual(new Set(pair.map((worker) => worker.id)));
  });

  it("makes again, as the next attempt, the map calls of a worker killed (SIGKILL) while the run goes on on the other: the run finishes as a crash-free run does", async () => {
    const pair = await twoWorkers();
    const ctx = context();
    const document = eightSections();
    const reference = await collect(startRun({ runId: newId(), document, inputs: { topic: "kites" } }, ctx));
    const runId = newId();
    const admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
    let killed: Promise<{ worker: Worker; calls: string[] }> | undefined;
    const events = await within(
      60_000,
      runId,
      collect(startRun({ runId, document, inputs: { topic: "kites" } }, ctx), (event) => {
        if (killed || event.type !== "node-delta" || event.instance === undefined) return;
        killed = (async () => {
          const holder = await holderOf(runId, pair);
          const other = pair.find((worker) => worker !== holder)!;
          // Killed while it makes a call of this run (with 3 in flight and 2 a process, it has one).
          for (;;) {
            const { rows } = await admin.query<{ workflow_uuid: string }>(`SELECT workflow_uuid FROM trellis_dbos.workflow_status WHERE workflow_uuid LIKE $1 AND status = 'PENDING' AND executor_id = $2`, [`${runId}/%`, other.id]);
            if (rows.length) {
              other.child.kill("SIGKILL");
              return { worker: other, calls: rows.map((row) => row.workflow_uuid) };
            }
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        })();
      }),
    );
    await admin.end();
    const { worker, calls } = await killed!;
    expect(await worker.exited).toBe(null);
    expectWhole(events, reference);
    // The run itself was never moved; the calls the dead worker was making were made again, each as the next attempt of its instance.
    expect(events.some((e) => e.type === "node-retry" && e.instance === undefined)).toBe(false);
    const lostInstances = new Set(calls.map((id) => Number(id.split("/")[3])));
    const retried = events.filter((e): e is RunEventOf<"node-retry"> => e.type === "node-retry");
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((e) => e.code === "worker-lost" && e.attempt === 2 && lostInstances.has(e.instance!))).toBe(true);
  });

  it("a cancel reaches a run's map calls on every worker: the run ends cancelled within a second, its calls in flight or waiting are cancelled", async () => {
    await twoWorkers();
    const ctx = context();
    const runId = newId();
    let cancelledAt = 0;
    const events = await within(
      30_000,
      runId,
      collect(startRun({ runId, document: eightSections(), inputs: { topic: "kites" } }, ctx), (event) => {
        if (cancelledAt || event.type !== "node-delta" || event.instance === undefined) return;
        cancelledAt = Date.now();
        void cancelRun(runId, ctx.owner);
      }),
    );
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "cancelled" });
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    const admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
    const statuses = async () => (await admin.query<{ status: string }>(`SELECT status FROM trellis_dbos.workflow_status WHERE workflow_uuid LIKE $1`, [`${runId}/%`])).rows.map((row) => row.status);
    let now = await statuses();
    const deadline = Date.now() + 2_000;
    while (now.some((status) => status === "PENDING" || status === "ENQUEUED") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = await statuses();
    }
    await admin.end();
    // All 8 calls had been enqueued (the map's lanes are 8 wide); at most 3 could have run, so most never started.
    expect(now).toHaveLength(8);
    expect(now.filter((status) => status === "PENDING" || status === "ENQUEUED")).toEqual([]);
    expect(now.filter((status) => status === "CANCELLED").length).toBeGreaterThanOrEqual(5);
  });

  it("a run cancelled while its worker is dead (SIGKILL) ends cancelled and is never resumed", async () => {
    const pair = await twoWorkers();
    const ctx = context();
    const runId = newId();
    let killed: Promise<unknown> | undefined;
    const events = await within(
      20_000,
      runId,
      collect(startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "a kite" } }, ctx), (event) => {
        if (killed || event.type !== "node-delta") return;
        killed = holderOf(runId, pair).then(async (holder) => {
          holder.child.kill("SIGKILL");
          await holder.exited;
          // Nobody hears the notification: the cancel must still win over recovery.
          expect(await cancelRun(runId, ctx.owner)).toBe(true);
        });
      }),
    );
    await killed;
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "cancelled" });
    // Past the stale time and the sweeps that would recover it, and the cancel backstop: still cancelled.
    const deadline = Date.now() + 4_000;
    while (Date.now() < deadline) {
      expect((await q.getRun(db, { owner: ctx.owner, runId }))?.status).toBe("cancelled");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect((await DBOS.getWorkflowStatus(runId))?.status).not.toMatch(/PENDING|ENQUEUED/);
    const stored = (await q.runEventsPage(db, { runId, limit: 10_000 })).events;
    expect(stored.filter((event) => event.type === "run-finished")).toEqual([expect.objectContaining({ status: "cancelled" })]);
  });

  it("holds each owner to their queue partition: a busy owner's runs wait behind each other, not in front of another owner's", async () => {
    await twoWorkers();
    // Admission would let five in; the queue's partition runs two at a time.
    const roomy = { ...readServerConfig().admission, maxRunsPerIdentity: 10 };
    const busy = { ...context(), admission: roomy };
    const other = { ...context(), admission: roomy };
    const busyRuns = Array.from({ length: 5 }, () => newId());
    const otherRun = newId();
    const statuses = async () => {
      const result = await admin.query<{ workflow_uuid: string; status: string }>(`SELECT workflow_uuid, status FROM trellis_dbos.workflow_status WHERE workflow_uuid = ANY($1)`, [[...busyRuns, otherRun]]);
      return new Map(result.rows.map((row) => [row.workflow_uuid, row.status]));
    };
    const admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
    const peaks = { busy: 0, otherStartedWhileBusyWaited: false };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = await statuses();
        const running = busyRuns.filter((id) => now.get(id) === "PENDING").length;
        peaks.busy = Math.max(peaks.busy, running);
        if (now.get(otherRun) === "PENDING" && busyRuns.some((id) => now.get(id) === "ENQUEUED")) peaks.otherStartedWhileBusyWaited = true;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const document = template("prompt-chaining");
    const busyDone = busyRuns.map((runId) => collect(startRun({ runId, document, inputs: { topic: "a kite" } }, busy)));
    // The other owner's run comes after all five.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const otherDone = collect(startRun({ runId: otherRun, document, inputs: { topic: "a kite" } }, other));
    const results = await Promise.all([...busyDone, otherDone]);
    sampling = false;
    await sampler;
    await admin.end();
    expect(results.map((events) => events.at(-1))).toEqual(results.map(() => expect.objectContaining({ type: "run-finished", status: "succeeded" })));
    expect(peaks.busy).toBe(2);
    expect(peaks.otherStartedWhileBusyWaited).toBe(true);
  });
});
