"use server";

import { currentAccount, isTeamMode } from "@/lib/server/identity";
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
