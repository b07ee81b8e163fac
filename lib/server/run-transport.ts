import "server-only";
import { MAX_DOCUMENT_BYTES, type RunEvent } from "@/lib/workflow";
import { isSameOrigin } from "./auth/guard";
import { securityConfig } from "./config";

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
  return isSameOrigin(request.method, request.headers.get("origin"), host, securityConfig());
}

/** The JSON body of a refused run request: `{ ok: false, error: { code, message } }`. */
export type RunRequestRefusal = { status: number; code: string; message: string };

const refuse = ({ status, code, message }: RunRequestRefusal) => Response.json({ ok: false, error: { code, message } }, { status, headers: { "cache-control": "no-store" } });

export const CROSS_ORIGIN: RunRequestRefusal = { status: 403, code: "forbidden", message: "cross-origin request refused" };
export const TOO_LARGE: RunRequestRefusal = { status: 413, code: "too-large", message: `the run request is larger than ${RUN_REQUEST_BYTES.toLocaleString("en")} bytes, the limit` };

/** The request's text as JSON, or why it is not. */
export function parseRunRequest(text: string): { ok: true; body: unknown } | { ok: false; refusal: RunRequestRefusal } {
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, refusal: { status: 400, code: "invalid-request", message: `the run request is not JSON: ${error instanceof Error ? error.message : String(error)}` } };
  }
}

/**
 * The request's JSON body, or the response that refuses it: from another origin (proxy.ts refuses
 * it first; a route does not depend on that), larger than RUN_REQUEST_BYTES (read no further than
 * that), or not JSON.
 */
export async function readRunRequest(request: Request): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
  if (!fromThisOrigin(request)) {
    return { ok: false, response: refuse(CROSS_ORIGIN) };
  }
  const declared = Number(request.headers.get("content-length") ?? 0);
  const tooLarge = () => refuse(TOO_LARGE);
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
  const parsed = parseRunRequest(new TextDecoder().decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  return parsed.ok ? parsed : { ok: false, response: refuse(parsed.refusal) };
}

const encoder = new TextEncoder();

export const RUN_EVENTS_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": RUN_EVENTS_CONTENT_TYPE,
  "cache-control": "no-store, no-transform",
  "x-accel-buffering": "no",
});

/** Where a run's event lines go: a web stream (the route) or a Node.js response (the run listener). */
export type EventLineSink = { write(lines: string): void; close(): void; fail(error: unknown): void };

/**
 * Sends a run's events to `sink` as JSON lines. Events sent in the same turn of the event loop (a
 * node's end and the next one's start, a burst of merged deltas) go out as one write: one write to
 * the socket instead of one each. `leave()` (the browser left) stops the run at once: `return()` on
 * its iterator; nothing more is written.
 */
export function pumpEventLines(events: AsyncIterable<RunEvent>, sink: EventLineSink): { leave(): void; done: Promise<void> } {
  const iterator = events[Symbol.asyncIterator]();
  let left = false;
  let lines = "";
  let flushing: ReturnType<typeof setImmediate> | undefined;
  const flush = () => {
    flushing = undefined;
    if (left || !lines) return;
    sink.write(lines);
    lines = "";
  };
  const done = (async () => {
    try {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        lines += `${JSON.stringify(next.value)}\n`;
        flushing ??= setImmediate(flush);
      }
      if (flushing) clearImmediate(flushing);
      flush();
      if (!left) sink.close();
    } catch (error) {
      // The run services end every run with an event; a throw here is a bug, and the browser says the connection was lost.
      if (!left) sink.fail(error);
    }
  })();
  return {
    done,
    leave() {
      if (left) return;
      left = true;
      void iterator.return?.();
    },
  };
}

/**
 * A run's events as the response's body, one JSON line each (pumpEventLines). The browser leaving
 * (the response cancelled, or the request aborted) stops the run at once.
 */
export function runEventsResponse(events: AsyncIterable<RunEvent>, signal: AbortSignal): Response {
  let leave = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const pump = pumpEventLines(events, {
        write: (lines) => controller.enqueue(encoder.encode(lines)),
        close: () => controller.close(),
        fail: (error) => controller.error(error),
      });
      leave = () => pump.leave();
      signal.addEventListener("abort", leave, { once: true });
      void pump.done.finally(() => signal.removeEventListener("abort", leave));
    },
    cancel: () => leave(),
  });
  return new Response(body, { headers: RUN_EVENTS_HEADERS });
}
