/**
 * Trellis on the command line: run a workflow headless, streaming every node's output live,
 * or validate a document.
 *
 *   npm run trellis -- run <file | template> [--input key=value …] [--model id] [--json]
 *   npm run trellis -- validate <file | template>
 *   npm run trellis -- export <file | template> --to ts [--out workflow.ts]
 *   npm run trellis -- plan "<task>" [--out workflow.json] [--model id]
 *   npm run trellis -- advise <file | template> [--run events.ndjson] [--json]
 *   npm run trellis -- eval <file | template> --dataset <csv | jsonl> [--assert file] [--concurrency N] [--min-pass-rate 0.9] [--json] [--model id] [--prices file]
 *   npm run trellis -- templates
 *
 * Exit codes: 0 success, 1 the run failed or was cancelled (eval: the pass rate is below
 * --min-pass-rate), 2 invalid document, dataset, assertions or usage.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createModels, unconfiguredModels, withModel } from "@/lib/server/models";
import { exportTypeScript } from "@/lib/workflow/export/typescript";
import { evalCommand } from "./trellis-eval";
import { adviseCommand, planCommand } from "./trellis-topology";
import {
  describeIssues,
  findTemplate,
  formatValue,
  MAX_DOCUMENT_BYTES,
  parseDocument,
  parseDocumentText,
  runWorkflow,
  TEMPLATES,
  validateWorkflow,
  type ParseResult,
  type RunEvent,
  type WorkflowDocument,
} from "@/lib/workflow";

const USAGE = `usage:
  trellis run <file | template> [--input key=value …] [--model provider:model] [--json]
  trellis validate <file | template>
  trellis export <file | template> --to ts [--out file.ts]
  trellis plan "<task>" [--out file.json] [--model provider:model]
  trellis advise <file | template> [--run events.ndjson] [--json]
  trellis eval <file | template> --dataset <file.csv | file.jsonl> [--assert assertions.json]
      [--concurrency N] [--min-pass-rate 0.9] [--json] [--model provider:model]
      [--embedding-model provider:model] [--prices prices.json]
  trellis templates

templates: ${TEMPLATES.map((t) => t.id).join(", ")}`;

type Out = { write(text: string): void };
const stdout: Out = { write: (text) => process.stdout.write(text) };
const stderr: Out = { write: (text) => process.stderr.write(text) };
const tty = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const dim = paint("2");
const bold = paint("1");
const green = paint("32");
const red = paint("31");
const yellow = paint("33");
const cyan = paint("36");

function load(source: string): ParseResult {
  const template = findTemplate(source);
  if (template) return parseDocument(template.json);
  let size: number;
  try {
    size = statSync(source).size;
  } catch {
    return { ok: false, issues: [{ path: "", code: "not-found", severity: "error", message: `no file or template named "${source}"` }] };
  }
  if (size > MAX_DOCUMENT_BYTES) {
    return { ok: false, issues: [{ path: "", code: "too-large", severity: "error", message: `${source} is ${size} bytes; the limit is ${MAX_DOCUMENT_BYTES}` }] };
  }
  return parseDocumentText(readFileSync(source, "utf8"));
}

function parseInputs(pairs: string[]): Record<string, string> | string {
  const inputs: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) return `--input expects key=value (got "${pair}")`;
    inputs[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return inputs;
}

/** Prints events for people: live text under a header per node (and worker instance), status lines between. */
function createPrinter(document: WorkflowDocument, out: Out) {
  const labels = new Map(document.nodes.map((node) => [node.id, node.label || node.id]));
  const instanceLabels = new Map<string, string[]>();
  let current: string | null = null;
  let atLineStart = true;
  const write = (text: string) => {
    if (!text) return;
    out.write(text);
    atLineStart = text.endsWith("\n");
  };
  const line = (text: string) => {
    if (!atLineStart) write("\n");
    current = null;
    write(`${text}\n`);
  };
  const name = (nodeId: string, instance?: number) => {
    const base = labels.get(nodeId) ?? nodeId;
    if (instance === undefined) return base;
    return `${base} #${instance + 1}${instanceLabels.get(nodeId)?.[instance] ? ` (${instanceLabels.get(nodeId)![instance]})` : ""}`;
  };
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  return (event: RunEvent) => {
    switch (event.type) {
      case "run-started":
        return line(bold(`▶ ${event.workflow}`) + dim(`  run ${event.runId}`));
      case "node-started":
        return line(dim(`… ${name(event.nodeId, event.instance)}${event.model && event.instance === undefined ? ` · ${event.model}` : ""}${event.iteration > 1 ? ` · iteration ${event.iteration}` : ""}`));
      case "node-instances":
        instanceLabels.set(event.nodeId, event.labels);
        return line(dim(`  ${name(event.nodeId)}: ${event.labels.length} instance${event.labels.length === 1 ? "" : "s"} — ${event.labels.join(", ")}`));
      case "node-delta": {
        if (event.text === undefined) return;
        const key = `${event.nodeId}#${event.instance ?? ""}`;
        if (current !== key) {
          if (!atLineStart) write("\n");
          write(cyan(`┃ ${name(event.nodeId, event.instance)}\n`));
          current = key;
        }
        return write(event.text);
      }
      case "node-finished": {
        const tokens = event.usage.inputTokens + event.usage.outputTokens;
        const ports = event.ports && event.ports.length && !event.ports.every((p) => p === "out") ? ` → ${event.ports.join(", ")}` : "";
        return line(green(`✓ ${name(event.nodeId, event.instance)}`) + dim(` ${seconds(event.ms)}${tokens ? `, ${tokens} tokens` : ""}`) + ports);
      }
      case "node-skipped":
        return line(dim(`↷ ${name(event.nodeId)} skipped (branch not taken)`));
      case "node-failed":
        return line(red(`✗ ${name(event.nodeId, event.instance)}: ${event.message}`));
      case "node-cancelled":
        return line(yellow(`■ ${name(event.nodeId, event.instance)} cancelled`));
      case "node-retry":
        return line(yellow(`↻ ${name(event.nodeId, event.instance)}: ${event.message}; attempt ${event.attempt} in ${seconds(event.delayMs)}`));
      case "loop-iteration":
        return line(cyan(`⟲ ${name(event.nodeId)} → ${name(event.targetId)}, iteration ${event.iteration}`));
      case "branches-rerun":
        return line(cyan(`⟲ ${name(event.nodeId)}: round ${event.round}, re-running ${event.nodes.map((id) => name(id)).join(", ")} (branches that disagreed)`));
      case "warning":
        return line(yellow(`! ${event.warning.nodeId ? `${name(event.warning.nodeId, event.warning.instance)}: ` : ""}${event.warning.message}`));
      case "run-finished": {
        line("");
        line(bold("Final state"));
        for (const [key, value] of Object.entries(event.state)) {
          write(`${bold(key)}:\n${formatValue(value).replace(/^/gm, "  ")}\n\n`);
        }
        const colour = event.status === "succeeded" ? green : event.status === "cancelled" ? yellow : red;
        const tokens = event.usage.inputTokens + event.usage.outputTokens;
        line(colour(`${event.status} in ${seconds(event.ms)}`) + dim(`, ${tokens} tokens, ${event.warnings.length} warning${event.warnings.length === 1 ? "" : "s"}`));
        if (event.error) line(red(event.error.message));
        return;
      }
    }
  };
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { input: { type: "string", multiple: true, short: "i" }, model: { type: "string", short: "m" }, json: { type: "boolean" } },
  });
  if (positionals.length !== 1) {
    stderr.write(`${USAGE}\n`);
    return 2;
  }
  const inputs = parseInputs(values.input ?? []);
  if (typeof inputs === "string") {
    stderr.write(`${inputs}\n`);
    return 2;
  }
  const parsed = load(positionals[0]);
  if (!parsed.ok) {
    stderr.write(`${describeIssues(parsed.issues)}\n`);
    return 2;
  }
  const models = createModels();
  const document = values.model ? withModel(parsed.document, values.model) : parsed.document;
  const missing = unconfiguredModels(document, models.registry);
  if (missing.length) {
    for (const problem of missing) stderr.write(`error at node "${problem.nodeId}": ${problem.message}\n`);
    stderr.write(`Run it with the offline demo model instead: --model demo:default\n`);
    return 2;
  }
  const controller = new AbortController();
  let interrupts = 0;
  process.on("SIGINT", () => {
    if (++interrupts > 1) process.exit(130);
    stderr.write("\nCancelling… (Ctrl-C again to quit at once)\n");
    controller.abort();
  });
  const print = values.json ? (event: RunEvent) => stdout.write(`${JSON.stringify(event)}\n`) : createPrinter(document, stdout);
  let status = "failed";
  for await (const event of runWorkflow(document, { inputs, models: models.port, signal: controller.signal, limits: models.limits })) {
    print(event);
    if (event.type === "run-finished") {
      status = event.status;
      if (event.error?.code === "invalid-document" || event.error?.code === "invalid-inputs") return 2;
    }
  }
  return status === "succeeded" ? 0 : 1;
}

