/**
 * Admission time of one payer's run as the payer's runs of the day pile up (an evaluation admits
 * each row as a run): the median of `--samples` admissions after the 1st and after the `--runs`th
 * finished run, on in-memory PGlite (or PostgreSQL with `--url`). The earlier runs started earlier
 * today, outside the per-minute window, unless `--recent` (all in the last minute, as a fast
 * evaluation's rows are).
 *   npm run bench:admission -- [--runs 2000] [--samples 21] [--recent] [--url postgres://…]
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import { findTemplate, parseDocument, type RunEventOf } from "@/lib/workflow";
import { openDatabase } from "@/lib/server/db/connect";
import { createRunWithinRate, finishRun, type Admission } from "@/lib/server/db/queries";

const { values } = parseArgs({ options: { runs: { type: "string", default: "2000" }, samples: { type: "string", default: "21" }, recent: { type: "boolean", default: false }, url: { type: "string" } } });
const RUNS = Number(values.runs);
/** As the run service admits an evaluation's row: no per-minute limit (BENCH_ADMISSION_LIMIT=n sets one, to compare). */
const LIMIT = process.env.BENCH_ADMISSION_LIMIT ? Number(process.env.BENCH_ADMISSION_LIMIT) : null;
const SAMPLES = Number(values.samples);

const parsed = parseDocument(findTemplate("routing")!.json);
if (!parsed.ok) throw new Error("invalid template");
const document = parsed.document;

const database = await openDatabase({ url: values.url });
const { db } = database;
const payer = `bench-${randomUUID()}`;
const admission: Admission = {
  liveForMs: 11 * 60_000,
  maxRunning: 1_000,
  maxRunningPerIdentity: 1_000,
  maxModelSlots: 100_000,
  wantedSlots: 8,
  budget: { payer, dailyTokens: 1_000_000_000, runTokens: 1_000_000 },
};
const finished: RunEventOf<"run-finished"> = { seq: 1, t: 1, type: "run-finished", status: "succeeded", outputs: {}, state: {}, usage: { inputTokens: 40, outputTokens: 60 }, warnings: [], ms: 1 };

/** Admits one run of the payer (an evaluation's row) and answers how long admission took, in ms. */
async function admitOne(): Promise<number> {
  const id = randomUUID();
  const started = performance.now();
  const admitted = await createRunWithinRate(db, { id, owner: payer, source: "eval", document, inputs: {}, processId: "bench", windowMs: 60_000, limit: LIMIT, admission });
  const ms = performance.now() - started;
  if (!admitted.ok) throw new Error(`not admitted: ${admitted.code}`);
  await finishRun(db, { runId: id, finished });
  return ms;
}

async function median(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) times.push(await admitOne());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** The payer's runs so far started earlier today (within the day, outside the rate window). */
async function backdate() {
  if (values.recent) return;
  await db.execute(sql`UPDATE runs SET started_at = greatest(date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', now() - interval '2 minutes') WHERE payer = ${payer}`);
}

for (let i = 0; i < 200; i++) await admitOne(); // warm-up (JIT, query plans)
await db.execute(sql`DELETE FROM runs WHERE payer = ${payer}`);
await admitOne();
await backdate();
const first = await median();
const count = async () => Number(((await db.execute(sql`SELECT count(*)::int AS n FROM runs WHERE payer = ${payer}`)) as unknown as { rows: Array<{ n: number }> }).rows[0]?.n);
while ((await count()) < RUNS) await admitOne();
await backdate();
const later = await median();
console.log(`${database.kind}: admission after the 1st run ${first.toFixed(2)} ms, after the ${RUNS}th ${later.toFixed(2)} ms (median of ${SAMPLES}; earlier runs ${values.recent ? "in the last minute" : "earlier today"})`);
await database.close();
