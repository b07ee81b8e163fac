import { fieldsJsonSchema, type Field } from "../kinds/common";
import { DEFAULT_MAX_ITERATIONS, GRADE_SCHEMA, GRADE_SYSTEM } from "../kinds/evaluator";
import { JUDGE_SCHEMA, JUDGE_SYSTEM } from "../kinds/gate";
import { DEFAULT_PLAN_FIELDS } from "../kinds/orchestrator";
import { routeSchema } from "../kinds/router";
import { DEFAULT_WORKER_CONCURRENCY } from "../kinds/worker";
import { effectiveLimits } from "../limits";
import { DEFAULT_AGREEMENT_THRESHOLD, OUTLIER_MIN_GAP, OUTLIER_RATIO } from "../topology/agreement";
import { pinnedResult } from "../pin";
import type { WorkflowDocument, WorkflowNode } from "../schema";
import { compileWorkflow, type CompiledWorkflow } from "../validate";
import { runtimeFor } from "./runtime";

/**
 * Export → TypeScript (issue 16): one self-contained program that runs a workflow with the AI SDK
 * and the same semantics as the engine — every step starts when its inputs are ready (parallel
 * branches run at once and joins wait with Promise.all), routers and gates fire one port and what
 * they do not take is skipped, loops re-run their body up to their bound, maps keep plan order under
 * the same concurrency cap, prompts are the same Mustache templates. It imports `ai`, `mustache`,
 * `zod` and, when asked for a model, its `@ai-sdk/*` provider — never Trellis.
 *
 * Pure: the CLI writes the text to a file, the editor downloads it. Trellis never runs it (its
 * tests do, in a child process).
 */

export type ExportResult = { ok: true; code: string; fileName: string } | { ok: false; message: string };

const lit = (value: unknown) => JSON.stringify(value);
// The core never reads the environment or imports a provider; the program it writes does. Its import
// lines and environment reads are assembled here, so they are never mistaken for the core's own
// (lib/boundaries.test.ts reads the core's source text).
const ENV = ["process", "env"].join(".");
const importLine = (what: string, from: string) => `import ${what} from ${lit(from)};`;
/** A JSON literal on several lines, indented to sit in code. */
const block = (value: unknown, indent: string) => JSON.stringify(value, null, 2).replace(/\n/g, `\n${indent}`);

export function exportFileName(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "workflow";
  return `${slug}.ts`;
}

/** A loop of the graph: its back-edge, body (node indices) and the loops nested in it. */
type Loop = { edge: number; body: Set<number>; children: Loop[]; name: string };

class Generator {
  private readonly names = new Map<number, string>();
  private readonly functions: string[] = [];
  private readonly limits;
  private loops: Loop[] = [];

  constructor(private readonly workflow: CompiledWorkflow) {
    this.limits = effectiveLimits(undefined, workflow.document.settings?.limits);
    const used = new Set<string>();
    workflow.nodes.forEach((node, n) => {
      const base = `n_${node.id.replace(/^n_/, "").replace(/[^A-Za-z0-9_]/g, "_")}`;
      let name = base;
      for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
      used.add(name);
      this.names.set(n, name);
    });
  }

  private name(n: number): string {
    return this.names.get(n)!;
  }

  private node(n: number): WorkflowNode {
    return this.workflow.nodes[n];
  }

  /**
   * What the program cannot do yet: an aggregate's re-run policy re-enters its branches (the engine's
   * join rounds, docs/architecture.md §4.15), and its embedding similarity needs an embedding model.
   */
  private unsupported(): string | null {
    for (const node of this.workflow.nodes) {
      if (node.kind !== "aggregate" || !node.config.agreement) continue;
      const name = node.label || node.id;
      if (node.config.agreement.rerun) return `"${name}" re-runs disagreeing branches (agreement.rerun), which the exported program does not do; turn that policy off to export`;
      if (node.config.agreement.embeddingModel) return `"${name}" measures agreement with an embedding model (agreement.embeddingModel), which the exported program does not call; clear it to export`;
    }
    return null;
  }

