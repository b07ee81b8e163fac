import "server-only";
import { readServerConfig } from "../config";
import { openDatabase, type Database } from "./connect";
import { PROCESS_ID } from "./process";
import { heartbeat, markInterruptedRuns, pruneProcesses } from "./queries";

/** How often a process says it is alive, and how long a PostgreSQL peer may stay silent before its running runs count as orphaned. */
const BEAT_MS = 10_000;
const STALE_MS = 30_000;

export { PROCESS_ID } from "./process";

// One database per process, shared by route handlers, server actions and pages (bundled apart).
const KEY = Symbol.for("trellis.database");
type Holder = { [KEY]?: Promise<Database> };

/**
 * The process's database: opened on first use (migrations applied). At that moment, runs left
 * `running` by a process that is gone are marked `interrupted`: with PGlite every other process is
 * gone (the lock file allows one); with PostgreSQL, processes that have not beaten for 30 s — and
 * since several may share it, each keeps beating and sweeping every 10 s.
 */
export function getDatabase(): Promise<Database> {
  const holder = globalThis as Holder;
  holder[KEY] ??= (async () => {
    const config = readServerConfig();
    const database = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
    const staleAfterMs = database.kind === "postgres" ? STALE_MS : 0;
    await pruneProcesses(database.db);
    await heartbeat(database.db, { processId: PROCESS_ID });
    await markInterruptedRuns(database.db, { processId: PROCESS_ID, staleAfterMs });
    const beat = setInterval(() => {
      heartbeat(database.db, { processId: PROCESS_ID })
        .then(() => (staleAfterMs ? markInterruptedRuns(database.db, { processId: PROCESS_ID, staleAfterMs }) : 0))
        .catch((error) => console.error("heartbeat failed:", error));
    }, BEAT_MS);
    beat.unref();
    return database;
  })();
  return holder[KEY];
}
