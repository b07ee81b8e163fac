import { describe, expect, it } from "vitest";
import type { RunEvent } from "@/lib/workflow";
import { eventLines, postRun, RunRequestRefused } from "./run-request";

const event = (seq: number, text = "ok"): RunEvent => ({ seq, t: 0, type: "node-delta", nodeId: "n", text }) as RunEvent;

/** A body delivered as the given byte chunks. */
function body(chunks: Uint8Array[]) {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

async function all(stream: ReadableStream<Uint8Array>) {
  const events: RunEvent[] = [];
  for await (const e of eventLines(stream)) events.push(e);
  return events;
}

describe("eventLines", () => {
  it("splits events at line ends wherever the chunks break, inside a character too", async () => {
    const events = [event(0, "café ☕"), event(1, "line\nbreak"), event(2)];
    const bytes = new TextEncoder().encode(events.map((e) => `${JSON.stringify(e)}\n`).join(""));
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.slice(at, at + size));
      expect(await all(body(chunks).stream), `chunks of ${size}`).toEqual(events);
    }
  });

  it("says so when the stream stops in the middle of an event", async () => {
    const text = `${JSON.stringify(event(0))}\n{"seq":1,"ty`;
    await expect(all(body([new TextEncoder().encode(text)]).stream)).rejects.toThrow("ended in the middle of an event");
  });

  it("cancels the response when the consumer leaves early", async () => {
    const line = (seq: number) => new TextEncoder().encode(`${JSON.stringify(event(seq))}\n`);
    // More to come than the consumer reads: the response is still open when it leaves.
    const source = body([line(0), line(1), line(2), line(3)]);
    for await (const e of eventLines(source.stream)) if (e.seq === 0) break;
    expect(source.cancelled()).toBe(true);
  });
});

describe("postRun", () => {
  it("throws the server's message when it refuses the request", async () => {
    const refused = () => Promise.resolve(Response.json({ ok: false, error: { code: "too-large", message: "the run request is larger than 16,000,000 bytes, the limit" } }, { status: 413 }));
    await expect(postRun("/api/runs", {}, { fetch: refused })).rejects.toThrow(new RunRequestRefused(413, "The server refused the run (413): the run request is larger than 16,000,000 bytes, the limit."));
    const proxy = () => Promise.resolve(new Response("Bad gateway", { status: 502 }));
    await expect(postRun("/api/runs", {}, { fetch: proxy })).rejects.toThrow("The server refused the run (502): Bad gateway");
  });

  it("posts the request as JSON to the route and yields the events", async () => {
    let sent: { url: string; init?: RequestInit } | undefined;
    const answer = (url: RequestInfo | URL, init?: RequestInit) => {
      sent = { url: String(url), init };
      return Promise.resolve(new Response(`${JSON.stringify(event(0))}\n`, { headers: { "content-type": "application/x-ndjson" } }));
    };
    const events: RunEvent[] = [];
    for await (const e of await postRun("/api/runs/shared", { runId: "r", shareId: "s", inputs: {} }, { fetch: answer })) events.push(e);
    expect(events).toEqual([event(0)]);
    expect(sent?.url).toBe("/api/runs/shared");
    expect(JSON.parse(String(sent?.init?.body))).toEqual({ runId: "r", shareId: "s", inputs: {} });
  });
});