  /** Loops nest or are disjoint; two that overlap otherwise have no structured form. */
  private buildLoops(): string | null {
    const loops: Loop[] = [...this.workflow.loopBodies.entries()].map(([edge, body], i) => ({ edge, body: new Set(body), children: [], name: `loop_${i + 1}` }));
    loops.sort((a, b) => b.body.size - a.body.size);
    const roots: Loop[] = [];
    for (const loop of loops) {
      const parent = [...loops]
        .filter((other) => other !== loop && other.body.size >= loop.body.size && [...loop.body].every((b) => other.body.has(b)))
        .sort((a, b) => a.body.size - b.body.size)[0];
      for (const other of loops) {
        if (other === loop) continue;
        const shared = [...loop.body].filter((b) => other.body.has(b)).length;
        const nested = shared === loop.body.size || shared === other.body.size;
        if (shared && !nested) return `the loops closed by "${this.node(this.workflow.edges[loop.edge].source).id}" and "${this.node(this.workflow.edges[other.edge].source).id}" overlap without nesting`;
        if (shared === loop.body.size && shared === other.body.size) return `two loops share the body of "${this.node(this.workflow.edges[loop.edge].target).id}"`;
      }
      if (parent) parent.children.push(loop);
      else roots.push(loop);
    }
    this.loops = roots;
    return null;
  }

  /** A step's code: a function that computes the node, writes its keys and answers its fired ports. */
  private stepFunction(n: number): void {
    const node = this.node(n);
    const kind = node.kind;
    const header = `  /** ${(node.label || node.id).replace(/\*\//g, "* /")} (${kind}${this.writesOf(n).length ? ` → ${this.writesOf(n).join(", ")}` : ""}). */`;
    const loopPorts = this.loopPorts(n);
    const passParam = loopPorts.length ? "pass: number" : "";
    const body = node.pinned ? this.pinnedBody(n) : this.kindBody(n);
    this.functions.push(`${header}\n  async function run_${this.name(n).slice(2)}(${passParam}): Promise<string[]> {\n${body}\n  }`);
  }

  private writesOf(n: number): string[] {
    const node = this.node(n);
    if (node.kind === "aggregate" && node.config.agreement) return [node.config.outputKey, node.config.agreement.key];
    if ("outputKey" in node.config) return [node.config.outputKey];
    if (node.kind === "evaluator") return [node.config.gradeKey, node.config.feedbackKey];
    return [];
  }

  /** Ports of `n` that close a loop back upstream. */
  private loopPorts(n: number): string[] {
    const { outgoing, edges } = this.workflow;
    return outgoing[n].filter((e) => edges[e].back).map((e) => edges[e].sourcePort);
  }

  private bound(configured: number | undefined): number {
    return Math.min(configured ?? this.limits.maxLoopIterations, this.limits.maxLoopIterations);
  }

  private model(node: WorkflowNode): string {
    const model = (node.config as { model?: string }).model;
    return lit(model ?? this.workflow.defaultModel);
  }

  private pinnedBody(n: number): string {
    const node = this.node(n);
    const loop = this.loopPorts(n)[0];
    const never = { iteration: 0, isLoopPort: () => false, maxIterations: (c: number | undefined) => c ?? 0, warn: () => undefined };
    const result = pinnedResult(node as unknown as Parameters<typeof pinnedResult>[0], never);
    const lines = ["    // Pinned in Trellis: this step answers a fixed value instead of calling its model."];
    for (const [key, value] of Object.entries(result.writes)) lines.push(`    state[${lit(key)}] = ${block(value, "    ")};`);
    const port = result.ports?.[0] ?? "out";
    if (loop && port === loop) {
      const configured = node.kind === "evaluator" ? (node.config.maxIterations ?? DEFAULT_MAX_ITERATIONS) : (node.config as { maxIterations?: number }).maxIterations;
      const bound = this.bound(configured);
      lines.push(`    if (pass >= ${bound}) {`, `      console.warn(${lit(`${node.label || node.id}: the pinned answer still loops after ${bound} iterations; continued on pass`)});`, `      return ["pass"];`, "    }");
    }
    lines.push(`    return ${lit(result.ports ?? ["out"])};`);
    return lines.join("\n");
  }

