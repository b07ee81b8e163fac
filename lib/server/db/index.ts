import "server-only";
import { readServerConfig } from "../config";
import { openDatabase, type Database, type Db } from "./connect";
import { markInterruptedEvaluations } from "./eval-queries";
import { PROCESS_ID } from "./process";
import { deleteExpiredRunEvents, heartbeat, markInterruptedRuns, pruneProcesses, vacuumRunEvents, vacuumRunsWhenDue } from "./queries";

export { PROCESS_ID } from "./process";

// One database per process, shared by route handlers, server actions and pages (bundled apart).
const KEY = Symbol.for("trellis.database");
type Open = { database: Database; beat: ReturnType<typeof setInterval> };
type Holder = { [KEY]?: Promise<Open> };
const holder = globalThis as Holder;

async function open(): Promise<Open> {
  const config = readServerConfig();
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
  try {
    const staleAfterMs = database.kind === "postgres" ? config.heartbeat.staleAfterMs : 0;
    await pruneProcesses(database.db);
    await heartbeat(database.db, { processId: PROCESS_ID });
    await markInterrupted(database.db, staleAfterMs);
    const retentionDays = config.runRetentionDays;
    let sweeping = false;
    const beat = setInterval(() => {
      // A slow database must not pile sweeps up: one at a time.
      if (sweeping) return;
      sweeping = true;
      heartbeat(database.db, { processId: PROCESS_ID })
        .then(() => (staleAfterMs ? markInterrupted(database.db, staleAfterMs) : 0))
        .then(() => (retentionDays === undefined ? 0 : expireRunEvents(database, retentionDays)))
        // PGlite runs no autovacuum (PostgreSQL's does this by itself).
        .then(() => (database.kind === "pglite" ? vacuumRunsWhenDue(database.db) : false))
        .catch((error: Error) => console.error("trellis: heartbeat failed:", error.message))
        .finally(() => (sweeping = false));
    }, config.heartbeat.everyMs);
    beat.unref();
    return { database, beat };
  } catch (error) {
    await database.close().catch(() => undefined);
    throw error;
  }
}

/** Runs and evaluations of processes that are gone become `interrupted` (§7.6). */
async function markInterrupted(db: Db, staleAfterMs: number): Promise<number> {
  const runs = await markInterruptedRuns(db, { processId: PROCESS_ID, staleAfterMs });
  return runs + (await markInterruptedEvaluations(db, { processId: PROCESS_ID, staleAfterMs }));
}

const RETENTION_BATCH = 2_000;
/** Per beat at most this many batches of expired events go, so a large backlog drains over several beats without holding the database. */
const RETENTION_BATCHES_PER_BEAT = 10;

async function expireRunEvents({ db, kind }: Database, days: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < RETENTION_BATCHES_PER_BEAT; i++) {
    const deleted = await deleteExpiredRunEvents(db, { days, batch: RETENTION_BATCH });
    total += deleted;
    if (deleted < RETENTION_BATCH) break;
  }
  // PGlite runs no autovacuum: without one, the room deleted rows leave is never reused and the
  // file keeps growing. (PostgreSQL's autovacuum does this by itself.)
  if (total > 0 && kind === "pglite") await vacuumRunEvents(db);
  return total;
}

/**
 * The process's database: opened on first use (migrations applied). At that moment, runs and
 * evaluations left `running` by a process that is gone are marked `interrupted`: with PGlite every
 * other process is gone (the lock file allows one); with PostgreSQL, processes that have not beaten for 30 s — and
 * since several may share it, each keeps beating and sweeping every 10 s (TRELLIS_HEARTBEAT_MS,
 * TRELLIS_PROCESS_STALE_MS). A failed open is not
 * remembered: the next call tries again (PostgreSQL may be back).
 */
export async function getDatabase(): Promise<Database> {
  const opening = (holder[KEY] ??= open());
  try {
    return (await opening).database;
  } catch (error) {
    if (holder[KEY] === opening) delete holder[KEY];
    throw error;
  }
}

/** Stops beating and closes the database (releasing the PGlite lock); the next getDatabase() opens it again. */
export async function closeDatabase(): Promise<void> {
  const opening = holder[KEY];
  if (!opening) return;
  delete holder[KEY];
  const opened = await opening.catch(() => null);
  if (!opened) return;
  clearInterval(opened.beat);
  await opened.database.close();
}
