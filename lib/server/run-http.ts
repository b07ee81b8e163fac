import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isAllowedHost, isSameOrigin, misdirectedMessage, SECURITY_HEADERS } from "./auth/guard";
import { requestRunContext } from "./auth/run-context";
import { securityConfig } from "./config";
import { RunRefused, startRun, startSharedRun } from "./runs";
import { CROSS_ORIGIN, parseRunRequest, pumpEventLines, RUN_EVENTS_HEADERS, RUN_REQUEST_BYTES, type RunRequestRefusal, TOO_LARGE } from "./run-transport";

/**
 * The run listener: the production server (`scripts/serve.ts`) answers the two run routes itself,
 * on Node.js's own request and response, and passes every other request to Next.js. A run then
 * costs the server about a third less CPU, and a burst of starts reaches its first events in less
 * than half the time (issue 12; docs/architecture.md §Transport): Next.js's routing, its web
 * Request and Response around the handler, and its piping of the body stream are most of what a
 * short run costs.
 *
 * It answers exactly as the route handlers in `app/api/runs/` do (they still serve `next dev` and
 * `next start`), and it checks first what proxy.ts checks for them: the Host (DNS rebinding) and
 * the Origin (CSRF), with the same refusals and security headers.
 */

export type RunRoute = "editor" | "shared";

const ROUTES: Readonly<Record<string, RunRoute>> = { "/api/runs": "editor", "/api/runs/shared": "shared" };

/** The run route a request is for, or null for anything Next.js answers (only a POST is a run). */
export function runRouteOf(method: string | undefined, url: string | undefined): RunRoute | null {
  if (method !== "POST" || !url) return null;
  const query = url.indexOf("?");
  return ROUTES[query < 0 ? url : url.slice(0, query)] ?? null;
}

function plain(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  response.end(message);
}

function refuse(response: ServerResponse, { status, code, message }: RunRequestRefusal): void {
  response.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify({ ok: false, error: { code, message } }));
}

/** The request's headers as a Headers object (for the identity: cookies, sessions, forwarded address). */
function headersOf(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") headers.set(name, value);
    else if (Array.isArray(value)) for (const each of value) headers.append(name, each);
  }
  // As Next.js does: the socket's address when the client sent no X-Forwarded-For (lib/server/auth/address.ts).
  if (!headers.has("x-forwarded-for") && request.socket.remoteAddress) headers.set("x-forwarded-for", request.socket.remoteAddress);
  return headers;
}

/**
 * How much of a body over the limit is read (and dropped) so that the client, still sending, can
 * read the 413: a server that closes the connection mid-upload leaves it with a broken pipe
 * instead. Past this the connection is closed at once.
 */
const DRAIN_BYTES = 2 * RUN_REQUEST_BYTES;

type Body = { text: string } | { tooLarge: true; drained: boolean };

/**
 * The body, up to RUN_REQUEST_BYTES. A larger one is not kept: it is read to its end and dropped,
 * up to DRAIN_BYTES. A declared length past that is not read at all; a body that streams past it
 * stops being read, which closes the connection.
 */
function readBody(request: IncomingMessage): Promise<Body> {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > DRAIN_BYTES) return Promise.resolve({ tooLarge: true, drained: false });
  // Read through the stream's events: an async iterator over it sets up end-of-stream tracking
  // for each request and makes promises for each chunk, which async hooks then pay for. The
  // listeners are anonymous and stay on the request, holding nothing once settled: under tsx, each
  // named closure costs a defineProperty of its name, a request.
  return new Promise<Body>((resolve, reject) => {
    let tooLarge = declared > RUN_REQUEST_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    request
      .on("data", (chunk: Buffer) => {
        if (settled) return;
        size += chunk.byteLength;
        if (size > DRAIN_BYTES) {
          settled = true;
          chunks.length = 0;
          request.destroy();
          return resolve({ tooLarge: true, drained: false });
        }
        if (size > RUN_REQUEST_BYTES) tooLarge = true;
        if (!tooLarge) chunks.push(chunk);
      })
      .on("end", () => {
        if (settled) return;
        settled = true;
        const text = tooLarge ? undefined : (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString("utf8");
        // The listeners outlive the read (the request lives as long as the run): they keep no body.
        chunks.length = 0;
        resolve(text === undefined ? { tooLarge: true, drained: true } : { text });
      })
      .on("error", (error: Error) => {
        settled = true;
        chunks.length = 0;
        reject(error);
      })
      // Closed before its end: the client went away while sending.
      .on("close", () => {
        if (settled) return;
        settled = true;
        chunks.length = 0;
        reject(new Error("the request closed before its body ended"));
      });
  });
}

/** Answers a run request (`route` from runRouteOf): the run's events as newline-delimited JSON, or why the request is refused. */
export async function serveRunRequest(request: IncomingMessage, response: ServerResponse, route: RunRoute): Promise<void> {
  const security = securityConfig();
  const host = request.headers.host ?? null;
  if (!isAllowedHost(host, security)) {
    return plain(response, 421, misdirectedMessage(security));
  }
  const origin = request.headers.origin ?? null;
  if (!isSameOrigin("POST", origin, host, security)) return refuse(response, CROSS_ORIGIN);

  // A client that aborts while sending: nothing to answer.
  const body = await readBody(request).catch(() => undefined);
  if (body === undefined) return void response.destroy();
  if ("tooLarge" in body) {
    response.shouldKeepAlive = false;
    refuse(response, TOO_LARGE);
    // Still sending more than is worth reading: the answer goes out, then the connection closes.
    if (!body.drained) response.once("finish", () => request.destroy());
    return;
  }
  const parsed = parseRunRequest(body.text);
  if (!parsed.ok) return refuse(response, parsed.refusal);

  const shared = route === "shared";
  const identified = await requestRunContext(headersOf(request), { shared }).catch((error: unknown) => ({ context: new RunRefused(error), setCookie: undefined }));
  const events = shared ? startSharedRun(parsed.body, identified.context) : startRun(parsed.body, identified.context);
  response.writeHead(200, { ...SECURITY_HEADERS, ...RUN_EVENTS_HEADERS, ...(identified.setCookie ? { "set-cookie": identified.setCookie } : {}) });
  const pump = pumpEventLines(events, {
    write: (lines) => void response.write(lines),
    close: () => response.end(),
    fail: () => response.destroy(),
  });
  // The browser left (closed the connection, or aborted the request) before the run ended: stop it.
  response.once("close", () => {
    if (!response.writableFinished) pump.leave();
  });
  await pump.done;
}