  private kindBody(n: number): string {
    const node = this.node(n);
    const m = this.model(node);
    const optional = (key: string, value: unknown) => (value === undefined ? "" : `, ${key}: ${lit(value)}`);
    switch (node.kind) {
      case "input":
        return `    return ["out"];`;
      case "output":
        return `    // Marks ${node.config.keys.join(", ")} as the result.\n    return [];`;
      case "llm": {
        const c = node.config;
        const system = c.system ? `, system: render(state, ${lit(c.system)})` : "";
        const call = `{ model: ${m}${system}, prompt: render(state, ${lit(c.prompt)})${optional("temperature", c.temperature)}${optional("maxOutputTokens", c.maxOutputTokens)} }`;
        if (c.output?.type === "fields") {
          const checks = c.output.fields.map((f) => `${lit(f.name)}: ${zodOf(f)}`).join(", ");
          return [
            `    // Structured output: one value per field.`,
            `    state[${lit(c.outputKey)}] = await callObject(models, ${call}, ${block(fieldsJsonSchema(c.output.fields), "    ")}, ${lit(c.outputKey)}, z.object({ ${checks} }));`,
            `    return ["out"];`,
          ].join("\n");
        }
        return `    state[${lit(c.outputKey)}] = await callText(models, ${call});\n    return ["out"];`;
      }
      case "gate": {
        const c = node.config;
        const lines: string[] = [];
        if (c.mode === "condition") {
          lines.push(`    const rules: Rule[] = ${block(c.condition.rules, "    ")};`, `    const passed = rules.${c.condition.match === "all" ? "every" : "some"}((rule) => ruleHolds(state, rule));`);
        } else {
          lines.push(
            `    // An LLM judge: yes or no, with a reason.`,
            `    const judgement = await callObject(models, { model: ${m}, system: ${lit(JUDGE_SYSTEM)}, prompt: ${lit(`Criterion: ${c.criterion}\n\nText to judge:\n`)} + formatValue(state[${lit(c.key)}]) }, ${block(JUDGE_SCHEMA, "    ")}, "judgement", z.object({ verdict: z.enum(["yes", "no"]), reason: z.string() }));`,
            `    const passed = judgement.verdict === "yes";`,
          );
        }
        if (this.loopPorts(n).includes("fail")) {
          const bound = this.bound(c.maxIterations);
          lines.push(`    if (!passed && pass >= ${bound}) {`, `      console.warn(${lit(`${node.label || node.id}: gave up after ${bound} iterations and continued on pass`)});`, `      return ["pass"];`, "    }");
        }
        lines.push(`    return [passed ? "pass" : "fail"];`);
        return lines.join("\n");
      }
      case "router": {
        const c = node.config;
        const routes = c.routes.map((r) => `- ${r.name}: ${r.description}`).join("\n");
        return [
          `    // Classifies the input into one route; that port fires, the others are skipped.`,
          `    const decision = await callObject(models, { model: ${m}, system: ${lit(`Classify the input into exactly one of these routes.\n\nRoutes:\n${routes}`)}, prompt: "Input:\\n" + render(state, ${lit(c.prompt)}) }, ${block(routeSchema(c), "    ")}, "route_decision", z.object({ route: z.string(), reason: z.string() }));`,
          `    const route = ${lit(c.routes.map((r) => r.name))}.includes(decision.route) ? decision.route : "default";`,
          `    state[${lit(c.outputKey)}] = route;`,
          `    return [route];`,
        ].join("\n");
      }
      case "aggregate": {
        const c = node.config;
        const keys = this.workflow.upstreamKeys[n];
        // The agreement report after the combined text, as the engine computes them.
        const agreement = c.agreement
          ? [
              `    // Agreement across the branches: pairwise lexical similarity, the score and the outliers.`,
              `    state[${lit(c.agreement.key)}] = agreementReport(${lit(keys)}.filter((key) => state[key] !== undefined).map((key) => ({ key, text: formatValue(state[key]) })), ${lit(c.agreement.threshold ?? DEFAULT_AGREEMENT_THRESHOLD)}, ${lit(OUTLIER_RATIO)}, ${lit(OUTLIER_MIN_GAP)});`,
            ]
          : [];
        if (c.template) return [`    state[${lit(c.outputKey)}] = render(state, ${lit(c.template)});`, ...agreement, `    return ["out"];`].join("\n");
        return [
          `    // One "key:\\n value" block per inbound key that has a value.`,
          `    state[${lit(c.outputKey)}] = ${lit(keys)}`,
          `      .filter((key) => state[key] !== undefined)`,
          `      .map((key) => key + ":\\n" + formatValue(state[key]))`,
          `      .join("\\n\\n");`,
          ...agreement,
          `    return ["out"];`,
        ].join("\n");
      }
      case "orchestrator": {
        const c = node.config;
        const fields: ReadonlyArray<Field> = c.fields ?? DEFAULT_PLAN_FIELDS;
        const schema = {
          type: "object",
          properties: { items: { type: "array", items: fieldsJsonSchema(fields), description: `At most ${c.maxItems} items.` } },
          required: ["items"],
          additionalProperties: false,
        };
        const cap = Math.min(c.maxItems, this.limits.maxMapItems);
        const system = c.system ? `, system: render(state, ${lit(c.system)})` : "";
        return [
          `    // Plans a list of items (structured output), capped at ${cap}.`,
          `    const plan = await callObject(models, { model: ${m}${system}, prompt: render(state, ${lit(c.prompt)}) }, ${block(schema, "    ")}, "plan", z.object({ items: z.array(z.object({ ${fields.map((f) => `${lit(f.name)}: ${zodOf(f)}`).join(", ")} })) }));`,
          `    if (plan.items.length > ${cap}) console.warn(${lit(`${node.label || node.id}: the plan had more than ${cap} items; kept the first ${cap}`)});`,
          `    state[${lit(c.outputKey)}] = plan.items.slice(0, ${cap});`,
          `    return ["plan"];`,
        ].join("\n");
      }
      case "worker": {
        const c = node.config;
        const rule = c.dependentItems;
        const waits = rule
          ? `(i: number) => { const item = list[i]; const value = item && typeof item === "object" ? formatValue((item as Record<string, unknown>)[${lit(rule.field)}]).toLowerCase() : ""; return ${lit(rule.matches.map((w) => w.toLowerCase()))}.some((word) => value.includes(word)); }`
          : "() => false";
        const system = c.system ? `, system: render(state, ${lit(c.system)}, extra)` : "";
        return [
          `    // One call per item of ${c.forEach}, ${c.concurrency ?? DEFAULT_WORKER_CONCURRENCY} at a time; results in plan order.`,
          `    const list = state[${lit(c.forEach)}];`,
          `    if (!Array.isArray(list)) throw new TypeError(${lit(`"${c.forEach}" is not a list`)});`,
          `    if (list.length > ${this.limits.maxMapItems}) throw new Error(${lit(`the list has too many items; the limit is ${this.limits.maxMapItems}`)});`,
          `    const waits = ${waits};`,
          `    state[${lit(c.outputKey)}] = await mapItems(list.length, ${c.concurrency ?? DEFAULT_WORKER_CONCURRENCY}, waits, (index, earlier) => {`,
          `      // Items that wait (a conclusion) see the others' results as {{others}}.`,
          `      const others = waits(index) ? earlier.filter((text, i) => i !== index && text !== undefined).join("\\n\\n") : undefined;`,
          `      const extra = { item: list[index], index: index + 1, others };`,
          `      return callText(models, { model: ${m}${system}, prompt: render(state, ${lit(c.prompt)}, extra) });`,
          `    });`,
          `    return ["out"];`,
        ].join("\n");
      }
      case "synthesizer": {
        const c = node.config;
        const lines = [`    const list = state[${lit(c.from)}];`, `    const items = Array.isArray(list) ? list : list === undefined ? [] : [list];`];
        if (c.mode === "join") {
          lines.push(`    state[${lit(c.outputKey)}] = joinSections(items${c.separator !== undefined ? `, ${lit(c.separator)}` : ""});`);
        } else {
          const system = c.system ? `, system: render(state, ${lit(c.system)}, { joined })` : "";
          lines.push(`    const joined = joinSections(items);`, `    state[${lit(c.outputKey)}] = await callText(models, { model: ${m}${system}, prompt: render(state, ${lit(c.prompt)}, { joined }) });`);
        }
        lines.push(`    return ["out"];`);
        return lines.join("\n");
      }
      case "evaluator": {
        const c = node.config;
        const extra = c.prompt ? `"\\n\\n" + render(state, ${lit(c.prompt)})` : `""`;
        const lines = [
          `    // Grades ${c.key} against the criteria (structured output: pass or fail, with feedback).`,
          `    const { grade, feedback } = await callObject(models, { model: ${m}, system: ${lit(GRADE_SYSTEM)}, prompt: ${lit(`Criteria: ${c.criteria}`)} + ${extra} + "\\n\\nText to grade:\\n" + formatValue(state[${lit(c.key)}]) }, ${block(GRADE_SCHEMA, "    ")}, "grade", z.object({ grade: z.enum(["pass", "fail"]), feedback: z.string() }));`,
          `    state[${lit(c.gradeKey)}] = grade;`,
          `    state[${lit(c.feedbackKey)}] = feedback;`,
          `    if (grade === "pass") return ["pass"];`,
        ];
        if (this.loopPorts(n).includes("revise")) {
          const bound = this.bound(c.maxIterations ?? DEFAULT_MAX_ITERATIONS);
          lines.push(`    if (pass >= ${bound}) {`, `      console.warn(${lit(`${node.label || node.id}: still failing after ${bound} iterations; continued on pass`)});`, `      return ["pass"];`, "    }");
        }
        lines.push(`    return ["revise"];`);
        return lines.join("\n");
      }
      case "note":
        return `    return [];`;
    }
  }

