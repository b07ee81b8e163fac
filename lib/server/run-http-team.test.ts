import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eventLines } from "@/lib/editor/run-request";
import { findTemplate, type RunEvent } from "@/lib/workflow";
import { tempDir } from "@/testing/temp-dirs";

/** The run listener in team mode: no session, no run; the public origin is the only Host and Origin. */

vi.stubEnv("TRELLIS_DATA_DIR", join(tempDir("trellis-run-http-team-"), "pglite"));
vi.stubEnv("DATABASE_URL", "");
vi.stubEnv("TRELLIS_MODE", "team");
vi.stubEnv("TRELLIS_AUTH_SECRET", "run-http-team-test-secret-0123456789abcdef");
vi.stubEnv("TRELLIS_ORIGIN", "https://trellis.example.com");

const { runRouteOf, serveRunRequest } = await import("./run-http");
const { closeDatabase } = await import("./db");

let server: Server;
let port: number;
const ORIGIN = "https://trellis.example.com";

beforeAll(async () => {
  server = createServer((request, response) => void serveRunRequest(request, response, runRouteOf(request.method, request.url)!));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await closeDatabase();
});

/** A request as the public origin's proxy forwards it: Host is the public host. */
function post(path: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port, path, method: "POST", headers: { host: "trellis.example.com", origin: ORIGIN, "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, text }));
    });
    request.on("error", reject);
    request.end(body);
  });
}

async function lines(text: string): Promise<RunEvent[]> {
  const all: RunEvent[] = [];
  for await (const event of eventLines(new Response(text).body!)) all.push(event);
  return all;
}

describe("the run listener in team mode", () => {
  it("refuses an editor run without a session as sign-in-required, issuing no identity", async () => {
    const answer = await post("/api/runs", JSON.stringify({ runId: crypto.randomUUID(), document: findTemplate("routing")!.json, inputs: {} }));
    expect(answer.status).toBe(200);
    expect(answer.headers["set-cookie"]).toBeUndefined();
    const events = await lines(answer.text);
    expect(events.at(-1)).toMatchObject({ type: "run-finished", status: "failed", error: { code: "sign-in-required" } });
  });

  it("gives a visitor of a shared link without a session a browser identity", async () => {
    const answer = await post("/api/runs/shared", JSON.stringify({ runId: crypto.randomUUID(), shareId: "no-such-link", inputs: {} }));
    expect(answer.headers["set-cookie"]).toEqual([expect.stringMatching(/^trellis_id=[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=31536000; HttpOnly; SameSite=Lax; Secure$/)]);
    expect((await lines(answer.text)).at(-1)).toMatchObject({ status: "failed", error: { code: "not-shared" } });
  });

  it("answers only to the public origin's host and origin", async () => {
    const wrongHost = await post("/api/runs", "{}", { host: "127.0.0.1" });
    expect(wrongHost.status).toBe(421);
    expect(wrongHost.text).toBe("This server answers only to its public origin (TRELLIS_ORIGIN).");
    const wrongOrigin = await post("/api/runs", "{}", { origin: "http://127.0.0.1" });
    expect(wrongOrigin.status).toBe(403);
  });
});
