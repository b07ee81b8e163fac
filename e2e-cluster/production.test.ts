import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findTemplate, parseDocument, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import { ActionClient } from "../e2e-faults/client";
import { APP_DIR, freshDatabase, holderId, workflowStatus, readEventStream, requireBuild, startWeb, startWorker, stopAll, type Web, type Worker } from "./processes";

/**
 * Cluster mode as deployed: two web instances (`npm start`'s server on the production build) and two
 * workers on one PostgreSQL, driven over HTTP the way browsers and API clients reach them — runs
 * through the server action, events through `GET /api/runs/<id>/events` as Server-Sent Events,
 * cancel through the action. Faults are real processes killed for real.
 */

const base = process.env.TEST_DATABASE_URL;
if (!base) throw new Error("the cluster suite needs TEST_DATABASE_URL (a PostgreSQL role that may create databases)");
/** Ports of this suite's web instances (the Playwright cluster test uses the next two; the executing web instance the one after). */
const PORTS = [Number(process.env.TRELLIS_CLUSTER_PORT ?? 3300), Number(process.env.TRELLIS_CLUSTER_PORT ?? 3300) + 1];

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

let databaseUrl: string;
let webA: Web;
let webB: Web;
const workers: Worker[] = [];
/** One browser identity, issued by web A and honoured by web B (the signing key is in the shared database). */
let viaA: ActionClient;
let viaB: ActionClient;

beforeAll(async () => {
  requireBuild();
  databaseUrl = await freshDatabase(base, "trellis_cluster_prod_test");
  // Web A first: it migrates the database; the others open it migrated.
  webA = await startWeb({ port: PORTS[0], databaseUrl });
  [webB] = await Promise.all([startWeb({ port: PORTS[1], databaseUrl }), startWorker({ databaseUrl }).then((w) => workers.push(w)), startWorker({ databaseUrl }).then((w) => workers.push(w))]);
  viaA = new ActionClient(webA.url, APP_DIR);
  await viaA.call("listRunsAction", [randomUUID()]).catch(() => undefined);
  viaB = new ActionClient(webB.url, APP_DIR, viaA.identity);
}, 180_000);

afterAll(async () => {
  await stopAll();
});

async function collect(events: AsyncIterable<RunEvent>, onEvent?: (event: RunEvent) => void): Promise<RunEvent[]> {
  const seen: RunEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    onEvent?.(event);
  }
  return seen;
}

const sse = (web: Web, runId: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${web.url}/api/runs/${runId}/events`, { headers: { accept: "text/event-stream", cookie: `trellis_id=${viaA.identity}`, ...headers }, signal });

/**
 * What a browser's EventSource does: reads the run's events from `web`, and when a response ends
 * before `run-finished` (the run was not admitted yet, or ended nothing) asks again with the last
 * id it received; until `stop` says so or the run ends.
 */
async function follow(web: Web, runId: string, stop: (event: RunEvent) => boolean, signal?: AbortSignal, after?: number): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (;;) {
    const last = events.at(-1)?.seq ?? after;
    const response = await sse(web, runId, last !== undefined ? { "last-event-id": String(last) } : {}, signal);
    if (response.ok) {
      let stopped = false;
      events.push(...(await readEventStream<RunEvent>(response, (event) => (stopped = stop(event)))));
      if (stopped || events.at(-1)?.type === "run-finished") return events;
    } else await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A run's events as its record keeps them: every event but deltas as sent, each node's (or instance's) deltas as one text. */
function asStored(events: RunEvent[]) {
  const texts: Record<string, string> = {};
  for (const event of events) if (event.type === "node-delta") texts[`${event.nodeId}#${event.instance ?? ""}`] = (texts[`${event.nodeId}#${event.instance ?? ""}`] ?? "") + (event.text ?? event.json ?? "");
  return { events: events.filter((event) => event.type !== "node-delta"), texts };
}

/** Two workers taking runs (a fault test may have stopped one). */
async function twoWorkers(): Promise<Worker[]> {
  for (let i = workers.length - 1; i >= 0; i--) if (!workers[i].alive()) workers.splice(i, 1);
  while (workers.length < 2) workers.push(await startWorker({ databaseUrl }));
  return [...workers];
}