  /** The steps of one scope (the whole graph, or one loop's body), as a topological order of units. */
  private units(members: Set<number>, loops: Loop[]): Array<{ node: number } | { loop: Loop }> {
    const owner = new Map<number, Loop>();
    for (const loop of loops) for (const b of loop.body) owner.set(b, loop);
    const unitOf = (n: number) => owner.get(n) ?? n;
    const all = [...members].map(unitOf);
    const unique = [...new Set(all)];
    const indegree = new Map(unique.map((u) => [u, 0]));
    const next = new Map<Loop | number, Set<Loop | number>>(unique.map((u) => [u, new Set()]));
    for (const e of this.workflow.edges) {
      if (e.back || !members.has(e.source) || !members.has(e.target)) continue;
      const [a, b] = [unitOf(e.source), unitOf(e.target)];
      if (a === b || next.get(a)!.has(b)) continue;
      next.get(a)!.add(b);
      indegree.set(b, indegree.get(b)! + 1);
    }
    const order: Array<Loop | number> = [];
    const ready = unique.filter((u) => indegree.get(u) === 0).sort((a, b) => this.firstIndex(a) - this.firstIndex(b));
    while (ready.length) {
      const u = ready.shift()!;
      order.push(u);
      for (const v of next.get(u)!) {
        indegree.set(v, indegree.get(v)! - 1);
        if (indegree.get(v) === 0) ready.push(v);
      }
      ready.sort((a, b) => this.firstIndex(a) - this.firstIndex(b));
    }
    return order.map((u) => (typeof u === "number" ? { node: u } : { loop: u }));
  }

