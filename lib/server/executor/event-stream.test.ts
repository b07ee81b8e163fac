import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { resumeFrom } from "../db/compact";
import { GET } from "@/app/api/runs/[runId]/events/route";
import { findTemplate, parseDocument, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import { closeDatabase, getDatabase } from "../db";
import type { Db } from "../db/connect";
import * as q from "../db/queries";
import { browserIdentityCookie } from "../identity";
import { createModels } from "../models";
import { startRun, type RunContext } from "../runs";
import { tempDir } from "@/testing/temp-dirs";

/** `GET /api/runs/<id>/events` as Server-Sent Events: access, a finished run from its record, a live run of this process, resuming with Last-Event-ID. */

function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

type Received = { events: RunEvent[]; ids: number[]; retry: boolean; ended: unknown };

/** Reads an SSE body to its end, the way EventSource parses it (one blank line ends a message). */
async function readStream(response: Response, onEvent?: (event: RunEvent) => void): Promise<Received> {
  const received: Received = { events: [], ids: [], retry: false, ended: null };
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = response.body!.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffer += decoder.decode(chunk.value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const field = (name: string) => message.split("\n").find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
      if (field("retry")) received.retry = true;
      const data = field("data");
      if (!data) continue;
      if (field("event") === "run-ended") received.ended = JSON.parse(data);
      else {
        const event = JSON.parse(data) as RunEvent;
        received.events.push(event);
        received.ids.push(Number(field("id")));
        onEvent?.(event);
      }
    }
  }
  return received;
}

const request = (runId: string, { owner, lastEventId, via }: { owner?: string; lastEventId?: number; via?: string } = {}) =>
  (async () => {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (owner) headers.cookie = await browserIdentityCookie(owner);
    if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId);
    const url = `http://127.0.0.1:3000/api/runs/${runId}/events${via ? `?via=${encodeURIComponent(via)}` : ""}`;
    return GET(new Request(url, { headers }), { params: Promise.resolve({ runId }) });
  })();

async function collect(events: AsyncIterable<RunEvent>, onEvent?: (event: RunEvent) => Promise<void> | void): Promise<RunEvent[]> {
  const seen: RunEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    await onEvent?.(event);
  }
  return seen;
}

const newId = () => globalThis.crypto.randomUUID();
let db: Db;
let owners = 0;
const context = (): RunContext => ({ owner: `follower-${Date.now()}-${owners++}-abcdefghijklmnopqrstuvwxyz`, db, processId: "test" });

beforeAll(async () => {
  vi.stubEnv("TRELLIS_DEMO_FIRST_TOKEN_MS", "20");
  vi.stubEnv("TRELLIS_DEMO_CHUNK_MS", "2");
  // The route opens the process's database; browser identities are signed with a key it keeps.
  vi.stubEnv("TRELLIS_DATA_DIR", join(tempDir("trellis-sse-"), "pglite"));
  db = (await getDatabase()).db;
}, 30_000);
afterAll(async () => closeDatabase());

