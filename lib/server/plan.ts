import "server-only";
import { z } from "zod";
import {
  buildWorkflow,
  MAX_TASK_CHARS,
  ModelError,
  PLANNER_SCHEMA,
  PLANNER_SYSTEM,
  plannerPrompt,
  repairPlan,
  TopologyBuildError,
  type Subtask,
  type Topology,
  type WorkflowDocument,
} from "@/lib/workflow";
import { createModels } from "./models";
import type { ActionResult } from "./workflows";

/**
 * "New from a task": a planning model splits the task into subtasks (structured output through
 * the model port, like any node's call), the plan is repaired into a DAG, routed to a topology
 * and built into a workflow document. The document is returned, never stored: the editor opens
 * it as an undoable change.
 */

export const PlanRequest = z.strictObject({
  task: z.string().trim().min(3, "describe the task in a few words").max(MAX_TASK_CHARS, `a task has at most ${MAX_TASK_CHARS} characters`),
  /** The model the workflow's steps use (and that plans it); default the demo model. */
  model: z.string().max(200).regex(/^[a-z][a-z0-9-]*:[^\s]+$/, "must be a model id").optional(),
});

export type PlannedWorkflow = {
  document: WorkflowDocument;
  explanation: string;
  topology: Topology;
  metrics: { n: number; width: number; depth: number; coupling: number };
  subtasks: Subtask[];
  repairs: string[];
};

/** A planning call is one model call; it is bounded in time and per identity like a small run. */
const PLAN_TIMEOUT_MS = 60_000;
export const PLANS_PER_MINUTE = 20;
const RATES = Symbol.for("trellis.planRates");
const recent = ((globalThis as Record<symbol, unknown>)[RATES] ??= new Map<string, number[]>()) as Map<string, number[]>;

/** True when `owner` may plan now (and counts this plan). Per process, like the live-run registry. */
export function admitPlan(owner: string, now = Date.now()): boolean {
  const times = (recent.get(owner) ?? []).filter((t) => now - t < 60_000);
  if (times.length >= PLANS_PER_MINUTE) {
    recent.set(owner, times);
    return false;
  }
  times.push(now);
  recent.set(owner, times);
  return true;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type Models = ReturnType<typeof createModels>;
let serverModels: Models | undefined;

export async function planWorkflow(raw: unknown, options: { models?: Models; signal?: AbortSignal } = {}): Promise<ActionResult<PlannedWorkflow>> {
  const request = PlanRequest.safeParse(raw);
  if (!request.success) return { ok: false, error: { code: "invalid-request", message: request.error.issues[0]?.message ?? "invalid request" } };
  const models = options.models ?? (serverModels ??= createModels());
  const model = request.data.model ?? "demo:default";
  const resolved = models.registry.resolve(model);
  if (!resolved.ok) return { ok: false, error: { code: "model-not-configured", message: resolved.message } };
  // The demo model's plan is computed, not generated: planning with its instant variant keeps the dialog snappy.
  const planner = model.startsWith("demo:") ? "demo:fast" : model;
  const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(PLAN_TIMEOUT_MS)]) : AbortSignal.timeout(PLAN_TIMEOUT_MS);
  let answer: unknown;
  let text = "";
  try {
    for await (const chunk of models.port.stream({ model: planner, system: PLANNER_SYSTEM, prompt: plannerPrompt(request.data.task), schema: PLANNER_SCHEMA, schemaName: "plan" }, signal)) {
      if (chunk.type === "text") text += chunk.delta;
      // Like the engine: the port's parsed object when it has one, else the streamed JSON text.
      else if (chunk.type === "finish") answer = chunk.object ?? parseJson(text);
    }
  } catch (error) {
    const message = error instanceof ModelError ? error.message : signal.aborted ? `the planner did not answer within ${PLAN_TIMEOUT_MS / 1000} s` : "the planner could not be reached";
    return { ok: false, error: { code: "planner-failed", message } };
  }
  if (answer === undefined) return { ok: false, error: { code: "planner-failed", message: "the planner did not answer with a plan (no JSON object)" } };
  const plan = repairPlan(answer);
  if (!plan.ok) return { ok: false, error: { code: "plan-refused", message: plan.message } };
  try {
    const built = buildWorkflow({ task: request.data.task, subtasks: plan.subtasks, model, repairs: plan.repairs });
    const { n, width, depth, coupling } = built.metrics;
    return {
      ok: true,
      data: { document: built.document, explanation: built.explanation, topology: built.topology, metrics: { n, width, depth, coupling }, subtasks: plan.subtasks, repairs: plan.repairs },
    };
  } catch (error) {
    if (error instanceof TopologyBuildError) return { ok: false, error: { code: "plan-invalid", message: error.message } };
    throw error;
  }
}
