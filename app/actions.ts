"use server";

import type { RunEvent } from "@/lib/workflow";
import { visitorRunContext } from "@/lib/server/auth/run-context";
import { currentAccount, isTeamMode } from "@/lib/server/identity";
import { RunRefused, startSharedRun } from "@/lib/server/runs";
import { fork } from "@/lib/server/sharing";
import { deleteWorkflow, duplicateWorkflow, renameWorkflow, type ActionResult } from "@/lib/server/workflows";

/** Actions of the landing page's list and of the shared views. */

export async function renameWorkflowAction(request: { id: string; name: string }): Promise<ActionResult<{ id: string; version: number }>> {
  return renameWorkflow(request);
}

export async function duplicateWorkflowAction(request: { id: string }): Promise<ActionResult<{ id: string; version: number }>> {
  return duplicateWorkflow(request);
}

export async function deleteWorkflowAction(request: { id: string }): Promise<ActionResult<{ id: string }>> {
  return deleteWorkflow(request);
}

/** Copies a shared workflow (or a shared run's workflow) into the caller's ownership. */
export async function forkAction(request: { from: "link" | "run"; id: string }): Promise<ActionResult<{ id: string; version: number }>> {
  // In team mode a copy belongs to an account: a visitor signs in first.
  if (isTeamMode() && !(await currentAccount())) return { ok: false, error: { code: "sign-in-required", message: "sign in to copy this workflow into your account" } };
  return fork(request);
}

/** Runs the stored version behind a share link that allows runs; the request carries no document. */
export async function runSharedAction(request: { runId: string; shareId: string; inputs: Record<string, string | number | boolean> }): Promise<AsyncIterable<RunEvent>> {
  return startSharedRun(request, await visitorRunContext().catch((error: unknown) => new RunRefused(error)));
}