describe("run events as Server-Sent Events", () => {
  it("serves a finished run from its record to its owner, each event with its seq as id, and resumes after Last-Event-ID", async () => {
    const ctx = context();
    const runId = newId();
    await collect(startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "kites" } }, ctx));
    const recorded = (await q.getRunEvents(db, { owner: ctx.owner, runId }))!;
    const response = await request(runId, { owner: ctx.owner });
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const all = await readStream(response);
    // Sent as recorded, less the recorder's bookkeeping of what each chunk merged.
    const plain = recorded.map((event) => resumeFrom(event, -1)!);
    expect(all.events).toEqual(plain);
    expect(all.ids).toEqual(recorded.map((event) => event.seq));
    expect(all.events.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded" });
    const cut = recorded[Math.floor(recorded.length / 2)].seq;
    const rest = await readStream(await request(runId, { owner: ctx.owner, lastEventId: cut }));
    expect(rest.events).toEqual(plain.filter((event) => event.seq > cut));
  });

  it("resumes from inside a chunk the recorder merged: a client that saw part of it live gets only the rest, so every text arrives exactly once", async () => {
    // Every delta live (no coalescing), so the recorder's 50 ms chunks merge several of them.
    const ctx = { ...context(), models: { ...createModels(), coalesceMs: 0 } };
    const runId = newId();
    const live = await collect(startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "kites" } }, ctx));
    const recorded = (await q.getRunEvents(db, { owner: ctx.owner, runId }))!;
    const merged = recorded.find((event) => event.type === "node-delta" && event.parts?.length);
    if (merged?.type !== "node-delta" || !merged.parts) throw new Error("the recorder merged no deltas in this run");
    const textOf = (events: RunEvent[], nodeId: string) => events.map((e) => (e.type === "node-delta" && e.nodeId === nodeId ? (e.text ?? "") : "")).join("");
    // Every place inside the chunk the live stream could have dropped at.
    for (const [cut] of merged.parts) {
      const rest = await readStream(await request(runId, { owner: ctx.owner, lastEventId: cut }));
      const seen = live.filter((event) => event.seq <= cut);
      for (const nodeId of ["n_joke", "n_improve", "n_polish"]) expect(textOf([...seen, ...rest.events], nodeId)).toBe(textOf(live, nodeId));
      expect(rest.events.some((event) => "parts" in event)).toBe(false);
    }
  });

  it("refuses anyone but the owner or a link that opens the run, with a 404 that confirms nothing", async () => {
    const ctx = context();
    const runId = newId();
    await collect(startRun({ runId, document: template("routing"), inputs: { input: "refund" } }, ctx));
    expect((await request(runId, { owner: "someone-else-abcdefghijklmnopqrstuvwxyz" })).status).toBe(404);
    expect((await request(runId)).status).toBe(404);
    expect((await request(newId(), { owner: ctx.owner })).status).toBe(404);
    expect((await request("not-a-run", { owner: ctx.owner })).status).toBe(400);
    expect((await request(runId, { owner: ctx.owner, lastEventId: -7 })).status).toBe(400);
    expect((await request(runId, { via: "run:AAAAAAAAAAAAAAAAAAAAAA" })).status).toBe(404);
    // Its run link opens it for anyone, without a cookie.
    const link = await q.shareRun(db, { owner: ctx.owner, runId });
    const shared = await readStream(await request(runId, { via: `run:${link!.id}` }));
    expect(shared.events).toEqual((await q.getRunEvents(db, { owner: ctx.owner, runId }))!.map((event) => resumeFrom(event, -1)));
  });

  it("streams a run in progress in this process from where the follower resumes: the rest of the run exactly once, as the runner saw it", async () => {
    const ctx = context();
    const runId = newId();
    let follower: Promise<Received> | undefined;
    let resumeAfter = -1;
    let runnerDone = false;
    let liveBeforeEnd = false;
    const runner = await collect(startRun({ runId, document: template("prompt-chaining"), inputs: { topic: "a kite" } }, ctx), (event) => {
      // A browser that dropped after this delta reconnects while the run still streams.
      if (!follower && event.type === "node-delta") {
        resumeAfter = event.seq;
        follower = request(runId, { owner: ctx.owner, lastEventId: resumeAfter }).then((response) => readStream(response, () => (liveBeforeEnd ||= !runnerDone)));
      }
    });
    runnerDone = true;
    const followed = await follower!;
    // Live, not read back from the record afterwards.
    expect(liveBeforeEnd).toBe(true);
    expect(followed.events.length).toBeGreaterThan(3);
    expect(followed.events).toEqual(runner.filter((event) => event.seq > resumeAfter));
    expect(followed.ids).toEqual(followed.events.map((event) => event.seq));
  });

  it("tells a client to reconnect to a run in progress in another process, and ends one that stopped without finishing", async () => {
    const ctx = context();
    const runId = newId();
    await q.createRun(db, { id: runId, owner: ctx.owner, document: template("routing"), inputs: {}, processId: "another-process" });
    await q.appendRunEvents(db, { runId, events: [{ seq: 0, t: 0, type: "run-started", runId, workflow: "Routing", inputs: {} }] });
    const elsewhere = await readStream(await request(runId, { owner: ctx.owner }));
    expect(elsewhere).toMatchObject({ ids: [0], retry: true, ended: null });
    // That process is gone: its run is marked interrupted, and the stream says so instead of asking again.
    await q.markInterruptedRuns(db, { processId: "this-process" });
    const interrupted = await readStream(await request(runId, { owner: ctx.owner, lastEventId: 0 }));
    expect(interrupted).toMatchObject({ events: [], retry: false, ended: { status: "interrupted" } });
  });
});
