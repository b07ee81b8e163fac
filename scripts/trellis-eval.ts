/**
 * `trellis eval` (issue 15): run a workflow over a dataset headless, check every assertion on
 * every row, print a table and a summary (or JSON), and exit by the pass rate, for CI.
 *
 *   npm run trellis -- eval <file | template> --dataset rows.csv [--assert assertions.json]
 *     [--concurrency N] [--min-pass-rate 0.9] [--json] [--model id] [--embedding-model id]
 *     [--prices prices.json]
 *
 * `--model` replaces every language model: the workflow's nodes and the judges' (assertions that
 * name their own included). `--embedding-model` replaces every embedding model: aggregates'
 * agreement checks and similarity-by-embeddings assertions. `--model demo:…` implies
 * `--embedding-model demo:embed`, so the whole evaluation runs offline.
 *
 * Exit codes: 0 the pass rate meets the threshold, 1 it does not (or the evaluation was
 * cancelled), 2 invalid input: document, dataset, assertions, flags or models.
 */
import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { parseArgs } from "node:util";
import { createModels, unconfiguredModels, withModel, type ModelRegistry } from "@/lib/server/models";
import { DEFAULT_MODEL, describeIssues, runWorkflow, withEmbeddingModel, type ParseResult, type WorkflowDocument } from "@/lib/workflow";
import {
  createModelJudge,
  createPortEmbedder,
  DEFAULT_EMBEDDING_MODEL,
  DEFAULT_EVAL_CONCURRENCY,
  EvalConfigError,
  evaluateDataset,
  loadPriceTable,
  MAX_DATASET_BYTES,
  MAX_EVAL_CONCURRENCY,
  parseAssertions,
  parseDataset,
  rowRunFromEvents,
  type Assertion,
  type EvalServices,
  type EvalSummary,
  type RowResult,
} from "@/lib/workflow/eval";

type Out = { write(text: string): void };
type Io = { stdout: Out; stderr: Out; load(source: string): ParseResult; usage: string; tty: boolean };

class UsageError extends Error {}

function readText(path: string, what: string, maxBytes: number): string {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new UsageError(`no ${what} file ${path}`);
  }
  if (size > maxBytes) throw new UsageError(`${path} is ${(size / 1_000_000).toFixed(1)} MB; the limit for ${what} files is ${(maxBytes / 1_000_000).toFixed(1)} MB`);
  return readFileSync(path, "utf8");
}

function datasetFormat(path: string): "csv" | "jsonl" {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  throw new UsageError(`cannot tell the format of ${path}: name it .csv or .jsonl`);
}

/** The --assert file: a JSON array of assertions or `{ "assertions": [...] }`, checked against the workflow. */
function readAssertions(path: string, document: WorkflowDocument, canEmbed: boolean): Assertion[] {
  let json: unknown;
  try {
    json = JSON.parse(readText(path, "assertions", 1_000_000));
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const read = parseAssertions(json, document, { canEmbed });
  if (!read.ok) throw new UsageError(read.issues.map((found) => `${path}: ${found.path} ${found.message}`).join("\n"));
  return read.assertions;
}

/** The assertions with `--model` as every judge's model and `--embedding-model` as every embedding similarity's. */
function withAssertionModels(assertions: Assertion[], { model, embeddingModel }: { model?: string; embeddingModel?: string }): Assertion[] {
  return assertions.map((assertion) => {
    if (assertion.kind === "judge" && model) return { ...assertion, model };
    if (assertion.kind === "similar" && assertion.method === "embedding" && embeddingModel) return { ...assertion, model: embeddingModel };
    return assertion;
  });
}

/** Judge and embedding models that assertions name must be configured, like the workflow's own. */
function checkAssertionModels(assertions: Assertion[], registry: ModelRegistry): void {
  for (const assertion of assertions) {
    if (assertion.kind === "judge" && assertion.model) {
      const resolved = registry.resolve(assertion.model);
      if (!resolved.ok) throw new UsageError(`assertion "${assertion.id}": judge model ${assertion.model}: ${resolved.message}`);
    }
    if (assertion.kind === "similar" && assertion.method === "embedding") {
      const model = assertion.model ?? DEFAULT_EMBEDDING_MODEL;
      const resolved = registry.resolveEmbedding(model);
      if (!resolved.ok) throw new UsageError(`assertion "${assertion.id}": embedding model ${model}: ${resolved.message}`);
    }
  }
}

function numberFlag(value: string | undefined, flag: string, fallback: number, check: (n: number) => boolean, expected: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !check(n)) throw new UsageError(`${flag} must be ${expected} (got "${value}")`);
  return n;
}

const percent = (rate: number) => `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 1)}%`;
const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const dollars = (cost: number | null) => (cost === null ? "unknown (a model has no price)" : cost === 0 ? "$0" : `$${cost.toFixed(cost < 0.01 ? 6 : 4)}`);

