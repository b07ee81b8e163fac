import { desc, eq, sql } from "drizzle-orm";
import { bigint, boolean, date, doublePrecision, foreignKey, index, integer, json, jsonb, pgTable, primaryKey, text, timestamp, unique } from "drizzle-orm/pg-core";

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
    /** Whose daily token budget the run spends: its owner, or for a visitor's run the link's owner. */
    payer: text("payer"),
    /** The client address of a visitor's run from a shared link (per-address rate limit). */
    clientAddress: text("client_address"),
    /** Tokens the run was admitted with (its share of the payer's daily budget while it runs). */
    tokenBudget: integer("token_budget"),
    /** Model calls the run may have in flight: reserved from the server-wide cap while it runs. */
    modelSlots: integer("model_slots"),
    /**
     * For an evaluation's row: the tokens its checks spent after the run (LLM judges, embedding
     * similarity). Apart from `usage`, which is the run's own; the daily budget counts both.
     */
    checkUsage: jsonb("check_usage"),
  },
  (t) => [
    foreignKey({ name: "runs_workflow_id_fkey", columns: [t.workflowId], foreignColumns: [workflows.id] }).onDelete("cascade"),
    foreignKey({ name: "runs_share_link_id_fkey", columns: [t.shareLinkId], foreignColumns: [shareLinks.id] }).onDelete("set null"),
    unique("runs_shared_as_key").on(t.sharedAs),
    index("runs_workflow").on(t.workflowId, desc(t.startedAt)),
    index("runs_running").on(t.status).where(eq(t.status, sql`'running'`)),
    index("runs_owner_workflow").on(t.owner, t.workflowId, desc(t.startedAt)),
    // Admission counts an identity's runs from one source in the rate window (trellis_admit_run):
    // without it, that count read every run the identity ever made.
    index("runs_owner_source").on(t.owner, t.source, desc(t.startedAt)),
    index("runs_payer").on(t.payer, t.source, desc(t.startedAt)),
    // Admission reads a payer's runs in progress; those that ended are in daily_spend.
    index("runs_payer_running").on(t.payer, t.startedAt).where(eq(t.status, sql`'running'`)),
    index("runs_client_address").on(t.clientAddress, desc(t.startedAt)).where(sql`${t.clientAddress} IS NOT NULL`),
  ],
);

/**
 * What a payer's runs that ended spent, per UTC day the runs started on: admission reads one row
 * instead of summing every run of the day. `scope` is "share" for runs of the payer's shared links
 * (source "share"), "own" for the payer's own (sources "editor" and "eval"): the two daily budgets.
 * Kept by a trigger on `runs` (migration 0004), so every write of a run's status, usage or check
 * usage — by this release or an older one still running beside it — keeps it equal to the sum of
 * `usage` + `check_usage` over the day's runs that are not `running`. Deleting runs refunds nothing.
 */
export const dailySpend = pgTable(
  "daily_spend",
  {
    payer: text("payer").notNull(),
    scope: text("scope").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    tokens: bigint("tokens", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ name: "daily_spend_pkey", columns: [t.payer, t.scope, t.day] })],
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

// ── Accounts (team mode) ─────────────────────────────────────────────────────
// Better Auth's tables, through its Drizzle adapter: the property names are the fields it expects
// (user, session, account, verification, rateLimit), the SQL names follow this schema's style.

export const authUsers = pgTable("auth_users", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  email: text("email").notNull().unique("auth_users_email_key"),
  emailVerified: boolean("email_verified").notNull().default(false),
  image: text("image"),
  /** "admin" (the first account; may invite) or "member". */
  role: text("role").notNull().default("member"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
});

