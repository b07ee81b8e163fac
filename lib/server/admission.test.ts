import { randomBytes } from "node:crypto";
import { eq, sql } from "drizzle-orm";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findTemplate, ModelError, parseDocument, type ModelCall, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import type { AdmissionConfig } from "./config";
import { openDatabase, type Database } from "./db/connect";
import * as q from "./db/queries";
import { runs } from "./db/schema";
import { SignInRequiredError } from "./identity";
import { createModels } from "./models";
import type { DemoFault } from "./models/demo";
import { RunRefused, startRun, startSharedRun, type RunContext } from "./runs";

/**
 * Admission control, budgets and the allowlist as the run service applies them: every refusal is
 * a `run-finished` event naming its reason, decided before any provider call, and counted in the
 * database so processes sharing it agree. On in-memory PGlite, and on a fresh PostgreSQL database
 * when TEST_DATABASE_URL is set (server-wide counts must not see other test files' runs).
 */

const backends: Array<[string, () => Promise<Database & { drop?: () => Promise<void> }>]> = [["pglite", () => openDatabase({})]];
const adminUrl = process.env.TEST_DATABASE_URL;
if (adminUrl) {
  backends.push([
    "postgres",
    async () => {
      const name = `trellis_admission_${randomBytes(6).toString("hex")}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const database = await openDatabase({ url: url.toString() });
      return {
        ...database,
        drop: async () => {
          await database.close();
          await admin.query(`DROP DATABASE IF EXISTS ${name}`);
          await admin.end();
        },
      };
    },
  ]);
}

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

async function collect(events: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const seen: RunEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

/** Reads a run until its first event, then leaves it running (its browser keeps following). */
async function started(events: AsyncIterable<RunEvent>) {
  const iterator = events[Symbol.asyncIterator]();
  const first = await iterator.next();
  return { first: first.value as RunEvent, iterator, leave: () => void iterator.throw?.(new Error("left")) };
}

const newId = () => globalThis.crypto.randomUUID();

/** Demo models with faults, counting the calls that reach a provider. */
function countedModels(faults: DemoFault[] = [], extra: Partial<Parameters<typeof createModels>[0] & object> = {}) {
  const models = createModels({ demo: { firstTokenDelayMs: 0, chunkDelayMs: 0, faults }, limits: {}, coalesceMs: 0, ...extra });
  const counted = { calls: 0 };
  return { counted, models: { ...models, port: { stream: (call: ModelCall, signal: AbortSignal) => (counted.calls++, models.port.stream(call, signal)) } } };
}

const ADMISSION: AdmissionConfig = { maxConcurrentRuns: 100, maxConcurrentModelCalls: 1_000, maxRunsPerIdentity: 100, dailyTokens: 0, sharedDailyTokens: 0 };

describe.each(backends)("admission on %s", (_, open) => {
  let database: Database & { drop?: () => Promise<void> };
  let owners = 0;
  const context = (extra: Partial<RunContext> = {}): RunContext => ({
    owner: `admit-${Date.now()}-${owners++}-abcdefghijklmnopqrstuvwxyz`,
    db: database.db,
    processId: "test",
    rates: { runsPerMinute: 1_000, sharedRunsPerMinute: 1_000 },
    admission: ADMISSION,
    models: countedModels().models,
    ...extra,
  });
  const last = (events: RunEvent[]) => events.at(-1);
  /** No run of an earlier test still counts as in progress. */
  const settle = () => database.db.update(runs).set({ status: "cancelled" }).where(eq(runs.status, "running"));

  beforeAll(async () => {
    database = await open();
  }, 30_000);
  afterAll(async () => (database?.drop ? database.drop() : database?.close()));

  it("refuses a model that is not on the allowlist before any provider call (local:anything, openai:gpt-4o?x=1)", async () => {
    const compatible = countedModels([], { compatible: { name: "local", baseURL: "http://127.0.0.1:9/v1", models: ["tiny"] } });
    const openai = countedModels([], { openai: { apiKey: "sk-test-0123456789abcdef", models: ["gpt-4o-mini"] } });
    for (const [model, models] of [
      ["local:anything", compatible],
      ["openai:gpt-4o?x=1", openai],
    ] as const) {
      const doc = { ...template("routing"), settings: { defaultModel: model } };
      const events = await collect(startRun({ runId: newId(), document: doc, inputs: {} }, context({ models: models.models })));
      expect(events.map((e) => e.type)).toEqual(["run-started", "run-finished"]);
      expect(last(events)).toMatchObject({ status: "failed", error: { code: "model-not-allowed", message: expect.stringContaining(`"${model}" is not allowed`) } });
      expect(models.counted.calls).toBe(0);
    }
  });

  it("bounds a burst of 200 concurrent runs by the server-wide cap: the rest are told busy, before any call", async () => {
    await settle();
    const hanging = countedModels([{ kind: "hang" }]);
    const admission = { ...ADMISSION, maxConcurrentRuns: 20 };
    const doc = template("prompt-chaining");
    const runsStarted = await Promise.all(
      Array.from({ length: 200 }, (_, i) => started(startRun({ runId: newId(), document: doc, inputs: { topic: `burst ${i}` } }, context({ admission, models: hanging.models })))),
    );
    const firsts = await Promise.all(
      runsStarted.map(async (run) => (run.first.type === "run-started" ? (await run.iterator.next()).value ?? run.first : run.first) as RunEvent),
    );
    const refused = firsts.filter((event) => event.type === "run-finished");
    expect(refused).toHaveLength(180);
    for (const event of refused) expect(event).toMatchObject({ status: "failed", error: { code: "busy", message: expect.stringMatching(/20 runs are in progress.*try again/) } });
    expect((await database.db.select({ n: sql<number>`count(*)::int` }).from(runs).where(eq(runs.status, "running")))[0].n).toBe(20);
    for (const run of runsStarted) run.leave();
  }, 60_000);

  it("reserves model-call slots from a server-wide cap: a run gets what is left, none left is busy", async () => {
    await settle();
    const hanging = countedModels([{ kind: "hang" }]);
    const admission = { ...ADMISSION, maxConcurrentModelCalls: 10 };
    // Parallelization wants 3 concurrent calls (its default cap is 8): the first run takes 8 slots, the second the 2 left.
    const first = await started(startRun({ runId: newId(), document: template("parallelization"), inputs: { topic: "a" } }, context({ admission, models: hanging.models })));
    const second = await started(startRun({ runId: newId(), document: template("parallelization"), inputs: { topic: "b" } }, context({ admission, models: hanging.models })));
    const slots = await database.db.select({ slots: runs.modelSlots }).from(runs).where(eq(runs.status, "running"));
    expect(slots.map((row) => row.slots).sort()).toEqual([2, 8]);
    const third = await collect(startRun({ runId: newId(), document: template("routing"), inputs: {} }, context({ admission, models: hanging.models })));
    expect(last(third)).toMatchObject({ error: { code: "busy", message: expect.stringMatching(/all 10 of its model-call slots/) } });
    first.leave();
    second.leave();
  });

  it("limits runs in progress per identity, and runs per minute per client address on shared links", async () => {
    await settle();
    const hanging = countedModels([{ kind: "hang" }]);
    const me = context({ admission: { ...ADMISSION, maxRunsPerIdentity: 1 }, models: hanging.models });
    const one = await started(startRun({ runId: newId(), document: template("routing"), inputs: {} }, me));
    const two = await collect(startRun({ runId: newId(), document: template("routing"), inputs: {} }, me));
    expect(last(two)).toMatchObject({ error: { code: "rate-limited", message: "this browser already has 1 runs in progress: try again when one finishes" } });
    one.leave();

    // Fresh browser identities (minted cookies) from one address share that address's allowance.
    const owner = context();
    const created = await q.createWorkflow(database.db, { owner: owner.owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const link = await q.createShareLink(database.db, { owner: owner.owner, workflowId: created.id, version: 1, allowRun: true });
    const rates = { runsPerMinute: 1_000, sharedRunsPerMinute: 2 };
    const visitor = () => context({ rates, address: "203.0.113.7" });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(last(await collect(startSharedRun({ runId: newId(), shareId: link!.id, inputs: { input: "hi" } }, visitor()))));
    expect(results.map((r) => r?.type === "run-finished" && r.status)).toEqual(["succeeded", "succeeded", "failed"]);
    expect(results[2]).toMatchObject({ error: { code: "rate-limited", message: expect.stringMatching(/^too many runs from your address \(2 a minute\): try again in \d+ s$/) } });
    // Another address has its own allowance.
    expect(last(await collect(startSharedRun({ runId: newId(), shareId: link!.id, inputs: { input: "hi" } }, context({ rates, address: "198.51.100.2" }))))).toMatchObject({
      status: "succeeded",
    });
  });

  it("stops a run past its token budget with budget-exceeded, and refuses runs once the day's budget is spent", async () => {
    await settle();
    // A document's own per-run budget: the run fails by name when a call takes it over.
    const small = { ...template("prompt-chaining"), settings: { limits: { maxTokens: 5 } } };
    const overBudget = await collect(startRun({ runId: newId(), document: small, inputs: { topic: "kites" } }, context()));
    expect(last(overBudget)).toMatchObject({ status: "failed", error: { code: "budget-exceeded", message: expect.stringMatching(/over its budget of 5/) } });

    // A daily budget per account: what finished runs used, plus what running runs may still use.
    const measure = context();
    await collect(startRun({ runId: newId(), document: template("routing"), inputs: { input: "a joke" } }, measure));
    const perRun = (await q.tokenUsage(database.db, { payer: measure.owner })).today;
    expect(perRun).toBeGreaterThan(0);
    const daily = Math.ceil(perRun * 1.5);
    const admission = { ...ADMISSION, dailyTokens: daily };
    const me = context({ admission, account: true });
    const first = await collect(startRun({ runId: newId(), document: template("routing"), inputs: { input: "a joke" } }, me));
    expect(last(first)).toMatchObject({ status: "succeeded" });
    let refused: RunEvent | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const event = last(await collect(startRun({ runId: newId(), document: template("routing"), inputs: { input: "a joke" } }, me)));
      if (event?.type === "run-finished" && event.error?.code === "budget-exceeded" && event.ms === 0) refused = event;
    }
    expect(refused).toMatchObject({
      status: "failed",
      error: { code: "budget-exceeded", message: expect.stringMatching(/^the daily token budget of your account \([\d,]+ tokens\) is spent: it renews at midnight UTC, in /) },
    });
    // The second run was admitted with what was left and stopped at it: the day never goes far past its budget.
    expect((await q.tokenUsage(database.db, { payer: me.owner })).today).toBeLessThan(daily + perRun);
    // Another account is not affected.
    expect(last(await collect(startRun({ runId: newId(), document: template("routing"), inputs: { input: "a joke" } }, context({ admission, account: true }))))).toMatchObject({
      status: "succeeded",
    });
  });

  it("charges all visitors' runs of an owner's links to one daily budget for shared runs", async () => {
    await settle();
    const owner = context();
    const created = await q.createWorkflow(database.db, { owner: owner.owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const link = await q.createShareLink(database.db, { owner: owner.owner, workflowId: created.id, version: 1, allowRun: true });
    const admission = { ...ADMISSION, sharedDailyTokens: 1 };
    const first = await collect(startSharedRun({ runId: newId(), shareId: link!.id, inputs: { input: "hi" } }, context({ admission, address: "192.0.2.1" })));
    expect(first[0]).toMatchObject({ type: "run-started" });
    const second = await collect(startSharedRun({ runId: newId(), shareId: link!.id, inputs: { input: "hi" } }, context({ admission, address: "192.0.2.2" })));
    expect(last(second)).toMatchObject({ error: { code: "budget-exceeded", message: expect.stringMatching(/for runs of this workflow's shared links/) } });
    expect((await q.tokenUsage(database.db, { payer: owner.owner })).sharedToday).toBeGreaterThan(0);
    // The owner's own runs have their own budget.
    expect(last(await collect(startRun({ runId: newId(), document: template("routing"), inputs: {} }, { ...owner, admission })))).toMatchObject({ status: "succeeded" });
  });

  it("revocation covers a visitor's run of the link: it cannot be shared afterwards and its run link stops working", async () => {
    const owner = context();
    const created = await q.createWorkflow(database.db, { owner: owner.owner, document: template("routing") });
    if (!created.ok) throw new Error("not created");
    const link = await q.createShareLink(database.db, { owner: owner.owner, workflowId: created.id, version: 1, allowRun: true });
    const visitor = context({ address: "192.0.2.9" });
    const sharedBefore = newId();
    const notYetShared = newId();
    for (const runId of [sharedBefore, notYetShared]) await collect(startSharedRun({ runId, shareId: link!.id, inputs: { input: "hi" } }, visitor));
    const runLink = await q.shareRun(database.db, { owner: visitor.owner, runId: sharedBefore });
    expect(await q.getSharedRun(database.db, { shareId: runLink!.id })).not.toBeNull();
    await q.revokeShareLink(database.db, { owner: owner.owner, id: link!.id });
    // The run link made before: opens nothing, its events neither; a new one cannot be made.
    expect(await q.getSharedRun(database.db, { shareId: runLink!.id })).toBeNull();
    expect(await q.getRunEventsPage(database.db, { runId: sharedBefore, access: { runLink: runLink!.id } })).toBeNull();
    expect(await q.shareRun(database.db, { owner: visitor.owner, runId: notYetShared })).toBeNull();
    // The owner's own runs are not links' runs: sharing them still works.
    const own = newId();
    await collect(startRun({ runId: own, document: template("routing"), inputs: {}, workflowId: created.id, baseVersion: 1 }, owner));
    expect(await q.shareRun(database.db, { owner: owner.owner, runId: own })).not.toBeNull();
  });

  it("answers sign-in-required with a finished run when the caller has no account (team mode)", async () => {
    const events = await collect(startRun({ runId: newId(), document: template("routing"), inputs: {} }, new RunRefused(new SignInRequiredError())));
    expect(events.map((e) => e.type)).toEqual(["run-finished"]);
    expect(last(events)).toMatchObject({ status: "failed", error: { code: "sign-in-required" } });
  });

  it("scrubs every configured secret from errors before they are stored or sent", async () => {
    const secret = "sk-compatible-canary-0123456789";
    const baseURL = "http://user:PASSWORD-canary@10.1.2.3:8080/v1";
    const models = createModels({ compatible: { name: "local", baseURL, apiKey: secret, models: ["tiny"] }, demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 });
    const leaky = {
      ...models,
      port: {
        // eslint-disable-next-line require-yield -- a provider that fails before its first chunk
        async *stream(): AsyncIterable<never> {
          throw new ModelError("bad-request", `refused ${secret} at ${baseURL}/chat/completions`, { retryable: false });
        },
      },
    };
    const doc = { ...template("routing"), settings: { defaultModel: "local:tiny" } };
    const ctx = context({ models: leaky });
    const runId = newId();
    const events = await collect(startRun({ runId, document: doc, inputs: {} }, ctx));
    const record = await q.getRunRecord(database.db, { owner: ctx.owner, runId });
    for (const text of [JSON.stringify(events), JSON.stringify(record)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain("PASSWORD-canary");
      expect(text).not.toContain(baseURL);
    }
    expect(last(events)).toMatchObject({ status: "failed", error: { message: expect.stringContaining("[redacted]") } });
  });
});
