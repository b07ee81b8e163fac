import { editorRunContext } from "@/lib/server/auth/run-context";
import { readRunRequest, runEventsResponse } from "@/lib/server/run-transport";
import { RunRefused, startRun } from "@/lib/server/runs";

export const dynamic = "force-dynamic";

/**
 * Runs the editor's document as sent (`StartRunInput`), records it, and streams its events as
 * newline-delimited JSON. Refusals of the run itself (invalid document, rate limits, budgets) are
 * events, like any run's end; only a request that is not one (another origin, too large, not JSON)
 * gets an error status.
 */
export async function POST(request: Request) {
  const read = await readRunRequest(request);
  if (!read.ok) return read.response;
  return runEventsResponse(startRun(read.body, await editorRunContext().catch((error: unknown) => new RunRefused(error))), request.signal);
}
