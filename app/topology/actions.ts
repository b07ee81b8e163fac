"use server";

import { ensureIdentity, SignInRequiredError } from "@/lib/server/identity";
import { admitPlan, planWorkflow, type PlannedWorkflow } from "@/lib/server/plan";
import type { ActionResult } from "@/lib/server/workflows";

export type { PlannedWorkflow };

/** Plans a workflow from a task description ("New from a task"): returns a document, stores nothing. */
export async function planWorkflowAction(request: { task: string; model?: string }): Promise<ActionResult<PlannedWorkflow>> {
  let owner: string;
  try {
    owner = await ensureIdentity();
  } catch (error) {
    if (error instanceof SignInRequiredError) return { ok: false, error: { code: error.code, message: error.message } };
    throw error;
  }
  if (!admitPlan(owner)) return { ok: false, error: { code: "rate-limited", message: "too many plans this minute; try again shortly" } };
  return planWorkflow(request);
}
