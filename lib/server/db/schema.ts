import { sql } from "drizzle-orm";
import { boolean, integer, json, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/** The tables behind saving, history, runs and sharing (DESIGN §8). Created by ./migrations.ts. */

export const workflows = pgTable("workflows", {
  id: text("id").primaryKey(),
  owner: text("owner").notNull(),
  name: text("name").notNull(),
  latestVersion: integer("latest_version").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
});

export const workflowVersions = pgTable(
  "workflow_versions",
  {
    workflowId: text("workflow_id")
      .notNull()
      .references(() => workflows.id, { onDelete: "cascade" }),
    version: integer("version").notNull(),
    schemaVersion: integer("schema_version").notNull(),
    document: jsonb("document").notNull(),
    summary: text("summary").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [primaryKey({ columns: [t.workflowId, t.version] })],
);

export const runs = pgTable("runs", {
  id: text("id").primaryKey(),
  owner: text("owner").notNull(),
  workflowId: text("workflow_id").references(() => workflows.id, { onDelete: "cascade" }),
  version: integer("version"),
  status: text("status").notNull(),
  inputs: jsonb("inputs").notNull(),
  outputs: jsonb("outputs"),
  usage: jsonb("usage"),
  warnings: jsonb("warnings"),
  error: jsonb("error"),
  /** The document exactly as it ran (a saved version, or the editor's unsaved state). */
  document: jsonb("document"),
  /** True when the document differed from the saved version it was based on. */
  edited: boolean("edited").notNull().default(false),
  /** Where the run was started: "editor" or "share" (a visitor on a link that allows runs). */
  source: text("source").notNull().default("editor"),
  shareLinkId: text("share_link_id"),
  /** The unguessable id of the run's own share link (`/r/<id>`), once shared. */
  sharedAs: text("shared_as").unique(),
  /** The server process that owns a running run; others mark it interrupted at start-up. */
  processId: text("process_id").notNull(),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().default(sql`now()`),
  finishedAt: timestamp("finished_at", { withTimezone: true }),
});

export const runEvents = pgTable(
  "run_events",
  {
    runId: text("run_id")
      .notNull()
      .references(() => runs.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    /** json, not jsonb: jsonb would reorder object keys, and a replay must match the run exactly. */
    event: json("event").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.seq] })],
);

export const shareLinks = pgTable("share_links", {
  id: text("id").primaryKey(),
  owner: text("owner").notNull(),
  workflowId: text("workflow_id")
    .notNull()
    .references(() => workflows.id, { onDelete: "cascade" }),
  version: integer("version").notNull(),
  allowRun: boolean("allow_run").notNull().default(false),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  revokedAt: timestamp("revoked_at", { withTimezone: true }),
});

/** Live server processes: each beats every few seconds, so others can tell whose runs are orphaned. */
export const processes = pgTable("trellis_processes", {
  id: text("id").primaryKey(),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull().default(sql`now()`),
  heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }).notNull().default(sql`now()`),
});

export const schema = { workflows, workflowVersions, runs, runEvents, shareLinks, processes };
