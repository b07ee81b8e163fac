import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { POST } from "@/app/api/runs/cancel/route";
import { findTemplate, parseDocument, type ModelCall, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import { createModels } from "./models";
import type { DemoFault } from "./models/demo";
import { closeDatabase } from "./db";
import { openDatabase, type Database } from "./db/connect";
import * as q from "./db/queries";
import { eq, sql } from "drizzle-orm";
import { runs } from "./db/schema";
import { browserIdentityCookie } from "./identity";
import { startRun, startSharedRun, type RunContext } from "./runs";
import { tempDir } from "@/testing/temp-dirs";

/** The run service: what the streaming server actions and the cancel route call. */

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

async function collect(events: AsyncIterable<RunEvent>, onEvent?: (event: RunEvent) => Promise<void> | void): Promise<RunEvent[]> {
  const seen: RunEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    await onEvent?.(event);
  }
  return seen;
}

const newId = () => globalThis.crypto.randomUUID();

/** The run's record once it has ended (the run is recorded apart from the stream, so a consumer that left does not wait for it). */
async function recordWhenEnded(owner: string, runId: string, withinMs = 5_000) {
  const started = Date.now();
  for (;;) {
    const record = await q.getRunRecord(database.db, { owner, runId });
    if ((record && record.run.status !== "running") || Date.now() - started > withinMs) return record && { ...record, afterMs: Date.now() - started };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Demo models with faults, counting the calls that reach them. */
function faultyModels(faults: DemoFault[]) {
  const models = createModels({ demo: { firstTokenDelayMs: 0, chunkDelayMs: 1, faults }, limits: { retryAfterCapMs: 60_000 }, coalesceMs: 0 });
  const counted = { calls: 0 };
  return { counted, models: { ...models, port: { stream: (call: ModelCall, signal: AbortSignal) => (counted.calls++, models.port.stream(call, signal)) } } };
}
let database: Database;
let owners = 0;
const context = (extra: Partial<RunContext> = {}): RunContext => ({ owner: `runner-${Date.now()}-${owners++}-abcdefghijklmnopqrstuvwxyz`, db: database.db, processId: "test", ...extra });

beforeAll(async () => {
  // A quick demo model (read when the first run creates the models): these tests are about records, not pacing.
  vi.stubEnv("TRELLIS_DEMO_FIRST_TOKEN_MS", "20");
  vi.stubEnv("TRELLIS_DEMO_CHUNK_MS", "1");
  // Browser identities are signed with a key the server's database keeps (the cancel route checks
  // the cookie's signature): that database lives in a temporary directory here.
  vi.stubEnv("TRELLIS_DATA_DIR", join(tempDir("trellis-runs-"), "pglite"));
  database = await openDatabase({});
}, 30_000);
afterAll(async () => {
  await database?.close();
  await closeDatabase();
});

describe("run service", () => {
  it("streams a run and lets only its owner cancel it through the cancel route", async () => {
    const runId = newId();
    const ctx = context();
    const cancel = async (owner: string, origin = "http://127.0.0.1:3000") =>
      POST(new Request("http://127.0.0.1:3000/api/runs/cancel", { method: "POST", body: runId, headers: { origin, cookie: `other=1; ${await browserIdentityCookie(owner)}` } })).then((r) => r.json());
    const events = await collect(startRun({ runId, document: template("parallelization"), inputs: { topic: "kites" } }, ctx), async (event) => {
      if (event.type === "node-started" && event.nodeId === "n_story") {
        expect(await cancel("someone-else-abcdefghijklmnopqrstuvwxyz")).toEqual({ ok: true, data: { cancelled: false } });
        // A page of another origin (a same-site page of someone else's) cannot cancel it, cookie or not.
        expect(await cancel(ctx.owner, "http://attacker.example")).toMatchObject({ ok: false, error: { code: "forbidden" } });
        expect(await cancel(ctx.owner, "null")).toMatchObject({ ok: false, error: { code: "forbidden" } });
        expect(await cancel(ctx.owner)).toEqual({ ok: true, data: { cancelled: true } });
      }
    });
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "cancelled" });
    expect(await cancel(ctx.owner)).toEqual({ ok: true, data: { cancelled: false } });
  });

  it("records the run as it streams: the stored events are exactly the streamed ones, and the result is stored before the last event arrives", async () => {
    const ctx = context();
    const created = await q.createWorkflow(database.db, { owner: ctx.owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const runId = newId();
    const events = await collect(startRun({ runId, document: template("routing"), inputs: { input: "refund please" }, workflowId: created.id, baseVersion: 1 }, ctx), async (event) => {
      if (event.type === "run-finished") expect((await q.getRun(database.db, { owner: ctx.owner, runId }))?.status).toBe("succeeded");
    });
    const record = await q.getRunRecord(database.db, { owner: ctx.owner, runId });
    // Stored as streamed, except that each batch's deltas of one node are merged into ≤50 ms chunks.
    expect(record?.events.filter((e) => e.type !== "node-delta")).toEqual(events.filter((e) => e.type !== "node-delta"));
    const joined = (list: RunEvent[] | undefined, nodeId: string) => list?.flatMap((e) => (e.type === "node-delta" && e.nodeId === nodeId ? [e.text ?? e.json ?? ""] : [])).join("");
    for (const nodeId of new Set(events.flatMap((e) => ("nodeId" in e ? [e.nodeId] : [])))) expect(joined(record?.events, nodeId)).toBe(joined(events, nodeId));
    expect(record?.run).toMatchObject({ status: "succeeded", version: 1, edited: false, source: "editor", inputs: { input: "refund please" } });
    // The same workflow with an unsaved edit records the version it was based on, marked edited.
    const editedId = newId();
    await collect(startRun({ runId: editedId, document: { ...template("routing"), name: "Routing, edited" }, inputs: { input: "x" }, workflowId: created.id, baseVersion: 1 }, ctx));
    expect((await q.getRunRecord(database.db, { owner: ctx.owner, runId: editedId }))?.run).toMatchObject({ version: 1, edited: true });
  });

  it("records a run whose browser stops reading as cancelled, keeping what it streamed", async () => {
    const ctx = context();
    const runId = newId();
    const stream = startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "a kite" } }, ctx);
    const seen: RunEvent[] = [];
    for await (const event of stream) {
      seen.push(event);
      if (event.type === "node-delta") break;
    }
    const record = await recordWhenEnded(ctx.owner, runId);
    expect(record?.run.status).toBe("cancelled");
    expect(record?.events.slice(0, seen.length)).toEqual(seen);
    expect(record?.events.at(-1)).toMatchObject({ type: "run-finished", status: "cancelled", error: { code: "client-gone" } });
  });

  it.each([
    ["a provider call that hangs", { kind: "hang", match: "Write a short joke" } as DemoFault, "node-started"],
    ["a 20 s Retry-After backoff", { kind: "rate-limit", match: "Write a short joke", retryAfterSeconds: 20 } as DemoFault, "node-retry"],
  ])("a browser that leaves during %s cancels the run within a second, with no further provider call", async (_, fault, leaveOn) => {
    const { counted, models } = faultyModels([fault]);
    const ctx = context({ models });
    const runId = newId();
    const iterator = startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "a kite" } }, ctx)[Symbol.asyncIterator]();
    for (;;) {
      const { value, done } = await iterator.next();
      if (done) throw new Error(`the run ended before a ${leaveOn} event of n_joke`);
      if (value.type === leaveOn && "nodeId" in value && value.nodeId === "n_joke") break;
    }
    const callsWhenLeft = counted.calls;
    // What React does when the request is aborted; it does not wait for the answer.
    void iterator.throw?.(new Error("aborted"));
    const record = await recordWhenEnded(ctx.owner, runId, 1_000);
    expect(record?.run.status).toBe("cancelled");
    expect(record?.afterMs).toBeLessThan(1_000);
    expect(record?.events.at(-1)).toMatchObject({ type: "run-finished", status: "cancelled", error: { code: "client-gone" } });
    expect(record?.events.some((e) => e.type === "node-cancelled" && e.nodeId === "n_joke")).toBe(true);
    expect(counted.calls).toBe(callsWhenLeft);
  });

  it("refuses a run of someone else's workflow, and a reused run id", async () => {
    const owner = context();
    const created = await q.createWorkflow(database.db, { owner: owner.owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const stranger = await collect(startRun({ runId: newId(), document: template("routing"), inputs: {}, workflowId: created.id }, context()));
    expect(stranger.at(-1)).toMatchObject({ status: "failed", error: { code: "not-found" } });
    const runId = newId();
    await collect(startRun({ runId, document: template("routing"), inputs: { input: "a" } }, owner));
    const again = await collect(startRun({ runId, document: template("routing"), inputs: { input: "a" } }, owner));
    expect(again.at(-1)).toMatchObject({ status: "failed", error: { code: "duplicate-run" } });
  });

  it("rate-limits runs per identity and source from the run records, with a clear message", async () => {
    const rates = { runsPerMinute: 2, sharedRunsPerMinute: 1 };
    const ctx = context({ rates });
    const run = (who = ctx) => collect(startRun({ runId: newId(), document: template("routing"), inputs: { input: "a" } }, who)).then((e) => e.at(-1));
    expect(await run()).toMatchObject({ status: "succeeded" });
    expect(await run()).toMatchObject({ status: "succeeded" });
    const refused = await run();
    expect(refused).toMatchObject({ status: "failed", error: { code: "rate-limited", message: expect.stringMatching(/^too many runs from this browser \(2 a minute\): try again in \d+ s$/) } });
    const wait = Number(/in (\d+) s/.exec((refused as { error: { message: string } }).error.message)![1]);
    expect(wait).toBeGreaterThan(50);
    expect(wait).toBeLessThanOrEqual(60);
    // Another identity has its own allowance.
    expect(await run(context({ rates }))).toMatchObject({ status: "succeeded" });
    // A minute later (the records say so) the first identity may run again.
    await database.db.update(runs).set({ startedAt: sql`now() - interval '61 seconds'` }).where(eq(runs.owner, ctx.owner));
    expect(await run()).toMatchObject({ status: "succeeded" });
  });

  it("runs a shared link's stored version only when the owner allows it", async () => {
    const owner = context();
    const created = await q.createWorkflow(database.db, { owner: owner.owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const link = await q.createShareLink(database.db, { owner: owner.owner, workflowId: created.id, version: 1 });
    const visitor = context({ rates: { runsPerMinute: 30, sharedRunsPerMinute: 1 } });
    const refused = await collect(startSharedRun({ runId: newId(), shareId: link!.id, inputs: { input: "a" } }, visitor));
    expect(refused.at(-1)).toMatchObject({ status: "failed", error: { code: "run-not-allowed" } });
    await q.setShareLinkAllowRun(database.db, { owner: owner.owner, id: link!.id, allowRun: true });
    // A document smuggled into the request is refused by the strict schema, not run.
    const smuggled = await collect(startSharedRun({ runId: newId(), shareId: link!.id, inputs: {}, document: template("prompt-chaining") }, visitor));
    expect(smuggled.at(-1)).toMatchObject({ status: "failed", error: { code: "invalid-request" } });
    const runId = newId();
    const ran = await collect(startSharedRun({ runId, shareId: link!.id, inputs: { input: "my invoice is wrong" } }, visitor));
    expect(ran.at(-1)).toMatchObject({ status: "succeeded" });
    expect(ran[0]).toMatchObject({ type: "run-started", workflow: "Routing" });
    // The visitor's run is theirs, of the stored version, from the link — not in the owner's history.
    expect((await q.getRunRecord(database.db, { owner: visitor.owner, runId }))?.run).toMatchObject({ source: "share", version: 1, edited: false });
    expect(await q.listRuns(database.db, { owner: owner.owner, workflowId: created.id })).toEqual([]);
    // Per visitor: a second run from the link within the minute is refused; the editor's allowance is separate.
    const again = await collect(startSharedRun({ runId: newId(), shareId: link!.id, inputs: { input: "again" } }, visitor));
    expect(again.at(-1)).toMatchObject({ status: "failed", error: { code: "rate-limited" } });
    expect((await collect(startRun({ runId: newId(), document: template("routing"), inputs: { input: "a" } }, visitor))).at(-1)).toMatchObject({ status: "succeeded" });
    await q.revokeShareLink(database.db, { owner: owner.owner, id: link!.id });
    const revoked = await collect(startSharedRun({ runId: newId(), shareId: link!.id, inputs: {} }, visitor));
    expect(revoked.at(-1)).toMatchObject({ status: "failed", error: { code: "not-shared" } });
  });

  it("answers a bad request or document with a failed run event, never a thrown error", async () => {
    const bad = await collect(startRun({ runId: "not-a-uuid", document: {}, inputs: {} }, context()));
    expect(bad.at(-1)).toMatchObject({ type: "run-finished", status: "failed", error: { code: "invalid-request" } });
    const invalid = await collect(startRun({ runId: newId(), document: { format: "trellis.workflow", version: 9 }, inputs: {} }, context()));
    expect(invalid.at(-1)).toMatchObject({ status: "failed", error: { code: "invalid-document", issues: [{ path: "version" }] } });
    const response = await POST(new Request("http://127.0.0.1:3000/api/runs/cancel", { method: "POST", body: "x", headers: { origin: "http://127.0.0.1:3000" } }));
    expect(response.status).toBe(400);
  });

  it("refuses a model the server has not configured before any call", async () => {
    const doc = structuredClone(findTemplate("routing")!.json) as { settings: { defaultModel: string } };
    doc.settings.defaultModel = "anthropic:claude-sonnet-4-5";
    const events = await collect(startRun({ runId: newId(), document: doc, inputs: {} }, context()));
    expect(events.map((e) => e.type)).toEqual(["run-started", "run-finished"]);
    expect(events.at(-1)).toMatchObject({ error: { code: "model-not-configured", message: expect.stringMatching(/not configured/) } });
  });
});