/** One stream, numbered without gaps, each execution finished once, ending as the run without a fault ended. */
function expectWhole(events: RunEvent[], reference: RunEvent[]) {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
  const finishes = (list: RunEvent[]) =>
    list
      .filter((e): e is RunEventOf<"node-finished"> => e.type === "node-finished")
      .map((e) => `${e.nodeId}#${e.iteration}#${e.instance ?? ""}`)
      .sort();
  expect(finishes(events)).toEqual(finishes(reference));
  const [finished, expected] = [events.at(-1), reference.at(-1)] as Array<RunEventOf<"run-finished">>;
  expect(finished).toMatchObject({ type: "run-finished", status: "succeeded" });
  expect(finished.outputs).toEqual(expected.outputs);
}

describe("cluster mode: two web instances and two workers from the production build", () => {
  it("streams a run started through web A live from web B: the same events in the same order, none missing or repeated", async () => {
    const runId = randomUUID();
    let watching: Promise<RunEvent[]> | undefined;
    const events = await collect(viaA.run(template("parallelization"), { runId, inputs: { topic: "kites" } }), () => {
      watching ??= sse(webB, runId).then((response) => readEventStream<RunEvent>(response));
    });
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    expect(await watching!).toEqual(events);
    // Neither web instance ran it.
    expect(workers.map((worker) => worker.id)).toContain(await holderId(databaseUrl, runId));
  });

  it("a browser dropped halfway through reconnects to web B with Last-Event-ID and receives the rest exactly once", async () => {
    const runId = randomUUID();
    const drop = new AbortController();
    let deltas = 0;
    const [events, before] = await Promise.all([
      collect(viaA.run(template("prompt-chaining"), { runId, inputs: { topic: "a kite" } })),
      // The browser follows on web A until its fifth delta, then its connection drops.
      follow(webA, runId, (event) => event.type === "node-delta" && ++deltas === 5, drop.signal),
    ]);
    drop.abort();
    const last = before.at(-1)!;
    expect(last.type).toBe("node-delta");
    const rest = await follow(webB, runId, () => false, undefined, last.seq);
    const received = [...before, ...rest];
    // Every event once, in order; where a response came from the record, its deltas are stored merged (same text).
    expect(received.map((event) => event.seq)).toEqual([...new Set(received.map((event) => event.seq))].sort((x, y) => x - y));
    expect(asStored(received)).toEqual(asStored(events));
  });

  it("cancels through web B a run started through web A: no event more than a second later, cancelled, and it stays so", async () => {
    const runId = randomUUID();
    let cancelledAt = 0;
    let lastAt = 0;
    const events = await collect(viaA.run(template("prompt-chaining"), { runId, inputs: { topic: "a kite" } }), (event) => {
      lastAt = Date.now();
      if (cancelledAt || event.type !== "node-delta") return;
      cancelledAt = Date.now();
      void viaB.call("cancelRunAction", [runId]);
    });
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "cancelled" });
    expect(lastAt - cancelledAt).toBeLessThan(1_000);
    // Whichever instance is asked, now and after three heartbeat sweeps and the cancel backstop.
    const ended = async (web: Web) => (await readEventStream<RunEvent>(await sse(web, runId))).at(-1);
    expect(await ended(webB)).toMatchObject({ type: "run-finished", status: "cancelled" });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await ended(webA)).toMatchObject({ type: "run-finished", status: "cancelled" });
    expect(await workflowStatus(databaseUrl, runId)).not.toMatch(/PENDING|ENQUEUED/);
  });

  it("starts one run for one run id posted to both web instances", async () => {
    const runId = randomUUID();
    const document = template("routing");
    const [first, second] = await Promise.all([collect(viaA.run(document, { runId, inputs: { input: "refund" } })), collect(viaB.run(document, { runId, inputs: { input: "refund" } }))]);
    const outcomes = [first.at(-1), second.at(-1)].map((event) => (event?.type === "run-finished" ? (event.error?.code ?? event.status) : "none")).sort();
    expect(outcomes).toEqual(["duplicate-run", "succeeded"]);
  });

  it("finishes a run whose worker is killed (SIGKILL) mid-stream on the other worker within 15 s: the streaming node restarts as attempt 2, finished ones are not called again", async () => {
    const pair = await twoWorkers();
    const document = template("prompt-chaining");
    const reference = await collect(viaA.run(document, { inputs: { topic: "a kite" } }));
    const runId = randomUUID();
    const finished = new Set<string>();
    let killed: { at: number; worker?: Worker } | undefined;
    const events = await collect(viaA.run(document, { runId, inputs: { topic: "a kite" } }), (event) => {
      if (event.type === "node-finished" && event.usage.outputTokens > 0) finished.add(event.nodeId);
      if (killed || event.type !== "node-delta" || finished.size !== 1 || finished.has(event.nodeId)) return;
      killed = { at: Date.now() };
      void holderId(databaseUrl, runId).then((id) => {
        killed!.worker = pair.find((worker) => worker.id === id);
        killed!.worker?.child.kill("SIGKILL");
      });
    });
    expect(reference.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    expect(killed?.worker).toBeDefined();
    expect((await killed!.worker!.exited).signal).toBe("SIGKILL");
    expect(Date.now() - killed!.at).toBeLessThan(15_000);
    expectWhole(events, reference);
    expect(events.filter((e) => e.type === "node-retry")).toEqual([expect.objectContaining({ attempt: 2, code: "worker-lost" })]);
    const resumedAt = events.find((e) => e.type === "node-retry")!.seq;
    const recalled = events.filter((e) => e.type === "node-finished" && e.seq < resumedAt && e.usage.outputTokens > 0).length;
    expect(recalled).toBeGreaterThanOrEqual(1);
    // Every call of a crash-free run (none again for the recalled nodes), plus the one the dead worker made for the node that restarted.
    expect((events.at(-1) as RunEventOf<"run-finished">).calls).toBe((reference.at(-1) as RunEventOf<"run-finished">).calls! + 1);
    // The replay of the run (its record, read through web B) is what was streamed.
    expect((await readEventStream<RunEvent>(await sse(webB, runId))).filter((e) => e.type !== "node-delta")).toEqual(events.filter((e) => e.type !== "node-delta"));
  });

  it("hands a run over when its worker gets SIGTERM: the worker exits 0, the other resumes the run and nothing is lost", async () => {
    const pair = await twoWorkers();
    const document = template("orchestrator-worker");
    const reference = await collect(viaA.run(document, { inputs: { topic: "tides" } }));
    const runId = randomUUID();
    let instances = 0;
    let stopped: { at: number; worker?: Worker } | undefined;
    const events = await collect(viaA.run(document, { runId, inputs: { topic: "tides" } }), (event) => {
      if (event.type === "node-finished" && event.instance !== undefined) instances++;
      if (stopped || instances < 1 || event.type !== "node-delta") return;
      stopped = { at: Date.now() };
      void holderId(databaseUrl, runId).then((id) => {
        stopped!.worker = pair.find((worker) => worker.id === id);
        stopped!.worker?.child.kill("SIGTERM");
      });
    });
    expect(stopped?.worker).toBeDefined();
    expect((await stopped!.worker!.exited).code).toBe(0);
    expect(stopped!.worker!.output()).toContain("1 handed over");
    expect(Date.now() - stopped!.at).toBeLessThan(10_000);
    expectWhole(events, reference);
    expect(events.some((e) => e.type === "node-retry" && e.code === "worker-lost" && e.attempt === 2)).toBe(true);
  });

  it("executes runs in a web process started with TRELLIS_WEB_EXECUTES=1 when no worker runs", async () => {
    for (const worker of workers) worker.child.kill("SIGTERM");
    await Promise.all(workers.map((worker) => worker.exited));
    workers.length = 0;
    const webC = await startWeb({ port: PORTS[1] + 3, databaseUrl, env: { TRELLIS_WEB_EXECUTES: "1" } });
    const webCId = /this process \(([0-9a-f-]{36})\) takes runs from the queue too/.exec(webC.output())?.[1];
    expect(webCId).toBeDefined();
    // Started through web A, which executes nothing: web C takes it from the queue.
    const runId = randomUUID();
    const events = await collect(viaA.run(template("prompt-chaining"), { runId, inputs: { topic: "a kite" } }));
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index));
    expect(await holderId(databaseUrl, runId)).toBe(webCId);
  });
});
