import "server-only";
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import { lockDataDir, type LockOptions } from "./lock";
import { migratePgliteDatabase, migratePostgresDatabase } from "./migrate";
import { schema } from "./schema";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Database = { db: Db; kind: "pglite" | "postgres"; close(): Promise<void> };

export { DatabaseLockedError } from "./lock";

/**
 * Opens PostgreSQL when `url` is given, else embedded PGlite (`dataDir`, or in memory when
 * omitted), and applies the migrations. The same migrations serve both.
 */
export async function openDatabase(options: { url?: string; dataDir?: string; lock?: LockOptions }): Promise<Database> {
  if (options.url) {
    // A server that cannot reach PostgreSQL says so in seconds rather than hanging its requests.
    const pool = new pg.Pool({ connectionString: options.url, max: 10, connectionTimeoutMillis: 10_000 });
    // An idle client whose connection dies (PostgreSQL restarted) emits this; unhandled, it would kill the process.
    pool.on("error", (error) => console.error("trellis: a database connection was lost:", error.message));
    try {
      await migratePostgresDatabase(pool);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return { db: drizzleNodePg(pool, { schema }) as unknown as Db, kind: "postgres", close: () => pool.end() };
  }
  const release = options.dataDir ? (await lockDataDir(options.dataDir, options.lock)).release : () => undefined;
  try {
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    const client = new PGlite(options.dataDir);
    await migratePgliteDatabase(client).catch(async (error: unknown) => {
      await client.close().catch(() => undefined);
      throw error;
    });
    return {
      db: drizzlePglite(client, { schema }) as unknown as Db,
      kind: "pglite",
      close: async () => {
        await client.close();
        release();
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}
