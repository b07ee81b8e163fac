import "server-only";
import { randomUUID } from "node:crypto";
import { readServerConfig } from "../config";
import { openDatabase, type Database } from "./connect";
import { markInterruptedRuns } from "./queries";

/** This server process; runs it starts carry it, so a restart can tell which runs were orphaned. */
export const PROCESS_ID = randomUUID();

// One database per process, shared by route handlers, server actions and pages (bundled apart).
const KEY = Symbol.for("trellis.database");
type Holder = { [KEY]?: Promise<Database> };

/**
 * The process's database: opened on first use (migrations applied), and at that moment every run
 * left `running` by a previous process is marked `interrupted`.
 */
export function getDatabase(): Promise<Database> {
  const holder = globalThis as Holder;
  holder[KEY] ??= (async () => {
    const config = readServerConfig();
    const database = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : config.dataDir });
    await markInterruptedRuns(database.db, { processId: PROCESS_ID });
    return database;
  })();
  return holder[KEY];
}
