import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DemoLanguageModel } from "@/lib/server/models/demo";
import { createModelPort } from "@/lib/server/models/port";
import type { ModelRegistry } from "@/lib/server/models/registry";
import { parseDocument, type WorkflowDocument } from "../schema";
import { TEMPLATES } from "../templates";
import { input, llm, workflow } from "../testing/build";
import { runWorkflow } from "../engine/run";
import { exportTypeScript } from "./typescript";

/**
 * The exporter's proof: each exported program, type-checked with tsc and run with tsx in a child
 * process with the offline demo model injected in place of the providers, ends with the same final
 * state as the engine running the document with that model.
 */

const run = promisify(execFile);
const ROOT = resolve(__dirname, "../../..");
const demo = () => new DemoLanguageModel("fast", { firstTokenDelayMs: 0, chunkDelayMs: 0 });

async function engineState(document: WorkflowDocument): Promise<Record<string, unknown>> {
  const model = demo();
  const registry: ModelRegistry = {
    list: () => [],
    resolve: () => ({ ok: true, model }),
    resolveEmbedding: () => ({ ok: false, code: "model-not-configured", message: "no embedding models in this test" }),
    secrets: () => [],
  };
  for await (const event of runWorkflow(document, { models: createModelPort(registry) })) {
    if (event.type === "run-finished") {
      if (event.status !== "succeeded") throw new Error(`the engine run ${event.status}: ${event.error?.message}`);
      return event.state;
    }
  }
  throw new Error("no run-finished");
}

const grader = (id: string, key: string, maxIterations: number) =>
  ({ id, kind: "evaluator", config: { key, gradeKey: `${id}_grade`, feedbackKey: `${id}_feedback`, criteria: "The joke is funny: a clear setup and a punchline.", maxIterations } }) as const;

/** Hand-made graphs for what the templates do not cover. */
const HANDMADE: Record<string, WorkflowDocument> = {
  "nested-loop": workflow(
    [
      input,
      llm("draft", "Write a joke about {{topic}}{{#inner_feedback}} taking into account: {{inner_feedback}}{{/inner_feedback}}"),
      grader("inner", "draft", 2),
      llm("polish", "Add a surprising twist to this joke:\n\n{{draft}}{{#outer_feedback}} ({{outer_feedback}}){{/outer_feedback}}"),
      grader("outer", "polish", 3),
      { id: "out", kind: "output", config: { keys: ["polish"] } },
    ],
    ["in->draft", "draft->inner", "inner:revise->draft", "inner:pass->polish", "polish->outer", "outer:revise->draft", "outer:pass->out"],
  ),
  "router-after-a-map": workflow(
    [
      input,
      { id: "plan", kind: "orchestrator", config: { outputKey: "sections", prompt: "Generate a plan for a report on {{topic}}.", maxItems: 4 } },
      {
        id: "write",
        kind: "worker",
        config: { forEach: "sections", outputKey: "parts", prompt: 'Write the report section "{{item.name}}" ({{index}}){{#others}} after: {{others}}{{/others}}', concurrency: 2, dependentItems: { field: "name", matches: ["conclusion"] } },
      },
      { id: "route", kind: "router", config: { outputKey: "decision", prompt: "Turn this into a story or a poem: {{parts}}", routes: [{ name: "story", description: "a story" }, { name: "poem", description: "a poem" }] } },
      llm("story", "Write a story from {{parts}}"),
      llm("poem", "Write a poem about {{topic}}"),
      { id: "facts", kind: "llm", config: { outputKey: "facts", prompt: "Facts about {{topic}}", output: { type: "fields", fields: [{ name: "title", type: "string" }, { name: "count", type: "number" }, { name: "tags", type: "string[]" }] } } },
      { id: "judge", kind: "gate", config: { mode: "judge", key: "facts", criterion: "It has a title!" } },
      { id: "all", kind: "aggregate", config: { outputKey: "combined" } },
      { id: "synth", kind: "synthesizer", config: { mode: "llm", from: "parts", outputKey: "summary", prompt: "Summarize: {{joined}}" } },
    ],
    ["in->plan", "plan:plan->write", "write->route", "route:story->story", "route:poem->poem", "in->facts", "facts->judge", "judge:pass->all", "story->all", "poem->all", "write->synth"],
  ),
  "agreement-check": workflow(
    [
      input,
      { id: "plain", kind: "llm", config: { outputKey: "plain", system: "Answer in a few sentences.", prompt: "Explain why {{topic}} purr" } },
      { id: "careful", kind: "llm", config: { outputKey: "careful", system: "Answer plainly.", prompt: "Explain why {{topic}} purr" } },
      { id: "teller", kind: "llm", config: { outputKey: "teller", system: "You are a storyteller.", prompt: "Explain why {{topic}} purr" } },
      { id: "merge", kind: "aggregate", config: { outputKey: "combined", agreement: { key: "agreement", threshold: 0.3 } } },
      { id: "pair", kind: "aggregate", config: { outputKey: "pair", template: "{{plain}} / {{careful}}", agreement: { key: "pair_agreement" } } },
      llm("verify", "Combine these.{{#agreement.conflicts}} Check first: {{agreement.conflicts}}{{/agreement.conflicts}} ({{agreement.summary}})\n\n{{combined}}"),
    ],
    ["in->plain", "in->careful", "in->teller", "plain->merge", "careful->merge", "teller->merge", "plain->pair", "careful->pair", "merge->verify"],
  ),
  "gate-loop-and-pins": workflow(
    [
      input,
      llm("joke", "Write a short joke about {{topic}}."),
      { id: "check", kind: "gate", config: { mode: "condition", condition: { match: "all", rules: [{ op: "matches", key: "joke", pattern: "^NEVER$", ignoreCase: true }] }, maxIterations: 3 } },
      { ...llm("fixed", "Never called"), pinned: { value: "a pinned answer" } },
      { id: "route", kind: "router", config: { outputKey: "decision", prompt: "{{fixed}}", routes: [{ name: "a", description: "a" }, { name: "b", description: "b" }] }, pinned: { value: "b" } },
      llm("b", "Write a poem about {{fixed}} and {{joke}}"),
    ],
    ["in->joke", "joke->check", "check:fail->joke", "check:pass->fixed", "fixed->route", "route:b->b"],
  ),
};

