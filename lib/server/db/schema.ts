import { desc, eq, sql } from "drizzle-orm";
import { boolean, foreignKey, index, integer, json, jsonb, pgTable, primaryKey, text, timestamp, unique } from "drizzle-orm/pg-core";

/**
 * The tables behind saving, history, runs and sharing (docs/architecture.md §7): the one source of truth for
 * the database. Migrations are generated from it (`npm run db:generate`, into ./migrations) and
 * committed. Constraint names are PostgreSQL's own defaults (`…_fkey`, `…_pkey`, `…_key`), the
 * names databases created before generated migrations already carry.
 */

export const workflows = pgTable(
  "workflows",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    name: text("name").notNull(),
    latestVersion: integer("latest_version").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [index("workflows_owner").on(t.owner, desc(t.updatedAt))],
);

export const workflowVersions = pgTable(
  "workflow_versions",
  {
    workflowId: text("workflow_id").notNull(),
    version: integer("version").notNull(),
    schemaVersion: integer("schema_version").notNull(),
    document: jsonb("document").notNull(),
    summary: text("summary").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ name: "workflow_versions_pkey", columns: [t.workflowId, t.version] }),
    foreignKey({ name: "workflow_versions_workflow_id_fkey", columns: [t.workflowId], foreignColumns: [workflows.id] }).onDelete("cascade"),
  ],
);

export const shareLinks = pgTable(
  "share_links",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    workflowId: text("workflow_id").notNull(),
    version: integer("version").notNull(),
    allowRun: boolean("allow_run").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [
    foreignKey({ name: "share_links_workflow_id_fkey", columns: [t.workflowId], foreignColumns: [workflows.id] }).onDelete("cascade"),
    index("share_links_workflow").on(t.workflowId, desc(t.createdAt)),
  ],
);

export const runs = pgTable(
  "runs",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    workflowId: text("workflow_id"),
    version: integer("version"),
    status: text("status").notNull(),
    inputs: jsonb("inputs").notNull(),
    outputs: jsonb("outputs"),
    usage: jsonb("usage"),
    warnings: jsonb("warnings"),
    error: jsonb("error"),
    /** The server process that owns a running run; others mark it interrupted at start-up. */
    processId: text("process_id").notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().default(sql`now()`),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    /** The document exactly as it ran (a saved version, or the editor's unsaved state). */
    document: jsonb("document"),
    /** True when the document differed from the saved version it was based on. */
    edited: boolean("edited").notNull().default(false),
    /** Where the run was started: "editor" or "share" (a visitor on a link that allows runs). */
    source: text("source").notNull().default("editor"),
    shareLinkId: text("share_link_id"),
    /** The unguessable id of the run's own share link (`/r/<id>`), once shared. */
    sharedAs: text("shared_as"),
  },
  (t) => [
    foreignKey({ name: "runs_workflow_id_fkey", columns: [t.workflowId], foreignColumns: [workflows.id] }).onDelete("cascade"),
    foreignKey({ name: "runs_share_link_id_fkey", columns: [t.shareLinkId], foreignColumns: [shareLinks.id] }).onDelete("set null"),
    unique("runs_shared_as_key").on(t.sharedAs),
    index("runs_workflow").on(t.workflowId, desc(t.startedAt)),
    index("runs_running").on(t.status).where(eq(t.status, sql`'running'`)),
    index("runs_owner_workflow").on(t.owner, t.workflowId, desc(t.startedAt)),
  ],
);

export const runEvents = pgTable(
  "run_events",
  {
    runId: text("run_id").notNull(),
    seq: integer("seq").notNull(),
    /** json, not jsonb: jsonb would reorder object keys, and a replay must match the run exactly. */
    event: json("event").notNull(),
  },
  (t) => [
    primaryKey({ name: "run_events_pkey", columns: [t.runId, t.seq] }),
    foreignKey({ name: "run_events_run_id_fkey", columns: [t.runId], foreignColumns: [runs.id] }).onDelete("cascade"),
  ],
);

/** Live server processes: each beats every few seconds, so others can tell whose runs are orphaned. */
export const processes = pgTable("trellis_processes", {
  id: text("id").primaryKey(),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().default(sql`now()`),
  heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }).notNull().default(sql`now()`),
});

export const schema = { workflows, workflowVersions, runs, runEvents, shareLinks, processes };
