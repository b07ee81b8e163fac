import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { schema } from "./schema";
import { LegacyDatabaseError, MIGRATIONS_FOLDER, migratePgliteDatabase, migratePostgresDatabase } from "./migrate";
import { tempDir } from "@/testing/temp-dirs";

/** Every generated migration is applied exactly once. */
const MIGRATION_COUNT = readdirSync(MIGRATIONS_FOLDER).filter((name) => name.endsWith(".sql")).length;

/**
 * Migrations generated from the Drizzle schema: a fresh database gets the baseline, a database
 * made by the earlier hand-written runner is adopted as it is, and processes starting together on
 * one PostgreSQL take turns.
 */

/** What the hand-written runner (migrations 1-4) created, in its order, for the upgrade tests. */
const LEGACY_SCHEMA = `
  CREATE TABLE trellis_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE workflows (id text PRIMARY KEY, owner text NOT NULL, name text NOT NULL, latest_version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
  CREATE INDEX workflows_owner ON workflows (owner, updated_at DESC);
  CREATE TABLE workflow_versions (workflow_id text NOT NULL REFERENCES workflows(id) ON DELETE CASCADE, version integer NOT NULL,
    schema_version integer NOT NULL, document jsonb NOT NULL, summary text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version));
  CREATE TABLE runs (id text PRIMARY KEY, owner text NOT NULL, workflow_id text REFERENCES workflows(id) ON DELETE CASCADE, version integer,
    status text NOT NULL, inputs jsonb NOT NULL, outputs jsonb, usage jsonb, warnings jsonb, error jsonb, process_id text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz);
  CREATE INDEX runs_workflow ON runs (workflow_id, started_at DESC);
  CREATE INDEX runs_running ON runs (status) WHERE status = 'running';
  CREATE TABLE run_events (run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE, seq integer NOT NULL, event jsonb NOT NULL, PRIMARY KEY (run_id, seq));
  CREATE TABLE share_links (id text PRIMARY KEY, owner text NOT NULL, workflow_id text NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version integer NOT NULL, allow_run boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL DEFAULT now(), revoked_at timestamptz);
  ALTER TABLE runs ADD COLUMN document jsonb;
  ALTER TABLE runs ADD COLUMN edited boolean NOT NULL DEFAULT false;
  ALTER TABLE runs ADD COLUMN source text NOT NULL DEFAULT 'editor';
  ALTER TABLE runs ADD COLUMN share_link_id text REFERENCES share_links(id) ON DELETE SET NULL;
  ALTER TABLE runs ADD COLUMN shared_as text UNIQUE;
  CREATE INDEX runs_owner_workflow ON runs (owner, workflow_id, started_at DESC);
  CREATE INDEX share_links_workflow ON share_links (workflow_id, created_at DESC);
  ALTER TABLE run_events ALTER COLUMN event TYPE json USING event::json;
  CREATE TABLE trellis_processes (id text PRIMARY KEY, started_at timestamptz NOT NULL DEFAULT now(), heartbeat_at timestamptz NOT NULL DEFAULT now());
  INSERT INTO trellis_migrations (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four');
  INSERT INTO workflows (id, owner, name, latest_version) VALUES ('w1', 'o', 'Kept', 1);
`;

type Query = (text: string) => Promise<Array<Record<string, unknown>>>;

/** The parts of a schema that matter, independent of column order (ALTER TABLE appends columns). */
async function describeSchema(query: Query) {
  const tables = (rows: Array<Record<string, unknown>>) => rows.filter((row) => row.table !== "trellis_migrations");
  return {
    columns: tables(
      await query(
        "SELECT table_name AS table, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
      ),
    ),
    constraints: tables(
      await query("SELECT conrelid::regclass::text AS table, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"),
    ),
    indexes: tables(await query("SELECT tablename AS table, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2")),
  };
}

const pgliteQuery = (client: PGlite): Query => async (text) => (await client.query<Record<string, unknown>>(text)).rows;

describe("generated migrations", () => {
  it("are up to date with the schema: drizzle-kit finds nothing to generate", () => {
    const copy = join(tempDir("trellis-migrations-"), "migrations");
    cpSync(MIGRATIONS_FOLDER, copy, { recursive: true });
    const before = readdirSync(copy);
    // drizzle-kit prefixes --out with "./", so it takes a path relative to the working directory.
    const output = execFileSync(join("node_modules", ".bin", "drizzle-kit"), ["generate", "--dialect", "postgresql", "--schema", "./lib/server/db/schema.ts", "--out", relative(process.cwd(), copy)], {
      encoding: "utf8",
    });
    expect(output).toContain("No schema changes");
    expect(readdirSync(copy)).toEqual(before);
  });
});

