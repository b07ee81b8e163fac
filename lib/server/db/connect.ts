import "server-only";
import { mkdirSync } from "node:fs";
import { PGlite, types, type ParserOptions, type QueryOptions } from "@electric-sql/pglite";
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
 * The types drizzle keeps as PostgreSQL's text rather than parsing (dates, times, intervals and
 * their arrays, numeric arrays): drizzle maps them itself.
 */
const TEXT_TYPES = [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182];
const asText = (value: string) => value;
const TEXT_PARSERS: ParserOptions = Object.fromEntries(TEXT_TYPES.map((type) => [type, asText]));
const PROBE = "trellis-parser-probe";

/** Whether `parsers` only keep types of TEXT_TYPES as text: what the client already does. */
function onlyTextParsers(parsers: ParserOptions): boolean {
  for (const [type, parse] of Object.entries(parsers)) {
    if (!TEXT_TYPES.includes(Number(type)) || parse(PROBE, Number(type)) !== PROBE) return false;
  }
  return true;
}

/**
 * Drizzle passes its parsers (TEXT_TYPES kept as text) with every query, and PGlite merges them
 * into its 318 default parsers afresh each time: an object of 327 keys a query, about 70 µs and
 * 120 kB — two queries a run made it a twentieth of a short run's server CPU and an eighth of its
 * garbage (issue 12). The client takes those parsers once (after its first queries, which add
 * its array types' parsers), and a query's own are dropped when they are exactly those; any others
 * pass as given.
 */
function parseOnce(client: PGlite): void {
  Object.assign(client.parsers, TEXT_PARSERS);
  const query = client.query.bind(client);
  client.query = (text: string, params?: unknown[], options?: QueryOptions) => {
    if (!options?.parsers || !onlyTextParsers(options.parsers)) return query(text, params, options);
    const { parsers: _dropped, ...rest } = options;
    return query(text, params, rest);
  };
}

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
    parseOnce(client);
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