export const authSessions = pgTable(
  "auth_sessions",
  {
    id: text("id").primaryKey(),
    token: text("token").notNull().unique("auth_sessions_token_key"),
    userId: text("user_id").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    ipAddress: text("ip_address"),
    userAgent: text("user_agent"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    foreignKey({ name: "auth_sessions_user_id_fkey", columns: [t.userId], foreignColumns: [authUsers.id] }).onDelete("cascade"),
    index("auth_sessions_user").on(t.userId),
  ],
);

export const authAccounts = pgTable(
  "auth_accounts",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    providerId: text("provider_id").notNull(),
    userId: text("user_id").notNull(),
    accessToken: text("access_token"),
    refreshToken: text("refresh_token"),
    idToken: text("id_token"),
    accessTokenExpiresAt: timestamp("access_token_expires_at", { withTimezone: true }),
    refreshTokenExpiresAt: timestamp("refresh_token_expires_at", { withTimezone: true }),
    scope: text("scope"),
    /** The library's password hash (scrypt), never the password. */
    password: text("password"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    foreignKey({ name: "auth_accounts_user_id_fkey", columns: [t.userId], foreignColumns: [authUsers.id] }).onDelete("cascade"),
    index("auth_accounts_user").on(t.userId),
  ],
);

export const authVerifications = pgTable(
  "auth_verifications",
  {
    id: text("id").primaryKey(),
    identifier: text("identifier").notNull(),
    value: text("value").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [index("auth_verifications_identifier").on(t.identifier)],
);

/** Sign-in and sign-up attempts per client and path, counted in the database so every process agrees. */
export const authRateLimits = pgTable("auth_rate_limits", {
  id: text("id").primaryKey(),
  key: text("key").notNull().unique("auth_rate_limits_key_key"),
  count: integer("count").notNull(),
  lastRequest: bigint("last_request", { mode: "number" }).notNull(),
});

/** Invitations to sign up: the token is shown once; only its hash is stored. */
export const invites = pgTable(
  "trellis_invites",
  {
    id: text("id").primaryKey(),
    tokenHash: text("token_hash").notNull().unique("trellis_invites_token_hash_key"),
    /** When set, only this address may use the invitation (also through GitHub, Google or OIDC). */
    email: text("email"),
    createdBy: text("created_by").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    usedBy: text("used_by"),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [foreignKey({ name: "trellis_invites_created_by_fkey", columns: [t.createdBy], foreignColumns: [authUsers.id] }).onDelete("cascade")],
);

/** Server-wide values decided once and shared by every process (e.g. the browser-identity signing key). */
export const serverSettings = pgTable("trellis_settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

// ── Evaluations (issue 15) ───────────────────────────────────────────────────
// A dataset belongs to a workflow and is versioned like it: each save is a new immutable version.
// An evaluation runs one saved workflow version over one dataset version; each row's run is an
// ordinary run record (source "eval"), and its verdicts are kept beside it in eval_results.

export const evalDatasets = pgTable(
  "eval_datasets",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    workflowId: text("workflow_id").notNull(),
    name: text("name").notNull(),
    latestVersion: integer("latest_version").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    foreignKey({ name: "eval_datasets_workflow_id_fkey", columns: [t.workflowId], foreignColumns: [workflows.id] }).onDelete("cascade"),
    index("eval_datasets_workflow").on(t.workflowId, desc(t.updatedAt)),
  ],
);

export const evalDatasetVersions = pgTable(
  "eval_dataset_versions",
  {
    datasetId: text("dataset_id").notNull(),
    version: integer("version").notNull(),
    /** The whole dataset (name, rows, assertions) as the shared contract's DatasetSchema parses it. */
    dataset: jsonb("dataset").notNull(),
    rowCount: integer("row_count").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ name: "eval_dataset_versions_pkey", columns: [t.datasetId, t.version] }),
    foreignKey({ name: "eval_dataset_versions_dataset_id_fkey", columns: [t.datasetId], foreignColumns: [evalDatasets.id] }).onDelete("cascade"),
  ],
);

export const evaluations = pgTable(
  "evaluations",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    /** The workflow evaluated (its dataset may belong to another of the owner's workflows: two topologies of one task). */
    workflowId: text("workflow_id").notNull(),
    version: integer("version").notNull(),
    datasetId: text("dataset_id").notNull(),
    datasetVersion: integer("dataset_version").notNull(),
    /** queued, running, succeeded, failed, cancelled, interrupted. */
    status: text("status").notNull(),
    concurrency: integer("concurrency").notNull(),
    total: integer("total").notNull(),
    summary: jsonb("summary"),
    error: jsonb("error"),
    /** The server process running it; a sweep marks it interrupted once that process is gone. */
    processId: text("process_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [
    foreignKey({ name: "evaluations_workflow_id_fkey", columns: [t.workflowId], foreignColumns: [workflows.id] }).onDelete("cascade"),
    foreignKey({ name: "evaluations_dataset_id_fkey", columns: [t.datasetId], foreignColumns: [evalDatasets.id] }).onDelete("cascade"),
    index("evaluations_workflow").on(t.workflowId, desc(t.createdAt)),
    index("evaluations_dataset").on(t.datasetId, desc(t.createdAt)),
    index("evaluations_running").on(t.status).where(sql`${t.status} IN ('queued', 'running')`),
  ],
);

export const evalResults = pgTable(
  "eval_results",
  {
    evaluationId: text("evaluation_id").notNull(),
    rowId: text("row_id").notNull(),
    index: integer("index").notNull(),
    /** The row's ordinary run record (replayable on the canvas). */
    runId: text("run_id"),
    status: text("status").notNull(),
    pass: boolean("pass").notNull(),
    outputs: jsonb("outputs").notNull(),
    verdicts: jsonb("verdicts").notNull(),
    usage: jsonb("usage").notNull(),
    latencyMs: integer("latency_ms").notNull(),
    costUsd: doublePrecision("cost_usd"),
    finishedAt: timestamp("finished_at", { withTimezone: true }).notNull().default(sql`now()`),
  },
  (t) => [
    primaryKey({ name: "eval_results_pkey", columns: [t.evaluationId, t.rowId] }),
    foreignKey({ name: "eval_results_evaluation_id_fkey", columns: [t.evaluationId], foreignColumns: [evaluations.id] }).onDelete("cascade"),
    foreignKey({ name: "eval_results_run_id_fkey", columns: [t.runId], foreignColumns: [runs.id] }).onDelete("set null"),
  ],
);

/** Read-only links (`/e/<id>`) to one evaluation or to a comparison of two; revocable by their owner. */
export const evalShareLinks = pgTable(
  "eval_share_links",
  {
    id: text("id").primaryKey(),
    owner: text("owner").notNull(),
    /** The evaluation shown; with `afterId`, the "before" side of a comparison. */
    evaluationId: text("evaluation_id").notNull(),
    afterId: text("after_id"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().default(sql`now()`),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [
    foreignKey({ name: "eval_share_links_evaluation_id_fkey", columns: [t.evaluationId], foreignColumns: [evaluations.id] }).onDelete("cascade"),
    foreignKey({ name: "eval_share_links_after_id_fkey", columns: [t.afterId], foreignColumns: [evaluations.id] }).onDelete("cascade"),
    index("eval_share_links_owner").on(t.owner, desc(t.createdAt)),
  ],
);

export const schema = {
  workflows,
  workflowVersions,
  runs,
  dailySpend,
  runEvents,
  shareLinks,
  processes,
  authUsers,
  authSessions,
  authAccounts,
  authVerifications,
  authRateLimits,
  invites,
  serverSettings,
  evalDatasets,
  evalDatasetVersions,
  evaluations,
  evalResults,
  evalShareLinks,
};
