import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eventLines } from "@/lib/editor/run-request";
import { findTemplate, parseDocument, withModel, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import { tempDir } from "@/testing/temp-dirs";

/**
 * The run listener (scripts/serve.ts's run routes) on a real Node.js server and a real PGlite
 * database: the same guards as proxy.ts and the route handlers, the run streamed as lines and
 * recorded under the browser identity it issues, and leaving stops the run.
 */

vi.stubEnv("TRELLIS_DATA_DIR", join(tempDir("trellis-run-http-"), "pglite"));
vi.stubEnv("DATABASE_URL", "");
vi.stubEnv("TRELLIS_MODE", "local");
// A demo model slow enough to leave mid-run.
vi.stubEnv("TRELLIS_DEMO_FIRST_TOKEN_MS", "50");
vi.stubEnv("TRELLIS_DEMO_CHUNK_MS", "40");

const { runRouteOf, serveRunRequest } = await import("./run-http");
const { RUN_REQUEST_BYTES } = await import("./run-transport");
const { closeDatabase, getDatabase } = await import("./db");
const { getRun } = await import("./db/queries");

let server: Server;
let base: string;
let host: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const route = runRouteOf(request.method, request.url);
    if (!route) return void response.writeHead(404).end("not a run route");
    void serveRunRequest(request, response, route);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  base = `http://${host}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await closeDatabase();
});

function template(id: string, model: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error(`template ${id} does not parse`);
  return withModel(parsed.document, model);
}

const runBody = (document: WorkflowDocument, runId = crypto.randomUUID()) => JSON.stringify({ runId, document, inputs: {} });

function post(path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, { method: "POST", body, headers: { "content-type": "application/json", origin: base, ...headers } });
}

async function events(response: Response): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of eventLines(response.body!)) all.push(event);
  return all;
}

/** The owner a browser identity cookie names: `trellis_id=<id>.<signature>`. */
const ownerOf = (setCookie: string) => /^trellis_id=([A-Za-z0-9_-]+)\./.exec(setCookie)?.[1];

/** A raw request, for what fetch will not send: a Host header of our choosing, a declared length it does not send. */
function raw(options: { headers: Record<string, string | number>; body?: Buffer; end?: boolean }): Promise<{ response: IncomingMessage; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${base}/api/runs`, { method: "POST", headers: options.headers }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk));
      response.on("end", () => resolve({ response, text }));
    });
    request.on("error", reject);
    if (options.body) request.write(options.body);
    if (options.end !== false) request.end();
  });
}

describe("runRouteOf", () => {
  it("takes the two run routes' POSTs, and leaves everything else to Next.js", () => {
    expect(runRouteOf("POST", "/api/runs")).toBe("editor");
    expect(runRouteOf("POST", "/api/runs?x=1")).toBe("editor");
    expect(runRouteOf("POST", "/api/runs/shared")).toBe("shared");
    expect(runRouteOf("GET", "/api/runs")).toBeNull();
    expect(runRouteOf("POST", "/api/runs/abc/cancel")).toBeNull();
    expect(runRouteOf("POST", "/api/runsx")).toBeNull();
    expect(runRouteOf("POST", "/")).toBeNull();
  });
});

