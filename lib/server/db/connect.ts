import "server-only";
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import { migrate } from "./migrations";
import { schema } from "./schema";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Database = { db: Db; kind: "pglite" | "postgres"; close(): Promise<void> };

export class DatabaseLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(`the data directory ${dataDir} is in use by another Trellis process (pid ${pid}); stop it, or set TRELLIS_DATA_DIR to another directory`);
    this.name = "DatabaseLockedError";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** One process per PGlite data directory: two would corrupt it. A stale lock (dead pid) is taken over. */
function lock(dataDir: string): () => void {
  const path = `${dataDir}.lock`;
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number(readFileSync(path, "utf8"));
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new DatabaseLockedError(dataDir, pid);
      unlinkSync(path);
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

/**
 * Opens PostgreSQL when `url` is given, else embedded PGlite (`dataDir`, or in memory when
 * omitted), and applies the migrations. The same migrations serve both.
 */
export async function openDatabase(options: { url?: string; dataDir?: string }): Promise<Database> {
  if (options.url) {
    const pool = new pg.Pool({ connectionString: options.url, max: 10 });
    await migrate({
      exec: async (sql) => void (await pool.query(sql)),
      appliedMigrations: async () => (await pool.query<{ id: number }>("SELECT id FROM trellis_migrations")).rows.map((r) => r.id),
    });
    return { db: drizzleNodePg(pool, { schema }) as unknown as Db, kind: "postgres", close: () => pool.end() };
  }
  const release = options.dataDir ? lock(options.dataDir) : () => undefined;
  try {
    if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
    const client = new PGlite(options.dataDir);
    await migrate({
      exec: async (sql) => void (await client.exec(sql)),
      appliedMigrations: async () => (await client.query<{ id: number }>("SELECT id FROM trellis_migrations")).rows.map((r) => r.id),
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
