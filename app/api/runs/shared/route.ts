import { visitorRunContext } from "@/lib/server/auth/run-context";
import { readRunRequest, runEventsResponse } from "@/lib/server/run-transport";
import { RunRefused, startSharedRun } from "@/lib/server/runs";

export const dynamic = "force-dynamic";

/**
 * A visitor's run of the stored version behind a share link that allows runs (`StartSharedRunInput`:
 * the link and the inputs, never a document), streamed like an editor run (`POST /api/runs`).
 */
export async function POST(request: Request) {
  const read = await readRunRequest(request);
  if (!read.ok) return read.response;
  return runEventsResponse(startSharedRun(read.body, await visitorRunContext().catch((error: unknown) => new RunRefused(error))), request.signal);
}
