/**
 * `trellis plan` and `trellis advise` (issue 14): plan a workflow from a task description, and
 * advise on a drawn one (optionally timed with a run recorded by `trellis run --json`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { planWorkflow } from "@/lib/server/plan";
import { adviseWorkflow, serializeDocument, describeIssues, type ParseResult, type RunEvent } from "@/lib/workflow";

type Out = { write(text: string): void };
type Io = { stdout: Out; stderr: Out; load(source: string): ParseResult; usage: string };

/** Plans from a task: the explanation and the plan to stderr, the document to --out or stdout. */
export async function planCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: "string", short: "o" }, model: { type: "string", short: "m" } } });
  if (positionals.length !== 1) {
    io.stderr.write(`${io.usage}\n`);
    return 2;
  }
  const result = await planWorkflow({ task: positionals[0], model: values.model });
  if (!result.ok) {
    io.stderr.write(`${result.error.message}\n`);
    return result.error.code === "planner-failed" ? 1 : 2;
  }
  const { explanation, subtasks, repairs, document } = result.data;
  const title = new Map(subtasks.map((s) => [s.id, s.title]));
  io.stderr.write(`${explanation}\n\n`);
  subtasks.forEach((s, i) => io.stderr.write(`  ${i + 1}. ${s.title}${s.dependsOn.length ? `  (after ${s.dependsOn.map((d) => title.get(d)).join(", ")})` : ""}\n`));
  for (const repair of repairs) io.stderr.write(`  repaired: ${repair}\n`);
  if (values.out) {
    writeFileSync(values.out, `${serializeDocument(document)}\n`);
    io.stderr.write(`\nwrote ${values.out}: run it with npm run trellis -- run ${values.out}\n`);
  } else {
    io.stdout.write(`${serializeDocument(document)}\n`);
  }
  return 0;
}

/** Milliseconds per node from a run's NDJSON events (`trellis run --json`), loop iterations summed. */
export function durationsFromEvents(text: string): Record<string, number> {
  const durations: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as RunEvent;
    if (event.type === "node-finished" && event.instance === undefined) durations[event.nodeId] = (durations[event.nodeId] ?? 0) + event.ms;
  }
  return durations;
}

export function adviseCommand(args: string[], io: Io): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: "boolean" }, run: { type: "string" } } });
  if (positionals.length !== 1) {
    io.stderr.write(`${io.usage}\n`);
    return 2;
  }
  const parsed = io.load(positionals[0]);
  if (!parsed.ok) {
    io.stderr.write(`${describeIssues(parsed.issues)}\n`);
    return 2;
  }
  let durations: Record<string, number> | undefined;
  if (values.run) {
    try {
      durations = durationsFromEvents(readFileSync(values.run, "utf8"));
    } catch (error) {
      io.stderr.write(`could not read the run ${values.run}: ${error instanceof Error ? error.message : String(error)}\n`);
      return 2;
    }
  }
  const report = adviseWorkflow(parsed.document, { durations });
  if (values.json) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.blocked ? 2 : 0;
  }
  if (report.blocked) {
    io.stderr.write(`${report.blocked}\n`);
    return 2;
  }
  const label = new Map(parsed.document.nodes.map((n) => [n.id, n.label || n.id]));
  io.stdout.write(`${report.analysis?.explanation}\n`);
  if (!report.advice.length) io.stdout.write("\nNo advice: every edge carries data a step reads, parallel merges are checked, no branch repeats another.\n");
  report.advice.forEach((advice, i) => {
    io.stdout.write(`\n${i + 1}. ${advice.title}\n`);
    io.stdout.write(`   nodes: ${advice.nodes.map((id) => `${id} (${label.get(id)})`).join(", ")}\n`);
    io.stdout.write(`   ${advice.evidence}\n`);
    io.stdout.write(`   source: ${advice.source.title}, ${advice.source.url} — ${advice.source.finding}\n`);
    if (advice.fix) {
      io.stdout.write(`   fix (${advice.fix.label}; --json has the fixed document):\n`);
      for (const change of advice.fix.changes) io.stdout.write(`     - ${change}\n`);
    }
  });
  return 0;
}
