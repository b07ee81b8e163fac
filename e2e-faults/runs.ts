import { findTemplate, parseDocument, type RunEvent, type RunEventOf, type WorkflowDocument } from "@/lib/workflow";

/** Workflows, fault settings and event helpers shared by the fault suite's run tests. */

/** input → `first` (streams) → `second` (streams, or hangs/fails when its prompt carries a fault marker) → output. */
export function chain({ second = "Explain this joke to a child: {{first}}" }: { second?: string } = {}): WorkflowDocument {
  const parsed = parseDocument({
    format: "trellis.workflow",
    version: 1,
    name: "Two steps",
    description: "",
    inputs: [{ key: "topic", label: "Topic", type: "text", default: "cats", required: true }],
    nodes: [
      { id: "n_in", kind: "input", label: "Topic", position: { x: 0, y: 0 }, config: {} },
      { id: "n_first", kind: "llm", label: "First", position: { x: 300, y: 0 }, config: { outputKey: "first", prompt: "Write a short joke about {{topic}}." } },
      { id: "n_second", kind: "llm", label: "Second", position: { x: 600, y: 0 }, config: { outputKey: "second", prompt: second } },
      { id: "n_out", kind: "output", label: "Result", position: { x: 900, y: 0 }, config: { keys: ["first", "second"] } },
    ],
    edges: [
      { id: "e1", source: "n_in", sourcePort: "out", target: "n_first", targetPort: "in" },
      { id: "e2", source: "n_first", sourcePort: "out", target: "n_second", targetPort: "in" },
      { id: "e3", source: "n_second", sourcePort: "out", target: "n_out", targetPort: "in" },
    ],
    settings: { defaultModel: "demo:default" },
  });
  if (!parsed.ok) throw new Error(`invalid test workflow: ${parsed.issues[0]?.message}`);
  return parsed.document;
}

export function template(id: string): WorkflowDocument {
  const parsed = parseDocument(findTemplate(id)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  return parsed.document;
}

export const FAULTS = JSON.stringify([
  { kind: "hang", match: "FAULT-HANG" },
  { kind: "rate-limit", match: "FAULT-BACKOFF", retryAfterSeconds: 25 },
]);

/** A pace slow enough to act mid-run: the first answer takes ~1 s, the second ~1.5 s. */
export const PACE = { TRELLIS_DEMO_FIRST_TOKEN_MS: "200", TRELLIS_DEMO_CHUNK_MS: "60", TRELLIS_DEMO_FAULTS: FAULTS };

/** Reads a run's events as they arrive, until `until` says stop (the rest keep arriving in the background). */
export async function follow(events: AsyncIterable<RunEvent>) {
  const seen: RunEvent[] = [];
  const waiters: Array<{ test: (event: RunEvent) => boolean; resolve: (event: RunEvent) => void }> = [];
  const done = (async () => {
    try {
      for await (const event of events) {
        seen.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.test(event)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      }
    } catch {
      // The server went away, or the test left: what arrived is in `seen`.
    }
  })();
  return {
    seen,
    done,
    until(test: (event: RunEvent) => boolean, timeoutMs = 20_000): Promise<RunEvent> {
      const found = seen.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no such event within ${timeoutMs} ms; saw ${seen.map((e) => e.type).join(", ")}`)), timeoutMs);
        waiters.push({ test, resolve: (event) => (clearTimeout(timer), resolve(event)) });
      });
    },
  };
}

export const started = (nodeId: string) => (event: RunEvent) => event.type === "node-started" && event.nodeId === nodeId;
export const finished = (event: RunEvent): event is RunEventOf<"run-finished"> => event.type === "run-finished";

export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
