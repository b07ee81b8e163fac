import "server-only";
import { z } from "zod";
import { parseDocument, runWorkflow, serializeDocument, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";
import { readServerConfig } from "./config";
import type { Db } from "./db/connect";
import { appendRunEvents, createRun, finishRun, getSharedVersion, getWorkflowById, recentRuns, type NewRun } from "./db/queries";
import { createModels, unconfiguredModels } from "./models";
import { RunRecorder } from "./recorder";

/**
 * Runs started from the editor or from a shared link. Every run is recorded as it streams (its
 * document, then its events in batches, then its result), belongs to the identity that started
 * it, and is rate-limited per identity. Each live run has an AbortController keyed by its id, so
 * its owner's cancel request (a separate server action or route) reaches every in-flight call.
 */

type LiveRun = { owner: string; controller: AbortController };
type Shared = { live: Map<string, LiveRun> };

// Next.js bundles route handlers and server actions separately, each with its own copy of this
// module: the registry of live runs and the rate limits live on globalThis so all see the same.
const REGISTRY = Symbol.for("trellis.liveRuns");
const shared: Shared = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= { live: new Map() }) as Shared;
const live = shared.live;

let models: ReturnType<typeof createModels> | undefined;
const serverModels = () => (models ??= createModels());
let rates: ReturnType<typeof readServerConfig>["rates"] | undefined;
const serverRates = () => (rates ??= readServerConfig().rates);

/** Who is asking, where runs are recorded, and how many runs a minute they may start (default: the server's configuration). */
export type RunContext = { owner: string; db: Db; processId: string; rates?: { runsPerMinute: number; sharedRunsPerMinute: number } };

const MINUTE = 60_000;

const Inputs = z.record(z.string().max(64), z.union([z.string().max(100_000), z.number(), z.boolean()]));

