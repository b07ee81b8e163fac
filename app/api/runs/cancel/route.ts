import { identityFromCookieHeader } from "@/lib/server/identity";
import { fromThisOrigin } from "@/lib/server/run-transport";
import { cancelRun } from "@/lib/server/runs";

/**
 * Cancels a run when its tab closes (a keepalive request from `pagehide`; a server action call may
 * not survive page unload). Only the identity that started the run can cancel it, and only from
 * this server's own pages: a request from another origin (a same-site page of someone else's)
 * is refused before anything is looked up. proxy.ts checks the same for every route; this route
 * does not depend on it.
 */
export async function POST(request: Request) {
  if (!fromThisOrigin(request)) {
    return Response.json({ ok: false, error: { code: "forbidden", message: "cross-origin request refused" } }, { status: 403 });
  }
  const runId = (await request.text()).trim();
  if (!/^[0-9a-f-]{36}$/i.test(runId)) return Response.json({ ok: false, error: { code: "invalid-request", message: "expected a run id" } }, { status: 400 });
  return Response.json({ ok: true, data: { cancelled: await cancelRun(runId, await identityFromCookieHeader(request.headers.get("cookie"))) } });
}