const documents: Array<[string, WorkflowDocument]> = [
  ...TEMPLATES.map((template): [string, WorkflowDocument] => {
    const parsed = parseDocument(template.json);
    if (!parsed.ok) throw new Error(template.id);
    return [template.id, parsed.document];
  }),
  ...Object.entries(HANDMADE).map(([name, doc]): [string, WorkflowDocument] => {
    const parsed = parseDocument(doc);
    if (!parsed.ok) throw new Error(`${name}: ${parsed.issues[0].message}`);
    return [name, parsed.document];
  }),
];

let dir = "";
let exported: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "trellis-export-"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const files = documents.map(([name, doc], i) => {
    const result = exportTypeScript(doc);
    if (!result.ok) throw new Error(`${name}: ${result.message}`);
    writeFileSync(join(dir, `w${i}.ts`), result.code);
    return `w${i}`;
  });
  // The harness injects the demo model where the program would call a provider.
  writeFileSync(
    join(dir, "harness.ts"),
    `import { DemoLanguageModel } from ${JSON.stringify(join(ROOT, "lib/server/models/demo.ts"))};
${files.map((f) => `import * as ${f} from "./${f}.ts";`).join("\n")}
const model = new DemoLanguageModel("fast", { firstTokenDelayMs: 0, chunkDelayMs: 0 });
const programs = { ${files.join(", ")} };
const inputs = { topic: "cats", input: "Tell me a story about a lighthouse keeper" };
async function main() {
  const states: Record<string, unknown> = {};
  for (const [name, program] of Object.entries(programs)) {
    const given = Object.fromEntries(program.INPUTS.map((i) => [i.key, inputs[i.key as keyof typeof inputs]]));
    states[name] = await program.runWorkflow(given, () => model);
  }
  console.log(JSON.stringify(states));
}
void main();
`,
  );
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "esnext", moduleResolution: "bundler", types: ["node"], skipLibCheck: true, allowImportingTsExtensions: true, esModuleInterop: true, noUnusedLocals: true },
      // The programs, not the harness (it imports the demo model from this repository).
      include: ["w*.ts"],
    }),
  );
  const tsc = await run(join(ROOT, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")], { cwd: dir }).catch((error: { stdout?: string }) => {
    throw new Error(`the exported programs do not type-check:\n${error.stdout}`);
  });
  expect(tsc.stdout).toBe("");
  // The repository's tsconfig resolves the demo model's own imports (`@/…`); the programs need none of it.
  const { stdout } = await run(join(ROOT, "node_modules/.bin/tsx"), ["--tsconfig", join(ROOT, "tsconfig.json"), join(dir, "harness.ts")], { cwd: dir, maxBuffer: 50_000_000 });
  const states = JSON.parse(stdout) as Record<string, Record<string, unknown>>;
  exported = Object.fromEntries(documents.map(([name], i) => [name, states[`w${i}`]]));
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("Export → TypeScript: the program ends in the engine's final state", () => {
  it.each(documents.map(([name]) => name))("%s", async (name) => {
    const doc = documents.find(([n]) => n === name)![1];
    const given = Object.fromEntries(doc.inputs.map((i) => [i.key, i.key === "topic" ? "cats" : "Tell me a story about a lighthouse keeper"]));
    expect(exported[name]).toEqual(await engineState({ ...doc, inputs: doc.inputs.map((i) => ({ ...i, default: given[i.key] })) }));
  });
});

describe("Export → TypeScript: the file", () => {
  it("is commented per step, imports no Trellis code, and reads inputs from flags and keys from the environment", () => {
    const result = exportTypeScript(documents[0][1]);
    if (!result.ok) throw new Error(result.message);
    expect(result.fileName).toBe("prompt-chaining.ts");
    expect(result.code).toContain("npx tsx prompt-chaining.ts --topic <text>");
    expect(result.code).toContain("/** Generate joke (llm → joke). */");
    expect(result.code).not.toMatch(/from "@\/|trellis\/|lib\/workflow/);
    expect(result.code).toContain("OPENAI_API_KEY");
    expect(result.code).not.toMatch(/new Function|eval\(/);
  });

  it("marks pinned steps", () => {
    const result = exportTypeScript(documents.find(([n]) => n === "gate-loop-and-pins")![1]);
    expect(result.ok && result.code).toContain("Pinned in Trellis: this step answers a fixed value");
  });

  it("refuses a document with issues, saying which", () => {
    const broken = workflow([input, llm("a", "{{nope}}")], ["in->a"]);
    expect(exportTypeScript(broken)).toMatchObject({ ok: false, message: expect.stringContaining("{{nope}}") });
  });
});
