import "server-only";
import { z } from "zod";
import { parseDocument, serializeDocument, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import { EventChannel } from "@/lib/workflow/engine/channel";
import { effectiveLimits } from "@/lib/workflow/limits";
import { readServerConfig, secretsOf, type AdmissionConfig } from "./config";
import type { Db } from "./db/connect";
import { databaseErrorMessage, isDatabaseUnavailable, isDiskFull, unavailableMessage } from "./db/errors";
import { createRunWithinRate, getSharedVersion, getWorkflowById, type NewRun, type RateLimitedRun } from "./db/queries";
import { runExecutor } from "./executor";
import { SignInRequiredError } from "./identity";
import { createModels, unconfiguredModels } from "./models";
import { planFromRun, ReuseRequest } from "./reuse";
import type { RunReuse } from "@/lib/workflow/engine/reuse";

/**
 * Runs started from the editor or from a shared link. Every run is recorded as it streams (its
 * document, then its events in batches, then its result), belongs to the identity that started
 * it, and is rate-limited per identity. Once admitted, a run is handed to the configured executor
 * (`lib/server/executor`), which also reaches it for its owner's cancel request.
 */

let models: ReturnType<typeof createModels> | undefined;
const serverModels = () => (models ??= createModels());
let server: { rates: ReturnType<typeof readServerConfig>["rates"]; admission: AdmissionConfig; secrets: string[] } | undefined;
const serverSettings = () => {
  if (!server) {
    const config = readServerConfig();
    server = { rates: config.rates, admission: config.admission, secrets: secretsOf(config) };
  }
  return server;
};

/** Who is asking, where runs are recorded, and how many runs a minute they may start (default: the server's configuration). */
export type RunContext = {
  owner: string;
  db: Db;
  processId: string;
  rates?: { runsPerMinute: number; sharedRunsPerMinute: number };
  /** The models to call (default: the server's, built once from its configuration). */
  models?: ReturnType<typeof createModels>;
  /** Server-wide caps and daily budgets (default: the server's configuration). */
  admission?: AdmissionConfig;
  /** Whether the identity is a signed-in account (else a browser); only words the messages. */
  account?: boolean;
  /** The client address of a visitor's request, for the per-address limit on shared-link runs. */
  address?: string | null;
};

const MINUTE = 60_000;

const Inputs = z.record(z.string().max(64), z.union([z.string().max(100_000), z.number(), z.boolean()]));

export const StartRunInput = z.strictObject({
  runId: z.string().uuid(),
  document: z.unknown(),
  inputs: Inputs,
  /** The saved workflow and version the editor's document is based on, when it is saved. */
  workflowId: z.string().uuid().optional(),
  baseVersion: z.number().int().min(1).optional(),
  /** Run from given nodes of one of the caller's earlier runs, reusing its other outputs (issue 16). */
  reuse: ReuseRequest.optional(),
});

export const StartSharedRunInput = z.strictObject({
  runId: z.string().uuid(),
  shareId: z.string().min(1).max(64),
  inputs: Inputs,
});

function failed(runId: string, workflow: string, code: string, message: string, extra: object = {}): RunEvent[] {
  return [
    { seq: 0, t: 0, type: "run-started", runId, workflow, inputs: {} },
    { seq: 1, t: 0, type: "run-finished", status: "failed", outputs: {}, state: {}, usage: { inputTokens: 0, outputTokens: 0 }, warnings: [], error: { code, message, ...extra }, ms: 0 },
  ];
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The caller's context could not be had (the database is away): the run answers with a failed event. */
export class RunRefused {
  constructor(readonly cause: unknown) {}
}

/**
 * A run as the transport sees it: an AsyncIterable whose consumer can leave at any moment. The
 * run itself is pumped apart from the consumer, so leaving (React calls `throw()` on the
 * iterator when the request is aborted) cancels it at once — every in-flight provider call and
 * backoff — instead of at the next event, and the record still gets every event up to the
 * cancellation, partial outputs included.
 */
function session(prepare: (session: RunSession) => Promise<void>): AsyncIterable<RunEvent> {
  const run = new RunSession();
  run.channel = new EventChannel<RunEvent>(
    () => void prepare(run).catch((error: unknown) => run.crash(error)).finally(() => run.channel.close()),
    () => run.clientGone(),
  );
  return run.channel;
}

class RunSession {
  channel!: EventChannel<RunEvent>;
  readonly controller = new AbortController();
  gone = false;
  private sent: RunEvent | undefined;

  send(event: RunEvent): void {
    this.sent = event;
    this.channel.push(event);
  }

  sendAll(events: RunEvent[]): void {
    for (const event of events) this.send(event);
  }

  clientGone(): void {
    this.gone = true;
    this.controller.abort();
  }

  /** Something below threw: the browser still gets a finished run, never a thrown error. */
  crash(error: unknown): void {
    const unavailable = isDatabaseUnavailable(error);
    const signIn = error instanceof SignInRequiredError;
    if (unavailable) console.error(`run refused: ${databaseErrorMessage(error)}`);
    else if (!signIn) console.error("run failed outside the engine:", error);
    if (this.sent?.type === "run-finished") return;
    const last = this.sent;
    this.send({
      seq: (last?.seq ?? -1) + 1,
      t: last?.t ?? 0,
      type: "run-finished",
      status: "failed",
      outputs: {},
      state: {},
      usage: { inputTokens: 0, outputTokens: 0 },
      warnings: [],
      error: unavailable
        ? { code: "database-unavailable", message: isDiskFull(error) ? unavailableMessage(error) : `${unavailableMessage(error)}, try again in a moment` }
        : signIn
          ? { code: "sign-in-required", message: error.message }
          : { code: "internal", message: "the server could not finish this run" },
      ms: last?.t ?? 0,
    });
  }
}

/** Streams the events of one run of the editor's document. Failures arrive as events, never as thrown errors. */
export function startRun(raw: unknown, context: RunContext | RunRefused): AsyncIterable<RunEvent> {
  return session(async (run) => {
    if (context instanceof RunRefused) throw context.cause;
    const input = StartRunInput.safeParse(raw);
    if (!input.success) {
      return run.sendAll(failed("invalid", "", "invalid-request", `the run request is not valid: ${input.error.issues[0]?.message ?? "unknown problem"}`));
    }
    const { runId, inputs, workflowId, baseVersion } = input.data;
    const parsed = parseDocument(input.data.document);
    if (!parsed.ok) return run.sendAll(failed(runId, "", "invalid-document", "the workflow is not valid", { issues: parsed.issues }));
    const document = parsed.document;
    let record: Pick<NewRun, "workflowId" | "version" | "edited"> = {};
    if (workflowId) {
      // Ownership first: a run names a saved workflow only if it is the caller's.
      const saved = await getWorkflowById(context.db, { owner: context.owner, id: workflowId, version: baseVersion });
      if (!saved) return run.sendAll(failed(runId, document.name, "not-found", "this workflow does not exist or is not yours"));
      record = { workflowId, version: saved.version, edited: serializeDocument(saved.document) !== serializeDocument(document) };
    }
    // Run from here: the earlier run's inputs and outputs, planned from its record.
    const planned = input.data.reuse ? await planFromRun(context.db, { owner: context.owner, document, request: input.data.reuse }) : null;
    if (planned && !planned.ok) return run.sendAll(failed(runId, document.name, planned.code, planned.message, planned.nodeId ? { nodeId: planned.nodeId } : {}));
    await execute(run, { runId, document, inputs: planned ? planned.plan.inputs : inputs, ...record, source: "editor" }, context, planned?.plan.reuse);
  });
}

/**
 * A visitor's run from a shared link that allows runs: it executes the stored version only —
 * the request names the link and the inputs, never a document.
 */
export function startSharedRun(raw: unknown, context: RunContext | RunRefused): AsyncIterable<RunEvent> {
  return session(async (run) => {
    if (context instanceof RunRefused) throw context.cause;
    const input = StartSharedRunInput.safeParse(raw);
    if (!input.success) {
      return run.sendAll(failed("invalid", "", "invalid-request", `the run request is not valid: ${input.error.issues[0]?.message ?? "unknown problem"}`));
    }
    const { runId, shareId, inputs } = input.data;
    const link = await getSharedVersion(context.db, { id: shareId });
    if (link.status !== "ok") return run.sendAll(failed(runId, "", "not-shared", "this link is no longer shared"));
    if (!link.allowRun) return run.sendAll(failed(runId, link.document.name, "run-not-allowed", "the owner of this link has not allowed running it"));
    // The link's owner pays for their visitors' runs, out of the budget for shared-link runs.
    await execute(
      run,
      { runId, document: link.document, inputs, workflowId: link.workflowId, version: link.version, source: "share", shareLinkId: link.linkId, payer: link.owner },
      context,
    );
  });
}

/**
 * One row of an evaluation (issue 15): a run of a saved version, admitted, limited, budgeted and
 * recorded exactly like an editor run, with source "eval". The evaluation service reads its events
 * (leaving the iterator cancels the run). A row refused as busy, or because its identity has too
 * many runs in progress, ends with that refusal (`busy` / `rate-limited`, with `retryInMs`) and
 * nothing recorded: the service waits and retries it under the same run id.
 *
 * The editor's runs-per-minute limit does not apply: an evaluation is admitted once as a whole and
 * its rows are paced by its concurrency cap (at most the server's runs per identity), the
 * server-wide caps and the owner's daily token budget, which its rows spend like editor runs.
 * Counting rows against the per-minute limit would stall any evaluation of more than 30 rows and
 * lock the owner out of the editor meanwhile.
 */
export function startEvalRowRun(
  request: { runId: string; workflowId: string; version: number; document: WorkflowDocument; inputs: Record<string, string | number | boolean> },
  context: RunContext,
): AsyncIterable<RunEvent> {
  const { runId, workflowId, version, document, inputs } = request;
  return session((run) => execute(run, { runId, document, inputs, workflowId, version, edited: false, source: "eval" }, context));
}

/** A run refused at admission: what the browser is told, and when to try again. */
function refusal(admitted: Exclude<RateLimitedRun, { ok: true }>, context: RunContext, limit: number | null, source: "editor" | "share" | "eval"): { code: string; message: string; retryInMs?: number } {
  switch (admitted.code) {
    case "duplicate":
      return { code: "duplicate-run", message: "a run with this id already exists" };
    case "busy":
      return {
        code: "busy",
        message:
          admitted.scope === "runs"
            ? `the server is busy: ${admitted.limit} runs are in progress, its limit; try again in a few seconds`
            : `the server is busy: all ${admitted.limit} of its model-call slots are in use; try again in a few seconds`,
        retryInMs: 5_000,
      };
    case "budget-exceeded": {
      const hours = Math.floor(admitted.freeInMs / 3_600_000);
      const minutes = Math.max(1, Math.ceil((admitted.freeInMs % 3_600_000) / 60_000));
      const whose = source === "share" ? "for runs of this workflow's shared links" : context.account ? "of your account" : "of this browser";
      return {
        code: "budget-exceeded",
        message: `the daily token budget ${whose} (${admitted.limit.toLocaleString("en")} tokens) is spent: it renews at midnight UTC, in ${hours ? `${hours} h ` : ""}${minutes} min`,
        retryInMs: admitted.freeInMs,
      };
    }
    case "rate-limited": {
      const wait = seconds(admitted.freeInMs);
      const who = context.account ? "this account" : "this browser";
      if (admitted.scope === "running") return { code: "rate-limited", message: `${who} already has ${admitted.limit} runs in progress: try again when one finishes`, retryInMs: admitted.freeInMs };
      if (admitted.scope === "address") return { code: "rate-limited", message: `too many runs from your address (${admitted.limit} a minute): try again in ${wait} s`, retryInMs: admitted.freeInMs };
      return { code: "rate-limited", message: `too many runs from ${who} (${limit} a minute): try again in ${wait} s`, retryInMs: admitted.freeInMs };
    }
  }
}

async function execute(
  session: RunSession,
  run: Omit<NewRun, "owner" | "processId" | "id"> & { runId: string; document: WorkflowDocument },
  context: RunContext,
  reuse?: RunReuse,
): Promise<void> {
  const { runId, document, inputs } = run;
  const { registry, port, limits, coalesceMs } = context.models ?? serverModels();
  // Refused before any provider call: a model this server does not have, or does not allow.
  const missing = unconfiguredModels(document, registry);
  if (missing.length) {
    const first = missing[0];
    return session.sendAll(failed(runId, document.name, first.code, `${first.message} (node "${first.nodeId}")`, { nodeId: first.nodeId }));
  }
  const settings = serverSettings();
  const source = run.source ?? "editor";
  const allowed = context.rates ?? settings.rates;
  const admission = context.admission ?? settings.admission;
  // Evaluation rows are paced by their evaluation's concurrency cap, not by a per-minute count
  // (startEvalRowRun): none is counted (null), so a row's admission does not read the rows before it.
  const limit = source === "share" ? allowed.sharedRunsPerMinute : source === "eval" ? null : allowed.runsPerMinute;
  // What this run would use at most: its concurrency (model-call slots) and its token budget.
  const wanted = effectiveLimits(limits, document.settings?.limits);
  // A browser that left while the run was being admitted starts nothing.
  if (session.gone) return;
  const { runId: id, ...rest } = run;
  // Counted and created in one transaction under one lock, so processes sharing PostgreSQL agree.
  const executor = runExecutor();
  const admitted = executor.isLive(runId)
    ? ({ ok: false, code: "duplicate" } as const)
    : await createRunWithinRate(context.db, {
        ...rest,
        id,
        source,
        owner: context.owner,
        processId: context.processId,
        windowMs: MINUTE,
        limit,
        admission: {
          // A run cannot outlive its wall time: a row left `running` by a crashed process stops counting after it.
          liveForMs: wanted.maxWallTimeMs + MINUTE,
          maxRunning: admission.maxConcurrentRuns,
          maxRunningPerIdentity: admission.maxRunsPerIdentity,
          maxModelSlots: admission.maxConcurrentModelCalls,
          wantedSlots: wanted.maxConcurrency,
          address: source === "share" && !context.account ? { value: context.address ?? "unknown", limit: allowed.sharedRunsPerMinute } : undefined,
          budget: {
            payer: run.payer ?? context.owner,
            dailyTokens: source === "share" ? admission.sharedDailyTokens : admission.dailyTokens,
            runTokens: wanted.maxTokens,
          },
        },
      });
  if (!admitted.ok) {
    const { code, message, ...extra } = refusal(admitted, context, limit, source);
    return session.sendAll(failed(runId, document.name, code, message, extra));
  }
  // The run keeps to what it was admitted with: its share of the server's model-call slots and of the payer's daily budget.
  const admittedLimits = { ...limits, maxConcurrency: admitted.modelSlots ?? wanted.maxConcurrency, maxTokens: admitted.tokenBudget ?? wanted.maxTokens };
  const secrets = context.models ? registry.secrets() : settings.secrets;
  await executor.execute({ runId, owner: context.owner, document, inputs, limits: admittedLimits, reuse }, session, { db: context.db, port, coalesceMs, secrets });
}

/** Cancels a run in progress; only the identity that started it may. */
export async function cancelRun(runId: unknown, owner: string | null): Promise<boolean> {
  if (typeof runId !== "string" || !owner) return false;
  return runExecutor().cancel(runId, owner);
}
