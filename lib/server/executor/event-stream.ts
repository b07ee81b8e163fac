import "server-only";
import type { RunEvent } from "@/lib/workflow";
import { getDatabase } from "../db";
import { resumeFrom } from "../db/compact";
import { isDatabaseUnavailable } from "../db/errors";
import { getRunStatus } from "../db/queries";
import { runEventsPage, type EventsPageAnswer } from "../sharing";
import { runExecutor } from "./index";

/**
 * A run's events as Server-Sent Events (`GET /api/runs/<id>/events` with `Accept:
 * text/event-stream`), for API clients and reconnecting browsers. Access is the replay's: the
 * run's owner by cookie, or the run link or share link that opened it (`?via=`). Each event is
 * sent with `id: <seq>`, so `Last-Event-ID` (or `?after=<seq>` on a first request) resumes after it.
 *
 * - A run in progress in this process streams from its live log: everything after the resume
 *   point, then each event as it is sent, ending with `run-finished`. In cluster mode every run
 *   the cluster ran streams from its durable stream, in progress or ended: the events exactly as
 *   sent (the record keeps deltas merged, so a resume point inside a merged chunk would repeat text).
 * - Otherwise the record is sent page by page. A finished record ends with `run-finished`; a run
 *   that ended without one (interrupted, or its events expired) ends with a `run-ended` event
 *   carrying its status. A run still in progress in another process gets a `retry:` and the
 *   response ends, so the client reconnects with `Last-Event-ID` (in-process mode; sticky
 *   sessions make it live, cluster mode reads it from the durable stream).
 */

/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/** How soon a client reconnects to a run that is in progress in another process. */
const RECONNECT_MS = 1_000;

const encoder = new TextEncoder();

/** A request the events route refuses, as JSON: the same for a page and for a stream. */
export function eventsRefusal(answer: Exclude<EventsPageAnswer, { status: "ok" }>): Response {
  if (answer.status === "unavailable") return Response.json({ ok: false, error: { code: "database-unavailable", message: answer.message } }, { status: 503 });
  return Response.json({ ok: false, error: { code: answer.status, message: "this run does not exist or is not shared with you" } }, { status: answer.status === "invalid" ? 400 : 404 });
}

/** Whether the request asks for Server-Sent Events rather than a JSON page. */
export function wantsEventStream(request: Request): boolean {
  return (request.headers.get("accept") ?? "").includes("text/event-stream");
}

export async function runEventStream(request: Request, runId: string): Promise<Response> {
  const url = new URL(request.url);
  const access = { runId, via: url.searchParams.get("via"), cookie: request.headers.get("cookie") };
  const resumeAfter = request.headers.get("last-event-id") ?? url.searchParams.get("after");
  // Access (and the resume point) is checked before the response starts, so a refusal is a plain status.
  const first = await runEventsPage({ ...access, after: resumeAfter });
  if (first.status !== "ok") return eventsRefusal(first);

  const stop = new AbortController();
  request.signal.addEventListener("abort", () => stop.abort(), { once: true });
  let keepalive: ReturnType<typeof setInterval> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => {
        if (!stop.signal.aborted) controller.enqueue(encoder.encode(text));
      };
      keepalive = setInterval(() => write(": keep-alive\n\n"), KEEPALIVE_MS);
      let last = resumeAfter === null ? -1 : Number(resumeAfter);
      let finished = false;
      const send = (event: RunEvent) => {
        write(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`);
        last = event.seq;
        finished ||= event.type === "run-finished";
      };
      const pump = async () => {
        const live = await runExecutor().follow(runId, last, stop.signal);
        if (live) {
          for await (const event of live) send(event);
          // Ended without run-finished (stopped outside the engine): the record says how.
          if (finished || stop.signal.aborted) return;
        }
        // The status first, then the record: a run that was over by then has all of it recorded.
        const status = await getRunStatus((await getDatabase()).db, { runId });
        for (;;) {
          // Read afresh: the run may have moved on while this request was admitted or looked for it live.
          const page = await runEventsPage({ ...access, after: String(last) });
          if (page.status !== "ok") return;
          for (const recorded of page.page.events) {
            // A chunk the recorder merged may hold deltas this client already saw live.
            const event = resumeFrom(recorded, last);
            if (event) send(event);
          }
          if (finished || !page.page.more) break;
        }
        if (finished) return;
        if (status === "running") write(`retry: ${RECONNECT_MS}\n: in progress in another process\n\n`);
        else write(`event: run-ended\ndata: ${JSON.stringify({ status })}\n\n`);
      };
      void pump()
        .catch((error: unknown) => {
          if (!isDatabaseUnavailable(error)) console.error("run event stream failed:", error);
          // The client reconnects with the last id it received.
          write(`retry: ${RECONNECT_MS}\n\n`);
        })
        .finally(() => {
          clearInterval(keepalive);
          if (!stop.signal.aborted) controller.close();
          stop.abort();
        });
    },
    cancel() {
      clearInterval(keepalive);
      stop.abort();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store, no-transform", "x-accel-buffering": "no" },
  });
}
