import { runEventsPage } from "@/lib/server/sharing";

export const dynamic = "force-dynamic";

/**
 * The events of a recorded run after the first page its page came with, one page at a time
 * (`?after=<seq>`), for its owner (cookie) or through the link that opened it (`?via=run:<id>`
 * or `?via=link:<id>`). A GET, not a server action: pages load in parallel with anything else the
 * page does, and never queue behind a run.
 */
export async function GET(request: Request, { params }: { params: Promise<{ runId: string }> }) {
  const { runId } = await params;
  const url = new URL(request.url);
  const page = await runEventsPage({ runId, after: url.searchParams.get("after"), via: url.searchParams.get("via"), cookie: request.headers.get("cookie") });
  if (page.status === "unavailable") return Response.json({ ok: false, error: { code: "database-unavailable", message: page.message } }, { status: 503 });
  if (page.status !== "ok") return Response.json({ ok: false, error: { code: page.status, message: "this run does not exist or is not shared with you" } }, { status: page.status === "invalid" ? 400 : 404 });
  return Response.json({ ok: true, data: page.page }, { headers: { "cache-control": "no-store" } });
}
