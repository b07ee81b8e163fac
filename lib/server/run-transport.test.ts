import { describe, expect, it } from "vitest";
import { eventLines } from "@/lib/editor/run-request";
import { EventChannel } from "@/lib/workflow/engine/channel";
import type { RunEvent } from "@/lib/workflow";
import { readRunRequest, RUN_REQUEST_BYTES, runEventsResponse } from "./run-transport";

const ORIGIN = "http://127.0.0.1:3000";

function post(body: BodyInit | null, headers: Record<string, string> = {}): Request {
  return new Request(`${ORIGIN}/api/runs`, { method: "POST", body, headers: { host: "127.0.0.1:3000", origin: ORIGIN, ...headers }, duplex: "half" } as RequestInit);
}

/** A body of `total` bytes in chunks, counting how many of them were read. */
function streamedBody(total: number, chunk = 1 << 20) {
  const read = { bytes: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (read.bytes >= total) return controller.close();
      const size = Math.min(chunk, total - read.bytes);
      read.bytes += size;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
  return { stream, read };
}

const started = (seq: number): RunEvent => ({ seq, t: 0, type: "run-started", runId: "r", workflow: "w", inputs: {} });

describe("readRunRequest", () => {
  it("reads a JSON body", async () => {
    const read = await readRunRequest(post(JSON.stringify({ runId: "x", inputs: { topic: "é" } })));
    expect(read).toEqual({ ok: true, body: { runId: "x", inputs: { topic: "é" } } });
  });

  it("refuses another origin before reading anything", async () => {
    const read = await readRunRequest(post("{}", { origin: "http://evil.example" }));
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.response.status).toBe(403);
    expect(await read.response.json()).toMatchObject({ error: { code: "forbidden" } });
  });

  it("refuses a body that is not JSON, and says why", async () => {
    const read = await readRunRequest(post("{runId:"));
    if (read.ok) throw new Error("accepted");
    expect(read.response.status).toBe(400);
    expect((await read.response.json()).error.message).toMatch(/^the run request is not JSON: /);
  });

  it("refuses a body over the limit as it streams in, and reads no further", async () => {
    const { stream, read } = streamedBody(RUN_REQUEST_BYTES + 10 * (1 << 20));
    const answer = await readRunRequest(post(stream));
    if (answer.ok) throw new Error("accepted");
    expect(answer.response.status).toBe(413);
    expect((await answer.response.json()).error.message).toContain("larger than");
    expect(read.bytes).toBeLessThan(RUN_REQUEST_BYTES + 2 * (1 << 20));
  });

  it("refuses a declared length over the limit without reading the body", async () => {
    const { stream, read } = streamedBody(1 << 20);
    const answer = await readRunRequest(post(stream, { "content-length": String(RUN_REQUEST_BYTES + 1) }));
    if (answer.ok) throw new Error("accepted");
    expect(answer.response.status).toBe(413);
    expect(read.bytes).toBeLessThanOrEqual(1 << 20);
  });
});

describe("runEventsResponse", () => {
  it("sends each event as a JSON line, and the events of one turn as one chunk", async () => {
    const channel = new EventChannel<RunEvent>(() => undefined, () => undefined);
    const response = runEventsResponse(channel, new AbortController().signal);
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    const reader = response.body!.getReader();
    channel.push(started(0));
    channel.push(started(1));
    channel.push(started(2));
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first.split("\n")).toEqual([JSON.stringify(started(0)), JSON.stringify(started(1)), JSON.stringify(started(2)), ""]);
    channel.push(started(3));
    channel.close();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe(`${JSON.stringify(started(3))}\n`);
    expect((await reader.read()).done).toBe(true);
  });

  it("reads back as the events sent, through the browser's line reader", async () => {
    const channel = new EventChannel<RunEvent>(() => undefined, () => undefined);
    const events = [started(0), { ...started(1), workflow: "naïve ✓ \n split" }, started(2)];
    const response = runEventsResponse(channel, new AbortController().signal);
    for (const event of events) channel.push(event);
    channel.close();
    const received: RunEvent[] = [];
    for await (const event of eventLines(response.body!)) received.push(event);
    expect(received).toEqual(events);
  });

  it("stops the run when the browser leaves: the body cancelled, or the request aborted", async () => {
    for (const leave of ["cancel", "abort"] as const) {
      let stopped = 0;
      const channel = new EventChannel<RunEvent>(() => undefined, () => stopped++);
      const request = new AbortController();
      const response = runEventsResponse(channel, request.signal);
      const reader = response.body!.getReader();
      channel.push(started(0));
      await reader.read();
      if (leave === "cancel") await reader.cancel();
      else request.abort();
      expect(stopped, leave).toBe(1);
    }
  });
});
