import "server-only";
import { z } from "zod";
import { parseDocument, runWorkflow, type RunEvent } from "@/lib/workflow";
import { createModels, unconfiguredModels } from "./models";

/**
 * Runs started from the editor. Each live run has an AbortController keyed by its id, so a
 * cancel request (a separate server action) reaches every in-flight model call.
 */

// Next.js bundles route handlers and server actions separately, each with its own copy of this
// module: the registry of live runs is kept on globalThis so both see the same runs.
const REGISTRY = Symbol.for("trellis.liveRuns");
const live: Map<string, AbortController> = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new Map()) as Map<string, AbortController>;
let models: ReturnType<typeof createModels> | undefined;
const serverModels = () => (models ??= createModels());

export const StartRunInput = z.strictObject({
  runId: z.string().uuid(),
  document: z.unknown(),
  inputs: z.record(z.string().max(64), z.union([z.string().max(100_000), z.number(), z.boolean()])),
});

function failed(runId: string, workflow: string, code: string, message: string, extra: object = {}): RunEvent[] {
  return [
    { seq: 0, t: 0, type: "run-started", runId, workflow, inputs: {} },
    { seq: 1, t: 0, type: "run-finished", status: "failed", outputs: {}, state: {}, usage: { inputTokens: 0, outputTokens: 0 }, warnings: [], error: { code, message, ...extra }, ms: 0 },
  ];
}

/** Streams the events of one run. Failures arrive as events, never as thrown errors. */
export async function* startRun(raw: unknown): AsyncGenerator<RunEvent> {
  const input = StartRunInput.safeParse(raw);
  if (!input.success) {
    yield* failed("invalid", "", "invalid-request", `the run request is not valid: ${input.error.issues[0]?.message ?? "unknown problem"}`);
    return;
  }
  const { runId, inputs } = input.data;
  const parsed = parseDocument(input.data.document);
  if (!parsed.ok) {
    yield* failed(runId, "", "invalid-document", "the workflow is not valid", { issues: parsed.issues });
    return;
  }
  const { registry, port, limits } = serverModels();
  const missing = unconfiguredModels(parsed.document, registry);
  if (missing.length) {
    const first = missing[0];
    yield* failed(runId, parsed.document.name, "model-not-configured", `${first.message} (node "${first.nodeId}")`, { nodeId: first.nodeId });
    return;
  }
  if (live.has(runId)) {
    yield* failed(runId, parsed.document.name, "duplicate-run", "a run with this id is already running");
    return;
  }
  const controller = new AbortController();
  live.set(runId, controller);
  try {
    yield* runWorkflow(parsed.document, { runId, inputs, models: port, signal: controller.signal, limits });
  } finally {
    // Reached when the run ends or the client stops reading; either way nothing keeps running.
    controller.abort();
    live.delete(runId);
  }
}

export function cancelRun(runId: unknown): boolean {
  if (typeof runId !== "string") return false;
  const controller = live.get(runId);
  controller?.abort();
  return Boolean(controller);
}
