import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findTemplate, ModelError, parseDocument, runWorkflow, type ModelChunk, type RunEvent, type RunEventOf } from "@/lib/workflow";
import { createModels } from ".";

/**
 * A local server speaking the OpenAI chat-completions protocol with SSE streaming, standing in
 * for Ollama / vLLM / LM Studio. Each test picks its behaviour through the requested model name.
 */
const CANARY_KEY = "sk-canary-0123456789abcdef";
const requests: Array<{ body: Record<string, unknown>; authorization?: string }> = [];
let server: Server;
let baseURL: string;

function sse(res: ServerResponse, chunks: unknown[], done = true) {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const chunk of chunks) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  if (done) res.write("data: [DONE]\n\n");
  res.end();
}

const delta = (content: string, finish: string | null = null, usage?: object) => ({
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1,
  model: "tiny",
  choices: [{ index: 0, delta: finish ? {} : { role: "assistant", content }, finish_reason: finish }],
  ...(usage ? { usage } : {}),
});

function answer(content: string, pieces = 4) {
  const size = Math.ceil(content.length / pieces);
  const parts = Array.from({ length: Math.ceil(content.length / size) }, (_, i) => delta(content.slice(i * size, (i + 1) * size)));
  return [...parts, delta("", "stop", { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 })];
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  const body = JSON.parse(raw) as Record<string, unknown> & { model: string; messages: Array<{ role: string; content: string }> };
  requests.push({ body, authorization: req.headers.authorization });
  const last = body.messages.at(-1)?.content ?? "";
  switch (body.model) {
    case "rate-limited":
      res.writeHead(429, { "content-type": "application/json", "retry-after": "2" });
      return res.end(JSON.stringify({ error: { message: `Rate limit exceeded for key ${CANARY_KEY}`, type: "rate_limit" } }));
    case "cut":
      return sse(res, answer("This answer never fini").slice(0, 2), false);
    case "router": {
      const route = /story/i.test(last) ? "story" : /poem/i.test(last) ? "poem" : "joke";
      return sse(res, answer(JSON.stringify({ route, reason: `asked for a ${route}` })));
    }
    default:
      return sse(res, answer(`Echo: ${last}`));
  }
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const MODELS = ["tiny", "router", "rate-limited", "cut"];

function local(settings: { models?: string[]; anyModel?: boolean } = {}) {
  return createModels({ compatible: { name: "local", baseURL, apiKey: CANARY_KEY, models: MODELS, ...settings }, demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 });
}

async function collect(stream: AsyncIterable<ModelChunk>) {
  const chunks: ModelChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe("an OpenAI-compatible server (Ollama, vLLM, LM Studio)", () => {
  it("is listed under its configured name and resolves only the models on its list", () => {
    const { registry } = local();
    expect(registry.list().map((m) => m.id)).toEqual(["demo:default", "demo:fast", "demo:embed", ...MODELS.map((m) => `local:${m}`)]);
    expect(registry.resolve("local:tiny").ok).toBe(true);
    expect(registry.resolve("local:other")).toMatchObject({ ok: false, code: "model-not-allowed", message: expect.stringMatching(/not allowed on this server/) });
    expect(registry.resolve("openai:gpt-4o-mini")).toMatchObject({ ok: false, code: "model-not-configured", message: expect.stringMatching(/not configured/) });
    expect(JSON.stringify(registry.list())).not.toContain(CANARY_KEY);
    expect(JSON.stringify(registry.list())).not.toContain(baseURL);
  });

  it("streams text deltas, a finish reason and usage, sending the key only to the server", async () => {
    const chunks = await collect(local().port.stream({ model: "local:tiny", system: "Be brief.", prompt: "Hello there" }, new AbortController().signal));
    const text = chunks.flatMap((c) => (c.type === "text" ? [c.delta] : [])).join("");
    expect(text).toBe("Echo: Hello there");
    expect(chunks.filter((c) => c.type === "text").length).toBeGreaterThan(1);
    expect(chunks.at(-1)).toEqual({ type: "finish", finishReason: "stop", usage: { inputTokens: 12, outputTokens: 7 } });
    const request = requests.at(-1)!;
    expect(request.authorization).toBe(`Bearer ${CANARY_KEY}`);
    expect(request.body).toMatchObject({ model: "tiny", stream: true, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello there" }] });
  });

  it("asks for structured output with the JSON schema, streams its JSON text and returns the parsed object", async () => {
    const schema = { type: "object", properties: { route: { type: "string", enum: ["story", "joke", "poem"] }, reason: { type: "string" } }, required: ["route", "reason"], additionalProperties: false };
    const chunks = await collect(local().port.stream({ model: "local:router", prompt: "Tell me a story", schema, schemaName: "route_decision" }, new AbortController().signal));
    expect(requests.at(-1)!.body.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "route_decision", schema } });
    const json = chunks.flatMap((c) => (c.type === "text" ? [c.delta] : [])).join("");
    expect(JSON.parse(json)).toEqual({ route: "story", reason: "asked for a story" });
    expect(chunks.at(-1)).toMatchObject({ type: "finish", finishReason: "stop" });
  });

  it("maps a 429 to a retryable rate-limit error with its Retry-After, and never echoes the key", async () => {
    const failure = await collect(local().port.stream({ model: "local:rate-limited", prompt: "x" }, new AbortController().signal)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ModelError);
    expect(failure).toMatchObject({ code: "rate-limited", retryable: true, retryAfterMs: 2_000, status: 429 });
    expect((failure as Error).message).not.toContain(CANARY_KEY);
    expect((failure as Error).message).not.toContain(baseURL);
  });

  it("fails the node when the server's stream is cut before its finish", async () => {
    const parsed = parseDocument(findTemplate("evaluator-optimizer")!.json);
    if (!parsed.ok) throw new Error("invalid template");
    const doc = { ...parsed.document, settings: { defaultModel: "local:cut" } };
    const events: RunEvent[] = [];
    for await (const event of runWorkflow(doc, { models: local().port, limits: { maxAttempts: 1 } })) events.push(event);
    const finished = events.at(-1) as RunEventOf<"run-finished">;
    expect(finished.status).toBe("failed");
    expect(finished.error?.nodeId).toBe("n_joke");
    expect(finished.state.joke).toBeUndefined();
  });

  it("runs the routing template end to end", async () => {
    const parsed = parseDocument(findTemplate("routing")!.json);
    if (!parsed.ok) throw new Error("invalid template");
    const doc = {
      ...parsed.document,
      nodes: parsed.document.nodes.map((node) =>
        node.kind === "router" ? { ...node, config: { ...node.config, model: "local:router" } } : node.kind === "llm" ? { ...node, config: { ...node.config, model: "local:tiny" } } : node,
      ),
    };
    const events: RunEvent[] = [];
    for await (const event of runWorkflow(doc, { models: local().port, inputs: { input: "Write a poem about rivers" } })) events.push(event);
    const finished = events.at(-1) as RunEventOf<"run-finished">;
    expect(finished.status).toBe("succeeded");
    expect(finished.outputs).toEqual({ decision: "poem", output: "Echo: Write a poem about rivers" });
    expect(JSON.stringify(events)).not.toContain(CANARY_KEY);
  });
});