  private firstIndex(unit: Loop | number): number {
    return typeof unit === "number" ? unit : Math.min(...unit.body);
  }

  /** The inbound list of step `n`: forward edges, each as [the step's promise, port]. */
  private inbound(n: number): string {
    const pairs = this.workflow.incoming[n].map((e) => `[${this.name(this.workflow.edges[e].source)}, ${lit(this.workflow.edges[e].sourcePort)}]`);
    return `[${pairs.join(", ")}]`;
  }

  private call(n: number, pass: string): string {
    return `() => run_${this.name(n).slice(2)}(${this.loopPorts(n).length ? pass : ""})`;
  }

  /** Wiring of a scope: one `const` per step (a promise of its fired ports), loops as blocks. */
  private wiring(members: Set<number>, loops: Loop[], indent: string, pass: string, head?: number): string[] {
    const lines: string[] = [];
    for (const unit of this.units(members, loops)) {
      if ("node" in unit) {
        const n = unit.node;
        const node = this.node(n);
        const label = `// ${node.label || node.id}`;
        if (n === this.workflow.inputIndex) lines.push(`${indent}const ${this.name(n)}: Promise<Fired> = Promise.resolve(["out"]); ${label}: the inputs are in the state`);
        else if (n === head) lines.push(`${indent}const ${this.name(n)} = pass === 1 ? after(${this.inbound(n)}, ${this.call(n, pass)}) : run_${this.name(n).slice(2)}(${this.loopPorts(n).length ? pass : ""}); ${label} (the loop's head)`);
        else lines.push(`${indent}const ${this.name(n)} = after(${this.inbound(n)}, ${this.call(n, pass)}); ${label}`);
        continue;
      }
      lines.push(...this.loopBlock(unit.loop, indent));
    }
    return lines;
  }

