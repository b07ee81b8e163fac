import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { postRun } from "@/lib/editor/run-request";
import type { RunEvent, WorkflowDocument } from "@/lib/workflow";

/**
 * Calls a production server's server actions over HTTP the way the browser does: a POST with the
 * action's id (read from the build's manifest) and its arguments, answered with a React Flight
 * stream that React's own Flight client decodes. Runs go through the run routes, as the browser's
 * do (lib/editor/run-request.ts). Used by the fault suite and by `npm run load`; nothing here is in the app.
 */

type FlightClient = {
  createFromNodeStream(stream: Readable, manifest: { moduleMap: object; serverModuleMap: null; moduleLoading: null }): PromiseLike<{ a: unknown }>;
};

type ManifestEntry = { filename: string; exportedName: string };

export type ActionName =
  | "saveWorkflowAction"
  | "cancelRunAction"
  | "listRunsAction"
  | "loadWorkflowAction"
  | "createShareAction"
  | "updateShareAction"
  | "shareRunAction";

export class ActionClient {
  private readonly ids = new Map<string, string>();
  private readonly flight: FlightClient;
  /**
   * `identity` is the browser's cookie (default: a new browser, as the app would set on first
   * use); the same one against a restarted server is the same browser coming back.
   */
  constructor(
    readonly baseUrl: string,
    appDir: string,
    /** The browser's `trellis_id` cookie value; the server's signed one once it has issued it. */
    public identity = randomBytes(24).toString("base64url"),
  ) {
    const manifest = JSON.parse(readFileSync(join(appDir, ".next", "server", "server-reference-manifest.json"), "utf8")) as { node: Record<string, ManifestEntry> };
    for (const [id, entry] of Object.entries(manifest.node)) {
      if (entry.filename === "app/editor/actions.ts" || entry.filename === "app/actions.ts") this.ids.set(entry.exportedName, id);
    }
    // The Flight client of the React that Next.js bundles: the one that speaks this server's protocol.
    this.flight = createRequire(join(appDir, "package.json"))("next/dist/compiled/react-server-dom-turbopack/client.node.js") as FlightClient;
  }

  private identified: Promise<void> | undefined;

  /**
   * Browser identities are signed by the server, which issues one on a browser's first change. An
   * action that sets a cookie also answers with the re-rendered page (which this client cannot
   * decode), so a new browser first makes a change the server refuses — a save of no document —
   * and keeps the cookie it is given.
   */
  private identify(): Promise<void> {
    if (this.identity.includes(".")) return Promise.resolve();
    this.identified ??= (async () => {
      const response = await fetch(`${this.baseUrl}/editor`, {
        method: "POST",
        headers: { "next-action": this.ids.get("saveWorkflowAction")!, accept: "text/x-component", "content-type": "text/plain;charset=UTF-8", origin: new URL(this.baseUrl).origin },
        body: JSON.stringify([{ document: null }]),
      });
      await response.body?.cancel();
      for (const cookie of response.headers.getSetCookie()) {
        const issued = /^trellis_id=([^;]+)/.exec(cookie);
        if (issued) this.identity = issued[1];
      }
      if (!this.identity.includes(".")) throw new Error(`the server issued no identity (${response.status})`);
    })();
    return this.identified;
  }

  /**
   * Calls an action; the answer is its decoded return value (for the run action, an async
   * iterable). `path` is the page it is posted from: an action is found through that page's
   * bundle (a shared link's run action from `/s/<id>`).
   */
  async call<T>(name: ActionName, args: unknown[], { signal, path = "/editor" }: { signal?: AbortSignal; path?: string } = {}): Promise<T> {
    const id = this.ids.get(name);
    if (!id) throw new Error(`no action ${name} in the build's manifest`);
    await this.identify();
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: "POST",
      // The Origin a browser sends (the server refuses state-changing requests from other origins).
      headers: { "next-action": id, accept: "text/x-component", "content-type": "text/plain;charset=UTF-8", origin: new URL(this.baseUrl).origin, cookie: `trellis_id=${this.identity}` },
      body: JSON.stringify(args),
      signal,
    });

    if (!response.ok || !response.body) throw new Error(`${name} answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
    const root = await this.flight.createFromNodeStream(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), { moduleMap: {}, serverModuleMap: null, moduleLoading: null });
    return (await root.a) as T;
  }

  /** Starts a run of `document` and yields its events as they arrive; `signal` leaves it (the browser closing its tab). */
  async *run(document: WorkflowDocument, { inputs = {}, runId = randomUUID(), signal, workflowId, baseVersion }: RunOptions = {}): AsyncGenerator<RunEvent> {
    yield* await this.postRun("/api/runs", { runId, document, inputs, workflowId, baseVersion }, signal);
  }

  /** A visitor's run from a shared link that allows runs. */
  async *runShared(shareId: string, { inputs = {}, runId = randomUUID(), signal }: RunOptions = {}): AsyncGenerator<RunEvent> {
    yield* await this.postRun("/api/runs/shared", { runId, shareId, inputs }, signal);
  }

  private async postRun(path: "/api/runs" | "/api/runs/shared", request: object, signal?: AbortSignal): Promise<AsyncIterable<RunEvent>> {
    await this.identify();
    const headers = { origin: new URL(this.baseUrl).origin, cookie: `trellis_id=${this.identity}` };
    return postRun(path, request, { signal, fetch: (url, init) => fetch(`${this.baseUrl}${String(url)}`, { ...init, headers: { ...init?.headers, ...headers } }) });
  }

  async save(document: WorkflowDocument, saved?: { id: string; version: number }): Promise<{ id: string; version: number }> {
    const result = await this.call<{ ok: true; data: { id: string; version: number } } | { ok: false; error: { code: string; message: string } }>("saveWorkflowAction", [
      { id: saved?.id, baseVersion: saved?.version, document },
    ]);
    if (!result.ok) throw new Error(`not saved: ${result.error.code}: ${result.error.message}`);
    return result.data;
  }

  async runsOf(workflowId: string): Promise<Array<{ id: string; status: string; ms: number | null }>> {
    const result = await this.call<{ ok: true; data: Array<{ id: string; status: string; ms: number | null }> } | { ok: false }>("listRunsAction", [workflowId]);
    if (!result.ok) throw new Error("no runs");
    return result.data;
  }

  /** A recorded run's events through the replay's events route (the owner's cookie). */
  async recordedEvents(runId: string): Promise<RunEvent[]> {
    const events: RunEvent[] = [];
    for (;;) {
      const response = await fetch(`${this.baseUrl}/api/runs/${runId}/events?after=${events.at(-1)?.seq ?? -1}`, { headers: { cookie: `trellis_id=${this.identity}` } });
      const page = (await response.json()) as { ok: true; data: { events: RunEvent[]; more: boolean } } | { ok: false; error: { code: string } };
      if (!page.ok) throw new Error(`events of ${runId}: ${page.error.code}`);
      events.push(...page.data.events);
      if (!page.data.more) return events;
    }
  }
}

export type RunOptions = { inputs?: Record<string, string>; runId?: string; signal?: AbortSignal; workflowId?: string; baseVersion?: number };