export const StartRunInput = z.strictObject({
  runId: z.string().uuid(),
  document: z.unknown(),
  inputs: Inputs,
  /** The saved workflow and version the editor's document is based on, when it is saved. */
  workflowId: z.string().uuid().optional(),
  baseVersion: z.number().int().min(1).optional(),
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

/** Streams the events of one run of the editor's document. Failures arrive as events, never as thrown errors. */
export async function* startRun(raw: unknown, context: RunContext): AsyncGenerator<RunEvent> {
  const input = StartRunInput.safeParse(raw);
  if (!input.success) {
    yield* failed("invalid", "", "invalid-request", `the run request is not valid: ${input.error.issues[0]?.message ?? "unknown problem"}`);
    return;
  }
  const { runId, inputs, workflowId, baseVersion } = input.data;
  const parsed = parseDocument(input.data.document);
  if (!parsed.ok) {
    yield* failed(runId, "", "invalid-document", "the workflow is not valid", { issues: parsed.issues });
    return;
  }
  const document = parsed.document;
  let record: Pick<NewRun, "workflowId" | "version" | "edited"> = {};
  if (workflowId) {
    // Ownership first: a run names a saved workflow only if it is the caller's.
    const saved = await getWorkflowById(context.db, { owner: context.owner, id: workflowId, version: baseVersion });
    if (!saved) {
      yield* failed(runId, document.name, "not-found", "this workflow does not exist or is not yours");
      return;
    }
    record = { workflowId, version: saved.version, edited: serializeDocument(saved.document) !== serializeDocument(document) };
  }
  yield* execute({ runId, document, inputs, ...record, source: "editor" }, context);
}

/**
 * A visitor's run from a shared link that allows runs: it executes the stored version only —
 * the request names the link and the inputs, never a document.
 */
export async function* startSharedRun(raw: unknown, context: RunContext): AsyncGenerator<RunEvent> {
  const input = StartSharedRunInput.safeParse(raw);
  if (!input.success) {
    yield* failed("invalid", "", "invalid-request", `the run request is not valid: ${input.error.issues[0]?.message ?? "unknown problem"}`);
    return;
  }
  const { runId, shareId, inputs } = input.data;
  const link = await getSharedVersion(context.db, { id: shareId });
  if (link.status !== "ok") {
    yield* failed(runId, "", "not-shared", "this link is no longer shared");
    return;
  }
  if (!link.allowRun) {
    yield* failed(runId, link.document.name, "run-not-allowed", "the owner of this link has not allowed running it");
    return;
  }
  yield* execute(
    { runId, document: link.document, inputs, workflowId: link.workflowId, version: link.version, source: "share", shareLinkId: link.linkId },
    context,
  );
}

async function* execute(
  run: Omit<NewRun, "owner" | "processId" | "id"> & { runId: string; document: WorkflowDocument },
  context: RunContext,
): AsyncGenerator<RunEvent> {
  const { runId, document, inputs } = run;
  const { registry, port, limits } = serverModels();
  const missing = unconfiguredModels(document, registry);
  if (missing.length) {
    const first = missing[0];
    yield* failed(runId, document.name, "model-not-configured", `${first.message} (node "${first.nodeId}")`, { nodeId: first.nodeId });
    return;
  }
  // Per identity and source, counted from the run records (the same for every process).
  const source = run.source ?? "editor";
  const allowed = context.rates ?? serverRates();
  const limit = source === "share" ? allowed.sharedRunsPerMinute : allowed.runsPerMinute;
  const recent = await recentRuns(context.db, { owner: context.owner, source, windowMs: MINUTE });
  if (recent.count >= limit) {
    yield* failed(runId, document.name, "rate-limited", `too many runs from this browser (${limit} a minute): try again in ${seconds(recent.freeInMs)} s`);
    return;
  }
  const { runId: id, ...rest } = run;
  if (live.has(runId) || !(await createRun(context.db, { ...rest, id, owner: context.owner, processId: context.processId }))) {
    yield* failed(runId, document.name, "duplicate-run", "a run with this id already exists");
    return;
  }
  const db = context.db;
  const recorder = new RunRecorder({
    append: (events) => appendRunEvents(db, { runId, events }),
    finish: (finished) => finishRun(db, { runId, finished }),
  });
  const controller = new AbortController();
  live.set(runId, { owner: context.owner, controller });
  let last: RunEvent | undefined;
  try {
    for await (const event of runWorkflow(document, { runId, inputs, models: port, signal: controller.signal, limits })) {
      // The engine counts time from its start; the record also says when that was.
      if (event.type === "run-started") event.at = Date.now();
      last = event;
      recorder.push(event);
      // The record is complete before the browser learns the run is over, so a share or a
      // replay right after sees all of it.
      if (event.type === "run-finished") await recorder.finish(event);
      yield event;
    }
  } finally {
    // Reached when the run ends or the client stops reading; either way nothing keeps running.
    controller.abort();
    live.delete(runId);
    if (last?.type !== "run-finished") {
      const ended = stoppedReading(last);
      recorder.push(ended);
      await recorder.finish(ended);
    }
  }
}

/** The result recorded for a run whose browser stopped reading before it finished. */
function stoppedReading(last: RunEvent | undefined): RunEventOf<"run-finished"> {
  const t = last?.t ?? 0;
  return {
    seq: (last?.seq ?? -1) + 1,
    t,
    type: "run-finished",
    status: "cancelled",
    outputs: {},
    state: {},
    usage: { inputTokens: 0, outputTokens: 0 },
    warnings: [],
    error: { code: "client-gone", message: "the browser stopped following this run" },
    ms: t,
  };
}

/** Cancels a live run; only the identity that started it may. */
export function cancelRun(runId: unknown, owner: string | null): boolean {
  if (typeof runId !== "string" || !owner) return false;
  const run = live.get(runId);
  if (!run || run.owner !== owner) return false;
  run.controller.abort();
  return true;
}