/** The table people read: one line per row, ✓/✗ per assertion, then the reasons of what failed. */
function printTable(results: RowResult[], assertions: Assertion[], io: Io): void {
  const paint = (code: string) => (text: string) => (io.tty ? `\x1b[${code}m${text}\x1b[0m` : text);
  const green = paint("32");
  const red = paint("31");
  const dim = paint("2");
  const ids = [...new Set([...assertions.map((a) => a.id), ...results.flatMap((r) => r.verdicts.map((v) => v.assertionId))])];
  const header = ["row", "result", ...ids, "latency", "tokens"];
  const cells = results.map((result) => {
    const verdicts = new Map(result.verdicts.map((v) => [v.assertionId, v]));
    return [
      result.rowId,
      result.pass ? "pass" : result.status === "succeeded" ? "FAIL" : result.status,
      ...ids.map((id) => (verdicts.has(id) ? (verdicts.get(id)!.pass ? "✓" : "✗") : "·")),
      seconds(result.latencyMs),
      String(result.usage.inputTokens + result.usage.outputTokens),
    ];
  });
  const widths = header.map((title, c) => Math.max(title.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[], colour = (text: string, _c: number) => text) => row.map((cell, c) => colour(cell.padEnd(widths[c]), c)).join("  ").trimEnd();
  io.stdout.write(`${line(header, (text) => dim(text))}\n`);
  for (const row of cells) {
    io.stdout.write(`${line(row, (text, c) => (text.startsWith("✓") || text.startsWith("pass") ? green(text) : text.startsWith("✗") || (c === 1 && !text.startsWith("pass")) ? red(text) : text))}\n`);
  }
  const failures = results.flatMap((result) => result.verdicts.filter((v) => !v.pass).map((v) => ({ result, verdict: v })));
  if (failures.length) {
    io.stdout.write(`\n${red("Failed")}\n`);
    for (const { result, verdict } of failures) io.stdout.write(`  ${result.rowId} · ${verdict.assertionId}: ${verdict.reason}${verdict.error ? dim(" (could not be judged)") : ""}\n`);
  }
}

function printSummary(summary: EvalSummary, threshold: number, cancelled: boolean, io: Io): void {
  io.stdout.write(`\nSummary\n`);
  io.stdout.write(`  rows passed    ${summary.passed}/${summary.rows} (${percent(summary.rows ? summary.passed / summary.rows : 0)})${cancelled ? `, cancelled after ${summary.finished}` : ""}\n`);
  for (const a of summary.perAssertion) io.stdout.write(`  ${a.assertionId.padEnd(14)} ${percent(a.passRate).padStart(6)}  ${a.label}\n`);
  io.stdout.write(`  latency        p50 ${seconds(summary.latencyMs.p50)}, p95 ${seconds(summary.latencyMs.p95)}\n`);
  io.stdout.write(`  tokens         ${summary.usage.inputTokens + summary.usage.outputTokens} (${summary.usage.inputTokens} in, ${summary.usage.outputTokens} out)\n`);
  io.stdout.write(`  cost           ${dollars(summary.costUsd)}\n`);
  io.stdout.write(`  required       ${percent(threshold)} of rows passing\n`);
}

export async function evalCommand(args: string[], io: Io): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        dataset: { type: "string", short: "d" },
        assert: { type: "string", short: "a" },
        concurrency: { type: "string", short: "c" },
        "min-pass-rate": { type: "string" },
        json: { type: "boolean" },
        model: { type: "string", short: "m" },
        "embedding-model": { type: "string" },
        prices: { type: "string" },
      },
    }));
  } catch (error) {
    io.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${io.usage}\n`);
    return 2;
  }
  if (positionals.length !== 1 || !values.dataset) {
    io.stderr.write(`${positionals.length !== 1 ? "name one workflow file or template" : "--dataset <file.csv | file.jsonl> is required"}\n${io.usage}\n`);
    return 2;
  }
  try {
    const threshold = numberFlag(values["min-pass-rate"], "--min-pass-rate", 1, (n) => n >= 0 && n <= 1, "a number from 0 to 1");
    const concurrency = numberFlag(values.concurrency, "--concurrency", DEFAULT_EVAL_CONCURRENCY, (n) => Number.isInteger(n) && n >= 1 && n <= MAX_EVAL_CONCURRENCY, `a whole number from 1 to ${MAX_EVAL_CONCURRENCY}`);
    const parsed = io.load(positionals[0]);
    if (!parsed.ok) {
      io.stderr.write(`${describeIssues(parsed.issues)}\n`);
      return 2;
    }
    // --model demo:… makes the whole evaluation offline, as "run with the demo model" does in the editor: embeddings too.
    const embeddingModel = values["embedding-model"] ?? (values.model?.startsWith("demo:") ? DEFAULT_EMBEDDING_MODEL : undefined);
    const chosen = values.model ? withModel(parsed.document, values.model) : parsed.document;
    const document = embeddingModel ? withEmbeddingModel(chosen, embeddingModel) : chosen;
    const models = createModels();
    if (values["embedding-model"]) {
      const resolved = models.registry.resolveEmbedding(values["embedding-model"]);
      if (!resolved.ok) throw new UsageError(`--embedding-model ${values["embedding-model"]}: ${resolved.message}`);
    }
    const missing = unconfiguredModels(document, models.registry);
    if (missing.length) {
      for (const problem of missing) io.stderr.write(`error at node "${problem.nodeId}": ${problem.message}\n`);
      io.stderr.write(`Evaluate it with the offline demo model instead: --model demo:fast\n`);
      return 2;
    }
    const port = models.port;
    const judgeModel = values.model ?? document.settings?.defaultModel ?? DEFAULT_MODEL;
    const services: EvalServices = {
      judge: createModelJudge(port, judgeModel, { limits: models.limits }),
      embed: createPortEmbedder(port, embeddingModel ?? DEFAULT_EMBEDDING_MODEL, { limits: models.limits }),
    };
    const overrides = { model: values.model, embeddingModel };
    const canEmbed = Boolean(services.embed);

    const prices = loadPriceTable(values.prices, (path) => readText(path, "price table", 1_000_000));
    if (!prices.ok) throw new UsageError(prices.message);

    const datasetText = readText(values.dataset, "dataset", MAX_DATASET_BYTES);
    const dataset = parseDataset(datasetText, { format: datasetFormat(values.dataset), document, name: values.dataset, canEmbed });
    if (!dataset.ok) {
      for (const found of dataset.issues) io.stderr.write(`${values.dataset}: ${found.message}\n`);
      return 2;
    }
    if (!values.json) for (const warning of dataset.warnings) io.stderr.write(`${values.dataset}: warning: ${warning.message}\n`);

    const assertions = withAssertionModels(values.assert ? readAssertions(values.assert, document, canEmbed) : [], overrides);
    const datasetRows = dataset.dataset.rows.map((row) => (row.assertions ? { ...row, assertions: withAssertionModels(row.assertions, overrides) } : row));
    const everyAssertion = [...assertions, ...datasetRows.flatMap((row) => row.assertions ?? [])];
    checkAssertionModels(everyAssertion, models.registry);

    const controller = new AbortController();
    let interrupts = 0;
    process.on("SIGINT", () => {
      if (++interrupts > 1) process.exit(130);
      io.stderr.write("\nCancelling… finished rows are kept (Ctrl-C again to quit at once)\n");
      controller.abort();
    });
    // A terminal gets one progress line rewritten in place; a CI log gets a line per finished row.
    const liveProgress = io.tty && !values.json;
    const total = dataset.dataset.rows.length;
    let done = 0;
    const outcome = await evaluateDataset({
      document,
      dataset: { ...dataset.dataset, rows: datasetRows, assertions },
      concurrency,
      signal: controller.signal,
      services,
      prices: prices.prices,
      runRow: (row, _index, signal) => rowRunFromEvents(runWorkflow(document, { inputs: row.inputs, models: port, signal, limits: models.limits }), undefined, document),
      onProgress: liveProgress
        ? (p) => io.stderr.write(`\r${p.done}/${p.total} rows, ${p.failed} failing, ${p.running} running${p.etaMs !== null && p.done < p.total ? `, about ${seconds(p.etaMs)} left` : ""}   `)
        : undefined,
      onResult: io.tty ? undefined : (r) => io.stderr.write(`[${++done}/${total}] ${r.rowId} ${r.pass ? "pass" : r.status === "succeeded" ? "FAIL" : r.status} ${seconds(r.latencyMs)}\n`),
    });
    if (liveProgress) io.stderr.write("\n");
    const { results, summary } = outcome;
    const passRate = summary.rows ? summary.passed / summary.rows : 0;
    const ok = outcome.status === "succeeded" && passRate >= threshold;
    if (values.json) {
      const rows = results.map((r) => ({ id: r.rowId, index: r.index, runId: r.runId, status: r.status, pass: r.pass, verdicts: r.verdicts, outputs: r.outputs, latencyMs: r.latencyMs, usage: r.usage, costUsd: r.costUsd }));
      io.stdout.write(`${JSON.stringify({ rows, summary }, null, 2)}\n`);
    } else {
      printTable(results, everyAssertion, io);
      printSummary(summary, threshold, outcome.status === "cancelled", io);
      const verdict = outcome.status === "cancelled" ? "cancelled" : ok ? `passed: ${percent(passRate)} of rows pass (at least ${percent(threshold)} required)` : `failed: ${percent(passRate)} of rows pass, below the required ${percent(threshold)}`;
      io.stdout.write(`\n${verdict}\n`);
    }
    if (!ok && values.json) io.stderr.write(outcome.status === "cancelled" ? "cancelled\n" : `pass rate ${percent(passRate)} is below the required ${percent(threshold)}\n`);
    return ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    if (error instanceof EvalConfigError) {
      for (const found of error.issues) io.stderr.write(`${found.path} ${found.message}\n`);
      return 2;
    }
    throw error;
  }
}
