import { eventsRefusal, runEventStream, wantsEventStream } from "@/lib/server/executor/event-stream";
import { runEventsPage } from "@/lib/server/sharing";

export const dynamic = "force-dynamic";

/**
 * The events of a recorded run after the first page its page came with, one page at a time
 * (`?after=<seq>`), for its owner (cookie) or through the link that opened it (`?via=run:<id>`
 * or `?via=link:<id>`). A GET, not a server action: pages load in parallel with anything else the
 * page does, and never queue behind a run. With `Accept: text/event-stream` the same access
 * serves the run as Server-Sent Events, live while it runs and resumable with `Last-Event-ID`.
 */
export async function GET(request: Request, { params }: { params: Promise<{ runId: string }> }) {
  const { runId } = await params;
  if (wantsEventStream(request)) return runEventStream(request, runId);
  const url = new URL(request.url);
  const page = await runEventsPage({ runId, after: url.searchParams.get("after"), via: url.searchParams.get("via"), cookie: request.headers.get("cookie") });
  if (page.status !== "ok") return eventsRefusal(page);
  return Response.json({ ok: true, data: page.page }, { headers: { "cache-control": "no-store" } });
}
