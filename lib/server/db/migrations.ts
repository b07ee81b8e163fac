/**
 * Schema migrations, applied in order at start-up on PGlite and PostgreSQL alike. Append only:
 * a migration that has run is never edited. Each runs in a transaction and is recorded.
 */
export const MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string }> = [
  {
    id: 1,
    name: "workflows, versions, runs, run events, share links",
    sql: `
      CREATE TABLE workflows (
        id text PRIMARY KEY,
        owner text NOT NULL,
        name text NOT NULL,
        latest_version integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX workflows_owner ON workflows (owner, updated_at DESC);
      CREATE TABLE workflow_versions (
        workflow_id text NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        version integer NOT NULL,
        schema_version integer NOT NULL,
        document jsonb NOT NULL,
        summary text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow_id, version)
      );
      CREATE TABLE runs (
        id text PRIMARY KEY,
        owner text NOT NULL,
        workflow_id text REFERENCES workflows(id) ON DELETE CASCADE,
        version integer,
        status text NOT NULL,
        inputs jsonb NOT NULL,
        outputs jsonb,
        usage jsonb,
        warnings jsonb,
        error jsonb,
        process_id text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      );
      CREATE INDEX runs_workflow ON runs (workflow_id, started_at DESC);
      CREATE INDEX runs_running ON runs (status) WHERE status = 'running';
      CREATE TABLE run_events (
        run_id text NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        event jsonb NOT NULL,
        PRIMARY KEY (run_id, seq)
      );
      CREATE TABLE share_links (
        id text PRIMARY KEY,
        owner text NOT NULL,
        workflow_id text NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
        version integer NOT NULL,
        allow_run boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      );
    `,
  },
  {
    id: 2,
    name: "run records: the document that ran, sources, shared runs",
    sql: `
      ALTER TABLE runs ADD COLUMN document jsonb;
      ALTER TABLE runs ADD COLUMN edited boolean NOT NULL DEFAULT false;
      ALTER TABLE runs ADD COLUMN source text NOT NULL DEFAULT 'editor';
      ALTER TABLE runs ADD COLUMN share_link_id text REFERENCES share_links(id) ON DELETE SET NULL;
      ALTER TABLE runs ADD COLUMN shared_as text UNIQUE;
      CREATE INDEX runs_owner_workflow ON runs (owner, workflow_id, started_at DESC);
      CREATE INDEX share_links_workflow ON share_links (workflow_id, created_at DESC);
    `,
  },
  {
    id: 3,
    // jsonb reorders object keys (shorter first): a replay must show outputs in the order they ran.
    name: "run events keep their JSON exactly as emitted",
    sql: `ALTER TABLE run_events ALTER COLUMN event TYPE json USING event::json;`,
  },
  {
    id: 4,
    name: "server processes and their heartbeats",
    sql: `
      CREATE TABLE trellis_processes (
        id text PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
];

export type SqlExecutor = {
  exec(sql: string): Promise<void>;
  appliedMigrations(): Promise<number[]>;
};

export async function migrate(executor: SqlExecutor): Promise<number[]> {
  await executor.exec(
    "CREATE TABLE IF NOT EXISTS trellis_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
  );
  const applied = new Set(await executor.appliedMigrations());
  const ran: number[] = [];
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.id)) continue;
    await executor.exec(
      `BEGIN; ${migration.sql}; INSERT INTO trellis_migrations (id, name) VALUES (${migration.id}, '${migration.name.replace(/'/g, "''")}'); COMMIT;`,
    );
    ran.push(migration.id);
  }
  return ran;
}