describe("the run listener", () => {
  it("streams a run as lines with the security headers, issues a browser identity and records the run under it", async () => {
    const runId = crypto.randomUUID();
    const response = await post("/api/runs", runBody(template("parallelization", "demo:fast"), runId));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    const cookie = response.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^trellis_id=[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax$/);
    const all = await events(response);
    expect(all[0]).toMatchObject({ type: "run-started", runId });
    expect(all.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    expect(all.map((event) => event.seq)).toEqual(all.map((_, index) => index));

    const owner = ownerOf(cookie)!;
    const { db } = await getDatabase();
    expect(await getRun(db, { owner, runId })).toMatchObject({ status: "succeeded", source: "editor" });

    // The same browser again: its identity is kept, no new cookie.
    const again = crypto.randomUUID();
    const second = await post("/api/runs", runBody(template("parallelization", "demo:fast"), again), { cookie: cookie.split(";")[0] });
    expect(second.headers.get("set-cookie")).toBeNull();
    expect((await events(second)).at(-1)).toMatchObject({ status: "succeeded" });
    expect(await getRun(db, { owner, runId: again })).toMatchObject({ status: "succeeded" });
  });

  it("does not take a forged identity cookie: the run gets a new identity", async () => {
    const forged = `trellis_id=${"a".repeat(32)}.${"b".repeat(43)}`;
    const response = await post("/api/runs", runBody(template("parallelization", "demo:fast")), { cookie: forged });
    const issued = response.headers.get("set-cookie");
    expect(issued).toMatch(/^trellis_id=/);
    expect(ownerOf(issued!)).not.toBe("a".repeat(32));
    await events(response);
  });

  it("refuses another origin, or none, as proxy.ts does, and records nothing", async () => {
    const runId = crypto.randomUUID();
    const response = await post("/api/runs", runBody(template("parallelization", "demo:fast"), runId), { origin: "http://evil.example" });
    expect(response.status).toBe(403);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await response.json()).toEqual({ ok: false, error: { code: "forbidden", message: "cross-origin request refused" } });

    const body = Buffer.from(runBody(template("parallelization", "demo:fast"), runId));
    const withoutOrigin = await raw({ headers: { host, "content-type": "application/json", "content-length": body.byteLength }, body });
    expect(withoutOrigin.response.statusCode).toBe(403);

    const { db } = await getDatabase();
    const { runs } = await import("./db/schema");
    const { eq } = await import("drizzle-orm");
    expect(await db.select().from(runs).where(eq(runs.id, runId))).toEqual([]);
  });

  it("refuses a Host it does not answer to (DNS rebinding) with 421", async () => {
    const body = Buffer.from("{}");
    const answer = await raw({ headers: { host: "attacker.example", origin: "http://attacker.example", "content-length": body.byteLength }, body });
    expect(answer.response.statusCode).toBe(421);
    expect(answer.text).toBe("This server answers only to loopback names (localhost, 127.0.0.1).");
  });

  it("refuses a body that is not JSON, and says why", async () => {
    const response = await post("/api/runs", "{runId:");
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(/^the run request is not JSON: /);
  });

  it("refuses a declared length over the limit, and the client still sending it reads the 413", async () => {
    // The body is read to its end and dropped: closing mid-upload would leave the client a broken pipe.
    const total = RUN_REQUEST_BYTES + (4 << 20);
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const answer = await new Promise<{ status: number; connection: unknown; text: string }>((resolve, reject) => {
      const request = httpRequest(`${base}/api/runs`, { method: "POST", headers: { host, origin: base, "content-type": "application/json", "content-length": total } }, (response) => {
        let text = "";
        response.on("data", (data: Buffer) => (text += data));
        response.on("end", () => resolve({ status: response.statusCode!, connection: response.headers.connection, text }));
      });
      request.on("error", reject);
      // Sent a megabyte at a time, each after the last has gone: a client slower than the server's answer.
      let sent = 0;
      const write = () => {
        if (sent >= total) return void request.end();
        const part = chunk.subarray(0, Math.min(chunk.byteLength, total - sent));
        sent += part.byteLength;
        request.write(part, () => setImmediate(write));
      };
      write();
    });
    expect(answer.status).toBe(413);
    expect(answer.connection).toBe("close");
    expect(JSON.parse(answer.text)).toMatchObject({ ok: false, error: { code: "too-large" } });
  });

  it("answers a declared length past what is worth reading at once, without reading it", async () => {
    const answer = await raw({ headers: { host, origin: base, "content-type": "application/json", "content-length": 3 * RUN_REQUEST_BYTES }, body: Buffer.from("{"), end: false });
    expect(answer.response.statusCode).toBe(413);
    expect(answer.response.headers.connection).toBe("close");
  });

  it("refuses a body that grows past the limit as it streams in", async () => {
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = httpRequest(`${base}/api/runs`, { method: "POST", headers: { origin: base, "content-type": "application/json", "transfer-encoding": "chunked" } }, (response) => {
        let text = "";
        response.on("data", (data: Buffer) => (text += data));
        response.on("end", () => resolve({ status: response.statusCode!, text }));
      });
      // The server may close the connection while more is being sent: only its answer counts.
      request.on("error", () => undefined);
      let sent = 0;
      const write = () => {
        while (sent <= RUN_REQUEST_BYTES + chunk.byteLength) {
          sent += chunk.byteLength;
          if (!request.write(chunk)) return void request.once("drain", write);
        }
        request.end();
      };
      write();
      setTimeout(() => reject(new Error("no answer")), 15_000).unref();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text).error.message).toContain("larger than");
  });

  it("stops the run when the browser leaves mid-stream", async () => {
    const runId = crypto.randomUUID();
    const response = await post("/api/runs", runBody(template("orchestrator-worker", "demo:default"), runId));
    const cookie = response.headers.get("set-cookie")!;
    const reader = eventLines(response.body!)[Symbol.asyncIterator]();
    // Until a model streams: the run is under way.
    for (let next = await reader.next(); !next.done && next.value.type !== "node-delta"; next = await reader.next());
    // Cancelling the body closes the connection.
    await reader.return?.(undefined);

    const { db } = await getDatabase();
    const owner = ownerOf(cookie)!;
    await vi.waitFor(async () => expect((await getRun(db, { owner, runId }))?.status).toBe("cancelled"), { timeout: 10_000, interval: 50 });
  });
});
