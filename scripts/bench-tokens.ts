/**
 * Per-token cost of the model path, in one process, with the offline demo model at full speed:
 * the provider's raw stream (`doStream`), the AI SDK's `streamText` over it, Trellis's model port,
 * and a whole engine run (port → engine → events). Prints µs of CPU per output token.
 *   npm run bench:tokens
 */
import { streamText } from "ai";
import { compileWorkflow, findTemplate, parseDocument, runCompiled } from "@/lib/workflow";
import { createModels } from "@/lib/server/models";

const settings = { demo: { firstTokenDelayMs: 0, chunkDelayMs: 0 }, limits: {}, coalesceMs: 0 };
const { registry, port } = createModels(settings);
const resolved = registry.resolve("demo:fast");
if (!resolved.ok) throw new Error(resolved.message);
const model = resolved.model;

const PROMPT = "Write a section on the history of kites, their engineering and their uses in science.";
const SCHEMA = { type: "object", properties: { title: { type: "string" }, tags: { type: "array", items: { type: "string" } } }, required: ["title", "tags"], additionalProperties: false };

type Path = { id: string; run(): Promise<number> };

export const rawStream: Path = {
  id: "doStream (provider floor)",
  async run() {
    const { stream } = await model.doStream({ prompt: [{ role: "user", content: [{ type: "text", text: PROMPT }] }] });
    let tokens = 0;
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (value.type === "text-delta") tokens++;
    }
    return tokens;
  },
};

export const sdkStream: Path = {
  id: "streamText",
  async run() {
    let tokens = 0;
    const result = streamText({ model, prompt: PROMPT, maxRetries: 0 });
    for await (const part of result.fullStream) if (part.type === "text-delta") tokens++;
    return tokens;
  },
};

const trellisPort: Path = {
  id: "Trellis model port",
  async run() {
    let tokens = 0;
    for await (const chunk of port.stream({ model: "demo:fast", prompt: PROMPT }, new AbortController().signal)) if (chunk.type === "text") tokens++;
    return tokens;
  },
};

const structuredPort: Path = {
  id: "Trellis model port, structured",
  async run() {
    let tokens = 0;
    for await (const chunk of port.stream({ model: "demo:fast", prompt: PROMPT, schema: SCHEMA }, new AbortController().signal)) if (chunk.type === "text") tokens++;
    return tokens;
  },
};

function engineRun(template: string, coalesceMs: number): Path {
  const parsed = parseDocument(findTemplate(template)!.json);
  if (!parsed.ok) throw new Error("invalid template");
  const doc = { ...parsed.document, settings: { ...parsed.document.settings, defaultModel: "demo:fast" } };
  doc.nodes = doc.nodes.map((node) => ("model" in node.config ? { ...node, config: { ...node.config, model: "demo:fast" } } : node)) as typeof doc.nodes;
  const compiled = compileWorkflow(doc);
  if (!compiled.ok) throw new Error("invalid template");
  return {
    id: `engine run: ${template}${coalesceMs ? `, coalesced ${coalesceMs} ms` : ""}`,
    async run() {
      let tokens = 0;
      for await (const event of runCompiled(compiled.workflow, { models: port, coalesceMs })) if (event.type === "run-finished") tokens = event.usage.outputTokens;
      return tokens;
    },
  };
}

export async function measure(path: Path, seconds = 1.5) {
  for (let i = 0; i < 3; i++) await path.run();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let tokens = 0;
  let runs = 0;
  while (performance.now() - started < seconds * 1000) {
    tokens += await path.run();
    runs++;
  }
  const used = process.cpuUsage(cpu);
  const cpuUs = used.user + used.system;
  return { id: path.id, runs, tokens, usPerToken: cpuUs / tokens, tokensPerCpuSecond: Math.round(tokens / (cpuUs / 1e6)) };
}

async function main() {
  console.log(`\nPer-token cost of the model path (demo:fast, one process)\n`);
  console.log(`${"path".padEnd(52)}${"runs".padStart(7)}${"tokens".padStart(9)}${"µs CPU/token".padStart(14)}${"tokens/CPU-s".padStart(14)}`);
  for (const path of [rawStream, sdkStream, trellisPort, structuredPort, engineRun("orchestrator-worker", 0), engineRun("orchestrator-worker", 30), engineRun("parallelization", 30)]) {
    const r = await measure(path);
    console.log(`${r.id.padEnd(52)}${String(r.runs).padStart(7)}${String(r.tokens).padStart(9)}${r.usPerToken.toFixed(1).padStart(14)}${String(r.tokensPerCpuSecond).padStart(14)}`);
  }
}

// Run as a script; imported by scripts/bench-server.ts for its floors.
if (process.argv[1]?.endsWith("bench-tokens.ts")) void main();