function validate(args: string[]): number {
  if (args.length !== 1) {
    stderr.write(`${USAGE}\n`);
    return 2;
  }
  const parsed = load(args[0]);
  const issues = parsed.ok ? validateWorkflow(parsed.document, createModels().limits) : parsed.issues;
  const errors = issues.filter((i) => i.severity === "error");
  if (issues.length) stdout.write(`${describeIssues(issues)}\n`);
  stdout.write(errors.length ? `${errors.length} error${errors.length === 1 ? "" : "s"}\n` : "valid\n");
  return errors.length ? 2 : 0;
}

/** Writes the workflow as a self-contained TypeScript program (to --out, or stdout). */
function exportProgram(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { to: { type: "string" }, out: { type: "string", short: "o" } } });
  if (positionals.length !== 1 || values.to !== "ts") {
    stderr.write(`${USAGE}\n`);
    return 2;
  }
  const parsed = load(positionals[0]);
  if (!parsed.ok) {
    stderr.write(`${describeIssues(parsed.issues)}\n`);
    return 2;
  }
  const result = exportTypeScript(parsed.document);
  if (!result.ok) {
    stderr.write(`${result.message}\n`);
    return 2;
  }
  if (!values.out) {
    stdout.write(result.code);
    return 0;
  }
  writeFileSync(values.out, result.code);
  stderr.write(`wrote ${values.out}: run it with npx tsx ${values.out}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "run") return await run(rest);
    if (command === "validate") return validate(rest);
    if (command === "export") return exportProgram(rest);
    if (command === "plan") return await planCommand(rest, { stdout, stderr, load, usage: USAGE });
    if (command === "advise") return adviseCommand(rest, { stdout, stderr, load, usage: USAGE });
    if (command === "eval") return await evalCommand(rest, { stdout, stderr, load, usage: USAGE, tty: tty && Boolean(process.stderr.isTTY) });
    if (command === "templates") {
      for (const template of TEMPLATES) stdout.write(`${template.id.padEnd(22)}${template.whenToUse}\n`);
      return 0;
    }
    stderr.write(`${USAGE}\n`);
    return 2;
  } catch (error) {
    stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