describe("migrations on PGlite", () => {
  it("creates the schema on a fresh database once, and a second run changes nothing", async () => {
    const client = new PGlite();
    await migratePgliteDatabase(client);
    const first = await describeSchema(pgliteQuery(client));
    await migratePgliteDatabase(client);
    expect(await describeSchema(pgliteQuery(client))).toEqual(first);
    expect((await client.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).rows).toEqual([{ n: MIGRATION_COUNT }]);
    expect(first.columns.find((c) => c.table === "run_events" && c.column_name === "event")?.data_type).toBe("json");
    expect(first.indexes.map((i) => i.indexname)).toEqual(expect.arrayContaining(["runs_running", "runs_owner_workflow", "workflows_owner"]));
    await client.close();
  });

  it("adopts a database made by the hand-written runner: nothing re-created, data kept, the same schema as a fresh one", async () => {
    const fresh = new PGlite();
    await migratePgliteDatabase(fresh);
    const legacy = new PGlite();
    await legacy.exec(LEGACY_SCHEMA);
    await migratePgliteDatabase(legacy);
    expect(await describeSchema(pgliteQuery(legacy))).toEqual(await describeSchema(pgliteQuery(fresh)));
    expect((await legacy.query("SELECT name FROM workflows")).rows).toEqual([{ name: "Kept" }]);
    await migratePgliteDatabase(legacy);
    expect((await legacy.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).rows).toEqual([{ n: MIGRATION_COUNT }]);
    await Promise.all([fresh.close(), legacy.close()]);
  });

  it("refuses a database the hand-written runner left half way, saying what to do", async () => {
    const legacy = new PGlite();
    await legacy.exec(LEGACY_SCHEMA);
    await legacy.exec("DELETE FROM trellis_migrations WHERE id = 4");
    await expect(migratePgliteDatabase(legacy)).rejects.toThrow(LegacyDatabaseError);
    await legacy.close();
  });
});

const adminUrl = process.env.TEST_DATABASE_URL;

describe.skipIf(!adminUrl)("migrations on PostgreSQL", () => {
  const admin = new pg.Pool({ connectionString: adminUrl, max: 2 });
  const created: string[] = [];
  afterAll(async () => {
    for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  async function newDatabase(): Promise<string> {
    const name = `trellis_migrate_${randomBytes(6).toString("hex")}`;
    await admin.query(`CREATE DATABASE ${name}`);
    created.push(name);
    const url = new URL(adminUrl!);
    url.pathname = `/${name}`;
    return url.toString();
  }

  function migrateInChildProcess(url: string): Promise<{ code: number | null; output: string }> {
    const child = spawn(process.execPath, ["--conditions=react-server", "--import", "tsx", "scripts/faults/migrate-database.ts"], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    return new Promise((resolve) => child.once("exit", (code) => resolve({ code, output })));
  }

  it("two processes starting at once on one database both come up, with one set of tables", async () => {
    const url = await newDatabase();
    const results = await Promise.all([migrateInChildProcess(url), migrateInChildProcess(url), migrateInChildProcess(url)]);
    for (const result of results) expect(result, result.output).toMatchObject({ code: 0, output: expect.stringContaining("migrated") });
    const pool = new pg.Pool({ connectionString: url });
    expect((await pool.query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).rows).toEqual([{ n: MIGRATION_COUNT }]);
    expect((await pool.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).rows).toEqual([{ n: Object.keys(schema).length }]);
    await pool.end();
  }, 60_000);

  it("two pools in one process migrating at once agree as well", async () => {
    const url = await newDatabase();
    const pools = [new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })];
    await Promise.all(pools.map((pool) => migratePostgresDatabase(pool)));
    expect((await pools[0].query("SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations")).rows).toEqual([{ n: MIGRATION_COUNT }]);
    await Promise.all(pools.map((pool) => pool.end()));
  });

  it("adopts a database made by the hand-written runner, with the same schema as a fresh one", async () => {
    const [freshUrl, legacyUrl] = await Promise.all([newDatabase(), newDatabase()]);
    const fresh = new pg.Pool({ connectionString: freshUrl });
    const legacy = new pg.Pool({ connectionString: legacyUrl });
    await migratePostgresDatabase(fresh);
    await legacy.query(LEGACY_SCHEMA);
    await migratePostgresDatabase(legacy);
    const query = (pool: pg.Pool): Query => async (text) => (await pool.query<Record<string, unknown>>(text)).rows;
    expect(await describeSchema(query(legacy))).toEqual(await describeSchema(query(fresh)));
    expect((await legacy.query("SELECT name FROM workflows")).rows).toEqual([{ name: "Kept" }]);
    await Promise.all([fresh.end(), legacy.end()]);
  });
});
