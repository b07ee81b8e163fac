import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Client } from "pg";
import { DBOS } from "@dbos-inc/dbos-sdk";
import { GET } from "@/app/api/runs/[runId]/events/route";
import { findTemplate, parseDocument, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import { closeDatabase, getDatabase, PROCESS_ID } from "@/lib/server/db";
import type { Db } from "@/lib/server/db/connect";
import * as q from "@/lib/server/db/queries";
import { launchCluster, stopCluster } from "@/lib/server/executor/cluster";
import { browserIdentityCookie } from "@/lib/server/identity";
import { cancelRun, startRun, type RunContext } from "@/lib/server/runs";

/**
 * Cluster mode on one PostgreSQL: a worker process (`npm run worker`) executes the runs that this
 * process admits, and this process streams, follows and cancels them through DBOS.
 */

const base = process.env.TEST_DATABASE_URL;
if (!base) throw new Error("the cluster suite needs TEST_DATABASE_URL (a PostgreSQL role that may create databases)");
const DATABASE = "trellis_cluster_test";
const databaseUrl = Object.assign(new URL(base), { pathname: `/${DATABASE}` }).toString();

const PACE = { TRELLIS_DEMO_FIRST_TOKEN_MS: "100", TRELLIS_DEMO_CHUNK_MS: "15" };
/** Every process beats often, so a silent one is noticed within the test. */
const BEATS = { TRELLIS_HEARTBEAT_MS: "500", TRELLIS_PROCESS_STALE_MS: "2000" };

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

/** Starts a worker and resolves with its process id once it takes runs. */
function startWorker(): Promise<{ child: ChildProcess; id: string }> {
  // Node itself runs the worker (tsx as a loader, not its wrapper process), so a kill reaches the worker.
  const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", "scripts/worker.ts"], {
    env: { ...process.env, ...PACE, ...BEATS, TRELLIS_EXECUTOR: "cluster", DATABASE_URL: databaseUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const ready = /trellis worker ([0-9a-f-]{36}): taking runs/.exec(output);
      if (ready) resolve({ child, id: ready[1] });
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => reject(new Error(`the worker exited (${code}) before taking runs:\n${output}`)));
  });
}

let db: Db;
let worker: { child: ChildProcess; id: string };
const extraWorkers: ChildProcess[] = [];
let owners = 0;
const context = (): RunContext => ({ owner: `cluster-${Date.now()}-${owners++}-abcdefghijklmnopqrstuvwxyz`, db, processId: PROCESS_ID });
const newId = () => globalThis.crypto.randomUUID();

beforeAll(async () => {
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await admin.end();
  for (const [name, value] of Object.entries({ ...PACE, ...BEATS, TRELLIS_EXECUTOR: "cluster", DATABASE_URL: databaseUrl })) vi.stubEnv(name, value);
  db = (await getDatabase()).db;
  // This process admits, follows and cancels; only the worker executes.
  await launchCluster({ databaseUrl, executesRuns: false });
  worker = await startWorker();
}, 60_000);

afterAll(async () => {
  worker?.child.kill("SIGTERM");
  for (const child of extraWorkers) child.kill("SIGTERM");
  await stopCluster();
  await closeDatabase();
});

describe("cluster mode", () => {
  it("runs a run admitted here on the worker, its events streamed here from the durable stream, in order, none missing or repeated", async () => {
    const ctx = context();
    const runId = newId();
    const events = await collect(startRun({ runId, document: template("parallelization"), inputs: { topic: "kites" } }, ctx));
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    expect((await DBOS.getWorkflowStatus(runId))?.executorId).toBe(worker.id);
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

  it("ends a run whose worker is killed mid-stream: another worker recovers it and, without node checkpoints, ends it interrupted instead of calling every model again", async () => {
    const second = await startWorker();
    extraWorkers.push(second.child);
    const ctx = context();
    const runId = newId();
    let killedAt = 0;
    const events = await collect(startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "a kite" } }, ctx), (event) => {
      if (killedAt || event.type !== "node-delta") return;
      killedAt = Date.now();
      // Kill whichever worker took it.
      void DBOS.getWorkflowStatus(runId).then((status) => {
        const holder = status?.executorId === second.id ? second.child : worker.child;
        holder.kill("SIGKILL");
      });
    });
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "failed", error: { code: "interrupted" } });
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    // Interrupted by the heartbeat sweep, or failed by the recovering worker: whichever noticed first.
    expect(["interrupted", "failed"]).toContain((await q.getRun(db, { owner: ctx.owner, runId }))?.status);
  });
});
