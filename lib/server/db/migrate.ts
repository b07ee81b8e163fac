import "server-only";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { migrate as migrateNodePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type pg from "pg";

/**
 * Schema migrations are generated from ./schema.ts by drizzle-kit (`npm run db:generate`) into
 * ./migrations and applied at start-up by Drizzle's migrator, on PGlite and PostgreSQL alike.
 * Read from the working directory at run time: the server, the CLI and the tests all start there.
 */
export const MIGRATIONS_FOLDER = join(process.cwd(), "lib", "server", "db", "migrations");

/** Several processes starting on one PostgreSQL take turns: the lock is held by one connection for the whole run. */
const LOCK = sql`hashtext('trellis:migrations')`;

type AnyDb = PgDatabase<PgQueryResultHKT>;

export class LegacyDatabaseError extends Error {
  constructor(applied: number[]) {
    super(
      `this database was created by an earlier Trellis and has only its migrations ${applied.join(", ") || "(none)"} of 1-4; ` +
        "start the previous release on it once to complete them, then this one",
    );
    this.name = "LegacyDatabaseError";
  }
}

async function rows<T>(db: AnyDb, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/**
 * Databases created before generated migrations carry `trellis_migrations` with ids 1-4, whose
 * tables are exactly the baseline migration's: record the baseline as applied instead of running it.
 */
async function adoptLegacyDatabase(db: AnyDb, migrationsFolder: string): Promise<boolean> {
  const [state] = await rows<{ legacy: boolean; drizzle: boolean }>(
    db,
    sql`SELECT to_regclass('public.trellis_migrations') IS NOT NULL AS legacy, to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS drizzle`,
  );
  if (!state?.legacy) return false;
  if (state.drizzle && (await rows(db, sql`SELECT 1 FROM drizzle.__drizzle_migrations LIMIT 1`)).length) return false;
  const applied = (await rows<{ id: number }>(db, sql`SELECT id FROM trellis_migrations ORDER BY id`)).map((row) => Number(row.id));
  if (![1, 2, 3, 4].every((id) => applied.includes(id))) throw new LegacyDatabaseError(applied);
  const [baseline] = readMigrationFiles({ migrationsFolder });
  if (!baseline) throw new Error(`no migrations in ${migrationsFolder}`);
  // The same table Drizzle's migrator creates; it then runs only what follows the baseline.
  await db.execute(sql`CREATE SCHEMA IF NOT EXISTS drizzle`);
  await db.execute(sql`CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`);
  await db.execute(sql`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${baseline.hash}, ${baseline.folderMillis})`);
  return true;
}

/** Applies the migrations to embedded PGlite (one process per data directory, so no lock is needed). */
export async function migratePgliteDatabase(client: PGlite, { migrationsFolder = MIGRATIONS_FOLDER }: { migrationsFolder?: string } = {}) {
  const db = drizzlePglite(client) as unknown as AnyDb;
  await adoptLegacyDatabase(db, migrationsFolder);
  await migratePglite(drizzlePglite(client), { migrationsFolder });
}

/**
 * Applies the migrations to PostgreSQL under a session advisory lock, on one dedicated connection:
 * a second process starting at the same moment waits, then finds nothing left to do.
 */
export async function migratePostgresDatabase(pool: pg.Pool, { migrationsFolder = MIGRATIONS_FOLDER }: { migrationsFolder?: string } = {}) {
  const client = await pool.connect();
  let broken = false;
  try {
    const db = drizzleNodePg(client);
    // A peer stuck mid-migration must not hang every later start-up.
    await db.execute(sql`SET lock_timeout = '120s'`);
    await db.execute(sql`SELECT pg_advisory_lock(${LOCK})`);
    try {
      await adoptLegacyDatabase(db as unknown as AnyDb, migrationsFolder);
      await migrateNodePg(db, { migrationsFolder });
    } finally {
      await db.execute(sql`SELECT pg_advisory_unlock(${LOCK})`);
      await db.execute(sql`RESET lock_timeout`);
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    // A connection that failed mid-way is discarded (its session lock goes with it), not returned to the pool.
    client.release(broken);
  }
}
