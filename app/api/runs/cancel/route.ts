import { identityFromCookieHeader } from "@/lib/server/identity";
import { cancelRun } from "@/lib/server/runs";

/**
 * Cancels a run when its tab closes (a keepalive request from `pagehide`; a server action call may
 * not survive page unload). Only the identity that started the run can cancel it.
 */
export async function POST(request: Request) {
  const runId = (await request.text()).trim();
  if (!/^[0-9a-f-]{36}$/i.test(runId)) return Response.json({ ok: false, error: { code: "invalid-request", message: "expected a run id" } }, { status: 400 });
  return Response.json({ ok: true, data: { cancelled: cancelRun(runId, identityFromCookieHeader(request.headers.get("cookie"))) } });
}
