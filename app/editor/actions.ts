"use server";

import type { RunEvent } from "@/lib/workflow";
import { cancelRun, startRun } from "@/lib/server/runs";

/** Runs the document as sent from the editor and streams its events to the client. */
export async function runWorkflowAction(request: { runId: string; document: unknown; inputs: Record<string, string | number | boolean> }): Promise<AsyncIterable<RunEvent>> {
  return startRun(request);
}

export async function cancelRunAction(runId: string): Promise<boolean> {
  return cancelRun(runId);
}
