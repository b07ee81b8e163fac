/**
 * The `hostile` section of `npm run bench`: the document shapes that once blocked the server
 * (issue 9), each timed alone. A case passes when no single synchronous step took more than
 * 50 ms and, for streamed output, the bytes sent stay within 2× the output's size.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  compileWorkflow,
  joinSections,
  matchesPattern,
  MAX_SECTION_DEPTH,
  renderTemplate,
  runCompiled,
  TemplateError,
  type ModelPort,
  type RunEvent,
  type WorkflowDocument,
} from "@/lib/workflow";

export type HostileResult = { id: string; maxStepMs: number; totalMs: number; bytesRatio?: number; note?: string };

const STEP_BUDGET_MS = 50;
const BYTES_BUDGET = 2;

const CATASTROPHIC = ["^(?:a|a)+$", "^(a|aa)+$", "((a)+)+$", "^(a?){25}a{25}$", "(a|b|ab)*c", "^a*a*a*a*a*a*b", ".*.*=x"];

/** Times one synchronous call: for these cases the whole call is the step. */
function timeSync(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

function regexCases(): HostileResult[] {
  // A match costs the most when it fails at the very end of a subject as long as the limit allows.
  const subject = "a".repeat(99_999) + "!";
  return CATASTROPHIC.map((pattern) => {
    matchesPattern(pattern, "aaa!");
    const ms = timeSync(() => matchesPattern(pattern, subject));
    return { id: `regex ${pattern} on 100 KB`, maxStepMs: ms, totalMs: ms };
  });
}

function templateCases(): HostileResult[] {
  const list = Array.from({ length: 50 }, (_, i) => i);
  const nested = (depth: number, body: string) => "{{#o.l}}".repeat(depth) + body + "{{/o.l}}".repeat(depth);
  const view = { o: { l: list } };
  const results: HostileResult[] = [];
  // The deepest template validation allows, over a 50-item list: stopped at the rendered-size limit.
  for (const [id, template] of [
    [`template: sections ${MAX_SECTION_DEPTH} deep over 50 items`, nested(MAX_SECTION_DEPTH, "x".repeat(20))],
    [`template: sections ${MAX_SECTION_DEPTH} deep that render nothing`, nested(MAX_SECTION_DEPTH, "")],
  ] as const) {
    let outcome = "rendered";
    const ms = timeSync(() => {
      try {
        renderTemplate(template, view);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        outcome = `stopped: ${error.message}`;
      }
    });
    results.push({ id, maxStepMs: ms, totalMs: ms, note: outcome });
  }
  // Deeper nesting never runs: validation refuses it.
  const deep: WorkflowDocument = {
    format: "trellis.workflow",
    version: 1,
    name: "deep",
    inputs: [{ key: "topic", label: "Topic", type: "text", default: "x" }],
    nodes: [
      { id: "in", kind: "input", label: "in", position: { x: 0, y: 0 }, config: {} },
      { id: "a", kind: "llm", label: "a", position: { x: 0, y: 0 }, config: { outputKey: "a", prompt: nested(16, "x").replaceAll("o.l", "topic") } },
    ],
    edges: [{ id: "e", source: "in", sourcePort: "out", target: "a", targetPort: "in" }],
  };
  let refused = "";
  const ms = timeSync(() => {
    const compiled = compileWorkflow(deep);
    refused = compiled.ok ? "accepted (wrong)" : compiled.issues.map((i) => i.code).join(", ");
  });
  results.push({ id: "template: sections 16 deep (validation)", maxStepMs: ms, totalMs: ms, note: refused });
  return results;
}

async function structuredCase(): Promise<HostileResult> {
  // About 1 MB of JSON, streamed 10 characters at a time.
  const object = { items: Array.from({ length: 9_000 }, (_, i) => ({ name: `item ${i}`, description: "d".repeat(80) })) };
  const json = JSON.stringify(object);
  const models: ModelPort = {
    async *stream() {
      for (let i = 0; i < json.length; i += 10) {
        yield { type: "text", delta: json.slice(i, i + 10) };
        // A provider's chunks arrive over the network: let the loop turn now and then.
        if (i % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      yield { type: "finish", finishReason: "stop" };
    },
  };
  const document: WorkflowDocument = {
    format: "trellis.workflow",
    version: 1,
    name: "structured",
    inputs: [{ key: "topic", label: "Topic", type: "text", default: "x" }],
    nodes: [
      { id: "in", kind: "input", label: "in", position: { x: 0, y: 0 }, config: {} },
      { id: "plan", kind: "orchestrator", label: "plan", position: { x: 0, y: 0 }, config: { outputKey: "plan", prompt: "{{topic}}", maxItems: 50 } },
    ],
    edges: [{ id: "e", source: "in", sourcePort: "out", target: "plan", targetPort: "in" }],
  };
  const compiled = compileWorkflow(document);
  if (!compiled.ok) throw new Error("the structured case is not valid");
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  let bytes = 0;
  let last: RunEvent | undefined;
  for await (const event of runCompiled(compiled.workflow, { models, coalesceMs: 30, limits: { maxOutputBytes: 2_000_000, maxMapItems: 10_000 } })) {
    if (event.type === "node-delta") bytes += JSON.stringify(event).length;
    last = event;
  }
  const totalMs = performance.now() - started;
  delay.disable();
  const note = last?.type === "run-finished" ? `run ${last.status}${last.error ? ` (${last.error.code})` : ""}, ${(json.length / 1e6).toFixed(2)} MB in ${Math.ceil(json.length / 10)} deltas` : "no result";
  return { id: "structured output: 1 MB in 10-character deltas", maxStepMs: delay.max / 1e6, totalMs, bytesRatio: bytes / json.length, note };
}

function synthesisCase(): HostileResult {
  const sections = Array.from({ length: 400 }, (_, i) => `## Part ${i}\n${"line\n".repeat(100)}`);
  const ms = timeSync(() => joinSections(sections));
  return { id: "synthesis: 40,000 newlines", maxStepMs: ms, totalMs: ms };
}

export async function measureHostile(): Promise<HostileResult[]> {
  return [...regexCases(), ...templateCases(), await structuredCase(), synthesisCase()];
}

export function hostileBudgets(results: HostileResult[]): string[] {
  return results.map((r) => {
    const stepOk = r.maxStepMs <= STEP_BUDGET_MS;
    const bytesOk = r.bytesRatio === undefined || r.bytesRatio <= BYTES_BUDGET;
    const bytes = r.bytesRatio === undefined ? "" : `, bytes sent ${r.bytesRatio.toFixed(2)}× the output (budget ≤ ${BYTES_BUDGET})`;
    return `${stepOk && bytesOk ? "PASS" : "FAIL"}  hostile ${r.id}: longest step ${r.maxStepMs.toFixed(1)} ms (budget ≤ ${STEP_BUDGET_MS})${bytes}${r.note ? ` — ${r.note}` : ""}`;
  });
}
