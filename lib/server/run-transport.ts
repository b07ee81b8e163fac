import "server-only";
import { MAX_DOCUMENT_BYTES, type RunEvent } from "@/lib/workflow";
import { isSameOrigin } from "./auth/guard";
import { readServerConfig } from "./config";

/**
 * The transport of a run started from a page (`POST /api/runs`, `POST /api/runs/shared`): a JSON
 * request, answered with the run's events as newline-delimited JSON, one event per line, as the
 * run sends them.
 *
 * A route handler rather than a server action: an action's answer goes through React's stream
 * serialiser and Next.js's action handling, which cost about 5 ms of server CPU per run before the
 * first event (a route costs about 1.5), and then more per event.
 */

/** As a server action's body limit (next.config.js): a document of MAX_DOCUMENT_BYTES characters, up to 3 bytes each in UTF-8, and its inputs. */
export const RUN_REQUEST_BYTES = 3 * MAX_DOCUMENT_BYTES + 1_000_000;

const RUN_EVENTS_CONTENT_TYPE = "application/x-ndjson; charset=utf-8";

/** Whether a state-changing request comes from this server's own pages (proxy.ts checks it first; a route does not depend on that). */
export function fromThisOrigin(request: Request): boolean {
  const host = request.headers.get("host") ?? new URL(request.url).host;
  return isSameOrigin(request.method, request.headers.get("origin"), host, readServerConfig().security);
}

const refuse = (status: number, code: string, message: string) => Response.json({ ok: false, error: { code, message } }, { status, headers: { "cache-control": "no-store" } });

/**
 * The request's JSON body, or the response that refuses it: from another origin (proxy.ts refuses
 * it first; a route does not depend on that), larger than RUN_REQUEST_BYTES (read no further than
 * that), or not JSON.
 */
export async function readRunRequest(request: Request): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
  if (!fromThisOrigin(request)) {
    return { ok: false, response: refuse(403, "forbidden", "cross-origin request refused") };
  }
  const declared = Number(request.headers.get("content-length") ?? 0);
  const tooLarge = () => refuse(413, "too-large", `the run request is larger than ${RUN_REQUEST_BYTES.toLocaleString("en")} bytes, the limit`);
  if (declared > RUN_REQUEST_BYTES) return { ok: false, response: tooLarge() };
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > RUN_REQUEST_BYTES) {
        await reader.cancel().catch(() => undefined);
        return { ok: false, response: tooLarge() };
      }
      chunks.push(value);
    }
  }
  const text = new TextDecoder().decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, response: refuse(400, "invalid-request", `the run request is not JSON: ${error instanceof Error ? error.message : String(error)}`) };
  }
}

const encoder = new TextEncoder();

/**
 * A run's events as the response's body, one JSON line each. Events sent in the same turn of the
 * event loop (a node's end and the next one's start, a burst of merged deltas) go out as one chunk:
 * one write to the socket instead of one each. The browser leaving (the response cancelled, or the
 * request aborted) stops the run at once: `return()` on its iterator.
 */
export function runEventsResponse(events: AsyncIterable<RunEvent>, signal: AbortSignal): Response {
  const iterator = events[Symbol.asyncIterator]();
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    void iterator.return?.();
  };
  signal.addEventListener("abort", leave, { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let lines = "";
      let flushing: ReturnType<typeof setImmediate> | undefined;
      const flush = () => {
        flushing = undefined;
        if (left || !lines) return;
        controller.enqueue(encoder.encode(lines));
        lines = "";
      };
      void (async () => {
        try {
          for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
            lines += `${JSON.stringify(next.value)}\n`;
            flushing ??= setImmediate(flush);
          }
          if (flushing) clearImmediate(flushing);
          flush();
          if (!left) controller.close();
        } catch (error) {
          // The run services end every run with an event; a throw here is a bug, and the browser says the connection was lost.
          if (!left) controller.error(error);
        } finally {
          signal.removeEventListener("abort", leave);
        }
      })();
    },
    cancel: leave,
  });
  return new Response(body, { headers: { "content-type": RUN_EVENTS_CONTENT_TYPE, "cache-control": "no-store, no-transform", "x-accel-buffering": "no" } });
}
