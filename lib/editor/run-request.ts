import type { RunEvent } from "@/lib/workflow";

/** The server refused the request itself (not the run): its message says why. */
export class RunRequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "RunRequestRefused";
  }
}

/**
 * Starts a run through the run routes (`POST /api/runs`, `POST /api/runs/shared`) and yields its
 * events as they arrive: the response is newline-delimited JSON, one event a line
 * (lib/server/run-transport.ts). A request the server refuses outright (another origin, too large)
 * throws with the server's message; a refused run ends with a failed `run-finished` like any run.
 * Leaving the iteration early, or `signal`, cancels the request, which stops the run.
 */
export async function postRun(path: "/api/runs" | "/api/runs/shared", request: object, { signal, fetch: send = globalThis.fetch }: { signal?: AbortSignal; fetch?: typeof fetch } = {}): Promise<AsyncIterable<RunEvent>> {
  const response = await send(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request), signal });
  if (!response.ok || !response.body) throw new RunRequestRefused(response.status, await refusalOf(response));
  return eventLines(response.body);
}

async function refusalOf(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const answer = JSON.parse(text) as { error?: { message?: string } };
    if (answer.error?.message) return `The server refused the run (${response.status}): ${answer.error.message}.`;
  } catch {
    // Not JSON (a proxy's page): its text, shortened, says more than the status alone.
  }
  return `The server refused the run (${response.status})${text ? `: ${text.slice(0, 200)}` : "."}`;
}

/** The events of a newline-delimited JSON body, split as the bytes arrive (a line may span chunks). */
export async function* eventLines(body: ReadableStream<Uint8Array>): AsyncGenerator<RunEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let start = 0;
      for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n", start)) {
        if (end > start) yield JSON.parse(pending.slice(start, end)) as RunEvent;
        start = end + 1;
      }
      pending = pending.slice(start);
    }
    if (pending.trim()) throw new Error("the run's stream ended in the middle of an event");
  } finally {
    // Also when the consumer leaves early: the request is cancelled, and with it the run.
    await reader.cancel().catch(() => undefined);
  }
}