  private loopBlock(loop: Loop, indent: string): string[] {
    const e = this.workflow.edges[loop.edge];
    const closer = this.node(e.source);
    const head = this.node(e.target);
    const inner = indent + "    ";
    const body = [...loop.body].sort((a, b) => a - b);
    const names = body.map((b) => this.name(b));
    const lines = [
      `${indent}// Loop: "${closer.label || closer.id}" sends "${e.sourcePort}" back to "${head.label || head.id}"; each pass re-runs the body with the new state.`,
      `${indent}const ${loop.name} = (async () => {`,
      `${indent}  for (let pass = 1; ; pass++) {`,
      ...this.wiring(loop.body, loop.children, inner, "pass", e.target),
      `${inner}const last = { ${names.join(", ")} };`,
      `${inner}if (!(await ${this.name(e.source)})?.includes(${lit(e.sourcePort)})) return last;`,
      `${indent}  }`,
      `${indent}})();`,
    ];
    // What is downstream sees the body's last pass only.
    for (const name of names) lines.push(`${indent}const ${name} = ${loop.name}.then((last) => last.${name});`);
    return lines;
  }

  generate(): ExportResult {
    const problem = this.unsupported() ?? this.buildLoops();
    if (problem) return { ok: false, message: `this workflow cannot be exported yet: ${problem}` };
    const doc = this.workflow.document;
    this.workflow.nodes.forEach((_, n) => {
      if (n !== this.workflow.inputIndex) this.stepFunction(n);
    });
    const all = new Set(this.workflow.nodes.map((_, n) => n));
    const wiring = this.wiring(all, this.loops, "  ", "1");
    const outputKeys = [...new Set(doc.nodes.flatMap((node) => (node.kind === "output" ? node.config.keys : [])))];
    const fileName = exportFileName(doc.name);
    const flags = doc.inputs.map((input) => `--${input.key} ${input.type === "number" ? "<number>" : input.type === "boolean" ? "true|false" : "<text>"}`).join(" ");
    const pinned = doc.nodes.filter((node) => node.pinned).map((node) => node.label || node.id);
    const runtime = runtimeFor(`${this.functions.join("\n")}\n${wiring.join("\n")}`);
    const uses = (helper: string) => new RegExp(`function ${helper}\\b`).test(runtime);
    const aiImports = [uses("callText") && "generateText", uses("callObject") && "jsonSchema", uses("callObject") && "Output", "type LanguageModel"].filter(Boolean).join(", ");
    const code = `/**
 * ${doc.name.replace(/\*\//g, "* /")} — a workflow exported from Trellis (document format trellis.workflow v${doc.version}).
${doc.description ? ` * ${doc.description.replace(/\*\//g, "* /").replace(/\n/g, "\n * ")}\n` : ""} *
 * Run it:   npx tsx ${fileName}${flags ? ` ${flags}` : ""}
 *           npx tsx ${fileName} --model openai:gpt-4o-mini   (every step on one model)
 * Needs:    npm install ai mustache zod, and the provider package of the models it calls:
 *           @ai-sdk/openai (OPENAI_API_KEY), @ai-sdk/anthropic (ANTHROPIC_API_KEY),
 *           @ai-sdk/google (GOOGLE_GENERATIVE_AI_API_KEY), or @ai-sdk/openai-compatible
 *           (OPENAI_COMPATIBLE_BASE_URL, OPENAI_COMPATIBLE_API_KEY) for Ollama, vLLM, LM Studio…
 *
 * Semantics are Trellis's: each step starts as soon as its inputs are ready, so parallel branches
 * run at once and a join waits for all of them (Promise.all); a router or gate fires one port and
 * what it does not take is skipped; a loop re-runs its body with the new state, at most its
 * maxIterations passes; a worker maps over its list with a concurrency cap and keeps plan order.
${pinned.length ? ` * Pinned steps answer a fixed value and call no model: ${pinned.join(", ")}.\n` : ""} */
${[
  importLine(`{ ${aiImports} }`, "ai"),
  uses("render") && importLine("Mustache", "mustache"),
  importLine("{ parseArgs }", "node:util"),
  importLine("{ pathToFileURL }", "node:url"),
  uses("callObject") && importLine("{ z }", "zod"),
]
  .filter(Boolean)
  .join("\n")}

${runtime}
// ── Models: ids like "openai:gpt-4o-mini"; keys come from the environment ───────────────────

/** The AI SDK provider for a model id (its package is loaded only when a model of it is used). */
export async function providerModel(id: string): Promise<LanguageModel> {
  const at = id.indexOf(":");
  const provider = id.slice(0, at);
  const model = id.slice(at + 1);
  switch (provider) {
    case "openai":
      return (await import("@ai-sdk/openai")).openai(model);
    case "anthropic":
      return (await import("@ai-sdk/anthropic")).anthropic(model);
    case "google":
      return (await import("@ai-sdk/google")).google(model);
    case "demo":
      throw new Error(${lit("demo models are Trellis's offline demo; pass --model provider:model (e.g. --model openai:gpt-4o-mini)")});
    default: {
      const baseURL = ${ENV}.OPENAI_COMPATIBLE_BASE_URL;
      if (!baseURL) throw new Error(\`no provider for "\${id}": set OPENAI_COMPATIBLE_BASE_URL for an OpenAI-compatible server\`);
      const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
      return createOpenAICompatible({ name: provider, baseURL, apiKey: ${ENV}.OPENAI_COMPATIBLE_API_KEY })(model);
    }
  }
}

// ── The workflow ───────────────────────────────────────────────────────────────────────────

export const INPUTS = ${block(doc.inputs.map(({ key, type, default: value, required }) => ({ key, type, ...(value !== undefined ? { default: value } : {}), ...(required ? { required } : {}) })), "")} as const;

/** Runs the workflow and answers its final state (inputs plus every step's output keys). */
export async function runWorkflow(inputs: State, models: ModelResolver = providerModel): Promise<State> {
  const state: State = { ...inputs };

${this.functions.join("\n\n")}

  // ── Wiring: each step is a promise of the ports it fired ──
${wiring.join("\n")}
  await Promise.all([${this.workflow.nodes.map((_, n) => this.name(n)).join(", ")}]);
  return state;
}

/** Command-line inputs: --key value for each input, defaults from the workflow, numbers and booleans read as such. */
function readInputs(values: Record<string, string | undefined>): State {
  const state: State = {};
  for (const input of INPUTS as ReadonlyArray<{ key: string; type: string; default?: string | number | boolean; required?: boolean }>) {
    const raw = values[input.key] ?? input.default;
    if (raw === undefined || raw === "") {
      if (input.required) throw new Error(\`--\${input.key} is required\`);
      state[input.key] = input.type === "number" ? 0 : input.type === "boolean" ? false : "";
    } else if (input.type === "number") {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(\`--\${input.key} must be a number\`);
      state[input.key] = n;
    } else if (input.type === "boolean") {
      state[input.key] = raw === true || raw === "true";
    } else state[input.key] = String(raw);
  }
  return state;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { model: { type: "string" }, json: { type: "boolean" }, ...Object.fromEntries(INPUTS.map((input) => [input.key, { type: "string" as const }])) },
  });
  const strings = values as Record<string, string | undefined>;
  const one = strings.model;
  const state = await runWorkflow(readInputs(strings), one ? () => providerModel(one) : providerModel);
  if (values.json) return console.log(JSON.stringify(state, null, 2));
  const shown: string[] = ${lit(outputKeys)};
  for (const [key, value] of Object.entries(state)) {
    if (shown.length && !shown.includes(key)) continue;
    console.log(\`\\x1b[1m\${key}\\x1b[0m\\n\${formatValue(value)}\\n\`);
  }
}

// Run from the command line; importing this file (to call runWorkflow) runs nothing.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
`;
    return { ok: true, code, fileName };
  }
}

function zodOf(field: Field): string {
  return field.type === "string[]" ? "z.array(z.string())" : field.type === "number" ? "z.number()" : field.type === "boolean" ? "z.boolean()" : "z.string()";
}

/** The program for a parsed document, or why it cannot be exported (an invalid document, overlapping loops). */
export function exportTypeScript(document: WorkflowDocument): ExportResult {
  const compiled = compileWorkflow(document);
  if (!compiled.ok) return { ok: false, message: `the workflow has ${compiled.issues.length} issue${compiled.issues.length === 1 ? "" : "s"} to fix before it can be exported: ${compiled.issues[0].message}` };
  return new Generator(compiled.workflow).generate();
}
