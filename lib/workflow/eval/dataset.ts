import Papa from "papaparse";
import { z } from "zod";
import { utf8Length } from "../engine/model-call";
import { resolveInputs } from "../inputs";
import { formatPath } from "../issues";
import { stateKey } from "../kinds/common";
import type { WorkflowDocument, WorkflowInput } from "../schema";
import { formatValue } from "../template";
import { assertionProblems, producedKeys } from "./assertions";
import { AssertionSchema, MAX_ASSERTIONS, MAX_DATASET_BYTES, MAX_DATASET_ROWS, type Assertion, type Dataset, type DatasetRow, type InputValue } from "./types";

/**
 * Dataset import and export (CSV and JSONL). Columns are matched to the workflow's inputs by key
 * (or label); `expected.<key>` columns hold reference values. Import is all or nothing: any issue
 * and no row is kept, so a dataset is never half-imported. Issues name the row (as numbered in
 * the file: the CSV header is row 1, a JSONL row is its line) and the column.
 */

export type DatasetFormat = "csv" | "jsonl";

export type DatasetIssue = {
  /** Stable machine code, e.g. `unknown-column`, `missing-input`, `too-large`. */
  code: string;
  /** A sentence that names the row and column, e.g. `row 3, column "topic": "topic" is required`. */
  message: string;
  /** The row as numbered in the file (CSV record, header = 1; JSONL line); absent for the whole file. */
  row?: number;
  column?: string;
};

export type ParseDatasetOptions = {
  format: DatasetFormat;
  document: WorkflowDocument;
  /** The dataset's name (e.g. the file's name). */
  name: string;
  /** Whether `similar` assertions may use embeddings (row assertions in JSONL are checked). */
  canEmbed?: boolean;
};

export type ParseDatasetResult = { ok: true; dataset: Dataset; warnings: DatasetIssue[] } | { ok: false; issues: DatasetIssue[] };

/** At most this many issues are reported: enough to fix a file, not a wall of text. */
const MAX_REPORTED_ISSUES = 50;
const MAX_ID_LENGTH = 64;
const MAX_VALUE_LENGTH = 100_000;

const where = (row: number | undefined, column: string | undefined, rowWord = "row") =>
  [row !== undefined ? `${rowWord} ${row}` : "", column !== undefined ? `column "${column}"` : ""].filter(Boolean).join(", ");

function problem(code: string, text: string, at: { row?: number; column?: string; rowWord?: string } = {}): DatasetIssue {
  const place = where(at.row, at.column, at.rowWord);
  return { code, message: place ? `${place}: ${text}` : text, ...(at.row !== undefined ? { row: at.row } : {}), ...(at.column !== undefined ? { column: at.column } : {}) };
}

function describeInputs(document: WorkflowDocument): string {
  if (!document.inputs.length) return "the workflow has no inputs";
  return `its inputs are ${document.inputs.map((input) => (input.label && input.label !== input.key ? `${input.key} ("${input.label}")` : input.key)).join(", ")}`;
}

/** The workflow input a column (or JSON key) names: by key, else by key or label ignoring case. */
function inputNamed(document: WorkflowDocument, name: string): WorkflowInput | undefined {
  const exact = document.inputs.find((input) => input.key === name);
  if (exact) return exact;
  const lower = name.trim().toLowerCase();
  return document.inputs.find((input) => input.key.toLowerCase() === lower || (input.label ?? "").trim().toLowerCase() === lower);
}

/**
 * The row id column: `row.id` (no input key has a dot), or `id` (any case) unless the workflow has
 * an input of that name. Export writes `row.id` when `id` would name an input.
 */
function isIdColumn(document: WorkflowDocument, name: string): boolean {
  const lower = name.trim().toLowerCase();
  return (lower === "id" || lower === ROW_ID_COLUMN) && !inputNamed(document, name);
}

const ROW_ID_COLUMN = "row.id";

/**
 * Spreadsheet formula injection (CSV export). A spreadsheet runs a cell that starts with `=`, `+`,
 * `-`, `@`, a tab or a carriage return as a formula, so export writes such a cell with a leading `'`
 * (which spreadsheets show as text and hide), and import removes one leading `'` from a cell that
 * is `'`s followed by one of those characters. Cells that already start with `'`s then one of them
 * get one more `'` on export, so import∘export is exact for every value. Plain numbers (`-5`,
 * `+1.5e3`) are left alone: they are not formulas.
 */
const FORMULA_START = /^'*[=+\-@\t\r]/;
const ESCAPED_FORMULA = /^'+[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** A cell as export writes it: a leading `'` when a spreadsheet would run it as a formula. */
export function csvSafeCell(value: string): string {
  return FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
}

/** A CSV cell's value: the export's leading `'` removed. */
export function csvCellValue(cell: string): string {
  return ESCAPED_FORMULA.test(cell) ? cell.slice(1) : cell;
}

/** The output key of an `expected.<key>` / `expected:<key>` column, or null when the name is not one. */
function expectedKey(name: string): string | null {
  const match = /^expected[.:](.*)$/i.exec(name.trim());
  return match ? match[1].trim() : null;
}

type RawRow = {
  /** Row number in the file. */
  at: number;
  id?: string;
  /** Input values by input key, as given (strings from CSV; JSON values from JSONL). */
  inputs: Record<string, unknown>;
  /** Columns (or JSON keys) the inputs came from, for messages. */
  columns: Record<string, string>;
  expected: Record<string, string>;
  assertions?: unknown;
};

/**
 * Checks and coerces raw rows into dataset rows: required inputs present, values of the input's
 * type, ids unique. Ids are assigned (`r1`, `r2`, …, skipping ones in use) where a row has none.
 */
function buildRows(raw: RawRow[], options: ParseDatasetOptions, rowWord: string): { rows: DatasetRow[]; issues: DatasetIssue[] } {
  const { document } = options;
  const issues: DatasetIssue[] = [];
  const rows: DatasetRow[] = [];
  const seenIds = new Map<string, number>();
  for (const row of raw) {
    if (row.id === undefined) continue;
    if (row.id.length > MAX_ID_LENGTH) issues.push(problem("invalid-id", `the id is longer than ${MAX_ID_LENGTH} characters`, { row: row.at, column: "id", rowWord }));
    const first = seenIds.get(row.id);
    if (first !== undefined) issues.push(problem("duplicate-id", `the id "${row.id}" is already used by ${rowWord} ${first}`, { row: row.at, column: "id", rowWord }));
    else seenIds.set(row.id, row.at);
  }
  let next = 1;
  const freshId = () => {
    while (seenIds.has(`r${next}`)) next++;
    seenIds.set(`r${next}`, 0);
    return `r${next++}`;
  };
  for (const row of raw) {
    const given: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row.inputs)) if (value !== "" && value !== null && value !== undefined) given[key] = value;
    const resolved = resolveInputs(document, given);
    if (!resolved.ok) {
      for (const found of resolved.issues) {
        const key = found.path.replace(/^inputs\./, "");
        const text = found.code === "missing-input" ? `"${key}" is required and has no default` : found.message;
        issues.push(problem(found.code, text, { row: row.at, column: row.columns[key] ?? key, rowWord }));
      }
      continue;
    }
    const inputs: Record<string, InputValue> = {};
    for (const key of Object.keys(given)) inputs[key] = resolved.values[key];
    for (const [key, value] of Object.entries(row.expected)) {
      if (value.length > MAX_VALUE_LENGTH) issues.push(problem("invalid-expected", `the expected value is longer than 100,000 characters`, { row: row.at, column: `expected.${key}`, rowWord }));
    }
    const out: DatasetRow = { id: row.id ?? freshId(), inputs };
    if (Object.keys(row.expected).length) out.expected = row.expected;
    if (row.assertions !== undefined) {
      const parsed = parseRowAssertions(row.assertions, options, row.at, rowWord);
      issues.push(...parsed.issues);
      if (parsed.assertions.length) out.assertions = parsed.assertions;
    }
    rows.push(out);
  }
  return { rows, issues };
}

function parseRowAssertions(value: unknown, options: ParseDatasetOptions, at: number, rowWord: string): { assertions: Assertion[]; issues: DatasetIssue[] } {
  const parsed = z.array(AssertionSchema).max(MAX_ASSERTIONS).safeParse(value);
  if (!parsed.success) {
    return {
      assertions: [],
      issues: parsed.error.issues.map((zodIssue) =>
        problem("invalid-assertion", `${formatPath(["assertions", ...zodIssue.path])} ${zodIssue.message}`, { row: at, column: "assertions", rowWord }),
      ),
    };
  }
  const problems = assertionProblems(parsed.data, options.document, { canEmbed: options.canEmbed }).filter((p) => p.severity === "error");
  return {
    assertions: parsed.data,
    issues: problems.map((p) => problem(p.code, `${p.path} ${p.message}`, { row: at, column: "assertions", rowWord })),
  };
}

/** Expected values are text; numbers, booleans and objects from JSONL are written as the grid shows them. */
function expectedText(value: unknown): string {
  return typeof value === "string" ? value : formatValue(value);
}

function parseCsv(text: string, options: ParseDatasetOptions): { raw: RawRow[]; issues: DatasetIssue[]; warnings: DatasetIssue[] } {
  const parsed = Papa.parse<string[]>(text, { delimiter: ",", skipEmptyLines: false });
  const issues: DatasetIssue[] = [];
  const warnings: DatasetIssue[] = [];
  for (const error of parsed.errors) {
    // Papa numbers data records from 0 (the header is record 0): the file's row is one more.
    const row = error.row !== undefined && error.row !== null ? error.row + 1 : undefined;
    const text = error.code === "MissingQuotes" ? "a quoted cell is never closed (a \" is missing)" : error.message;
    issues.push(problem(`csv-${error.code}`, text, { row }));
  }
  const records = parsed.data;
  const isBlank = (record: string[]) => record.length === 0 || (record.length === 1 && record[0].trim() === "");
  const header = records[0] ?? [];
  if (isBlank(header)) return { raw: [], issues: [problem("empty", "the file has no header row")], warnings };

  const { document } = options;
  type Column = { kind: "id" } | { kind: "input"; key: string } | { kind: "expected"; key: string } | { kind: "ignored" };
  const columns: Column[] = [];
  const claimed = new Map<string, string>();
  header.forEach((cell, i) => {
    const name = cell.trim();
    const column = name || `#${i + 1}`;
    if (!name) {
      issues.push(problem("unnamed-column", `the header cell is empty; name the column after one of the workflow's inputs (${describeInputs(document)})`, { row: 1, column }));
      columns.push({ kind: "ignored" });
      return;
    }
    const claim = (what: string) => {
      const earlier = claimed.get(what);
      if (earlier !== undefined) issues.push(problem("duplicate-column", `this column repeats column "${earlier}"`, { row: 1, column }));
      claimed.set(what, name);
    };
    if (isIdColumn(document, name)) {
      claim("id");
      columns.push({ kind: "id" });
      return;
    }
    const expected = expectedKey(name);
    if (expected !== null) {
      if (!stateKey.safeParse(expected).success) {
        issues.push(problem("invalid-column", `"${expected}" is not an output key (letters, digits and _, not starting with a digit)`, { row: 1, column }));
        columns.push({ kind: "ignored" });
        return;
      }
      claim(`expected.${expected}`);
      columns.push({ kind: "expected", key: expected });
      return;
    }
    const input = inputNamed(document, name);
    if (!input) {
      const separator = header.length === 1 ? [";", "\t", "|"].find((candidate) => name.includes(candidate)) : undefined;
      const hint = separator ? ` The file seems to separate columns with ${separator === "\t" ? "tabs" : `"${separator}"`}: save it comma-separated.` : "";
      issues.push(problem("unknown-column", `"${name}" is not an input of this workflow; ${describeInputs(document)} (reference values go in "expected.<key>" columns).${hint}`, { row: 1, column }));
      columns.push({ kind: "ignored" });
      return;
    }
    claim(`input.${input.key}`);
    columns.push({ kind: "input", key: input.key });
  });

  const raw: RawRow[] = [];
  records.slice(1).forEach((record, i) => {
    const at = i + 2;
    if (isBlank(record)) {
      if (i < records.length - 2) warnings.push(problem("blank-row", "blank row skipped", { row: at }));
      return;
    }
    if (record.length !== header.length) {
      issues.push(problem("column-count", `has ${record.length} cell${record.length === 1 ? "" : "s"}; the header has ${header.length}`, { row: at }));
      return;
    }
    const row: RawRow = { at, inputs: {}, columns: {}, expected: {} };
    record.forEach((written, c) => {
      const cell = csvCellValue(written);
      const column = columns[c];
      if (column.kind === "id") {
        if (cell.trim()) row.id = cell.trim();
      } else if (column.kind === "input") {
        row.inputs[column.key] = cell;
        row.columns[column.key] = header[c].trim();
      } else if (column.kind === "expected") {
        if (cell !== "") row.expected[column.key] = cell;
      }
    });
    raw.push(row);
  });
  return { raw, issues, warnings };
}

const JsonlRowSchema = z.strictObject({
  id: z.union([z.string(), z.number()]).optional(),
  inputs: z.record(z.string(), z.unknown()),
  expected: z.record(z.string(), z.unknown()).optional(),
  assertions: z.unknown().optional(),
});

function parseJsonl(text: string, options: ParseDatasetOptions): { raw: RawRow[]; issues: DatasetIssue[]; warnings: DatasetIssue[] } {
  const { document } = options;
  const issues: DatasetIssue[] = [];
  const raw: RawRow[] = [];
  const at = { rowWord: "line" };
  const readExpected = (value: Record<string, unknown>, line: number, into: Record<string, string>) => {
    for (const [key, expected] of Object.entries(value)) {
      if (!stateKey.safeParse(key).success) issues.push(problem("invalid-expected", `"${key}" is not an output key`, { ...at, row: line, column: `expected.${key}` }));
      else if (expected !== null && expected !== undefined && expected !== "") into[key] = expectedText(expected);
    }
  };
  text.split(/\r?\n/).forEach((lineText, i) => {
    const line = i + 1;
    if (!lineText.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(lineText);
    } catch (error) {
      issues.push(problem("invalid-json", `not valid JSON (${error instanceof Error ? error.message : String(error)})`, { ...at, row: line }));
      return;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      issues.push(problem("invalid-row", "must be a JSON object of input values", { ...at, row: line }));
      return;
    }
    const object = value as Record<string, unknown>;
    const row: RawRow = { at: line, inputs: {}, columns: {}, expected: {} };
    const nested = typeof object.inputs === "object" && object.inputs !== null && !Array.isArray(object.inputs) && !inputNamed(document, "inputs");
    const idOf = (id: unknown) => (typeof id === "string" && id.trim() ? id.trim() : typeof id === "number" ? String(id) : undefined);
    if (nested) {
      const parsed = JsonlRowSchema.safeParse(object);
      if (!parsed.success) {
        for (const zodIssue of parsed.error.issues) {
          const path = zodIssue.code === "unrecognized_keys" ? zodIssue.keys.join(", ") : formatPath(zodIssue.path);
          const text = zodIssue.code === "unrecognized_keys" ? "is not allowed beside \"inputs\" (use id, inputs, expected, assertions)" : zodIssue.message;
          issues.push(problem("invalid-row", `${path} ${text}`, { ...at, row: line }));
        }
        return;
      }
      row.id = idOf(parsed.data.id);
      for (const [name, given] of Object.entries(parsed.data.inputs)) addInput(row, name, given);
      if (parsed.data.expected) readExpected(parsed.data.expected, line, row.expected);
      row.assertions = parsed.data.assertions;
    } else {
      for (const [name, given] of Object.entries(object)) {
        if (isIdColumn(document, name)) row.id = idOf(given);
        else if (name === "assertions") row.assertions = given;
        else if (name === "expected" && typeof given === "object" && given !== null && !Array.isArray(given)) readExpected(given as Record<string, unknown>, line, row.expected);
        else if (expectedKey(name) !== null) readExpected({ [expectedKey(name)!]: given }, line, row.expected);
        else addInput(row, name, given);
      }
    }
    raw.push(row);
  });

  function addInput(row: RawRow, name: string, given: unknown) {
    const input = inputNamed(document, name);
    if (!input) {
      issues.push(problem("unknown-column", `"${name}" is not an input of this workflow; ${describeInputs(document)}`, { ...at, row: row.at, column: name }));
      return;
    }
    if (given !== null && typeof given === "object") {
      issues.push(problem("invalid-input", `"${input.key}" must be a ${input.type === "number" ? "number" : input.type === "boolean" ? "boolean" : "string"}, not ${Array.isArray(given) ? "a list" : "an object"}`, { ...at, row: row.at, column: name }));
      return;
    }
    row.inputs[input.key] = given;
    row.columns[input.key] = name;
  }
  return { raw, issues, warnings: [] };
}

/** Parses a CSV or JSONL dataset for a workflow. Never throws; any issue means no rows. */
export function parseDataset(text: string, options: ParseDatasetOptions): ParseDatasetResult {
  const bytes = utf8Length(text);
  if (bytes > MAX_DATASET_BYTES) {
    return { ok: false, issues: [problem("too-large", `the file is ${formatBytes(bytes)}; the limit is ${formatBytes(MAX_DATASET_BYTES)}`)] };
  }
  const body = text.replace(/^\uFEFF/, "");
  if (!body.trim()) return { ok: false, issues: [problem("empty", "the file is empty")] };
  const rowWord = options.format === "csv" ? "row" : "line";
  const read = options.format === "csv" ? parseCsv(body, options) : parseJsonl(body, options);
  if (read.raw.length > MAX_DATASET_ROWS) {
    return { ok: false, issues: [problem("too-many-rows", `the file has ${read.raw.length.toLocaleString("en-US")} rows; the limit is ${MAX_DATASET_ROWS.toLocaleString("en-US")}`)] };
  }
  const built = buildRows(read.raw, options, rowWord);
  const issues = [...read.issues, ...built.issues];
  if (!issues.length && !built.rows.length) issues.push(problem("empty", options.format === "csv" ? "the file has a header but no rows" : "the file has no rows"));
  if (issues.length) {
    const shown = issues.slice(0, MAX_REPORTED_ISSUES);
    if (issues.length > shown.length) shown.push(problem("more-issues", `…and ${issues.length - shown.length} more issues`));
    return { ok: false, issues: shown };
  }
  const produced = producedKeys(options.document);
  const unproduced = [...new Set(built.rows.flatMap((row) => Object.keys(row.expected ?? {})))].filter((key) => !produced.has(key));
  const warnings = [
    ...read.warnings,
    ...unproduced.map((key) => problem("unknown-expected-key", `the workflow produces no "${key}", so no assertion can compare with it`, { column: `expected.${key}` })),
  ];
  // The name fits the dataset schema (a file path can be longer).
  const name = options.name.trim().slice(0, 120) || "dataset";
  return { ok: true, dataset: { name, rows: built.rows, assertions: [] }, warnings };
}

function formatBytes(bytes: number): string {
  return bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${Math.ceil(bytes / 1000)} kB`;
}

/** The columns of an export: id, the inputs (the workflow's order when given, else first use), then expected.<key>. */
function exportColumns(dataset: Dataset, document?: WorkflowDocument): { inputs: string[]; expected: string[] } {
  const inputs = new Set(document?.inputs.map((input) => input.key) ?? []);
  const expected = new Set<string>();
  for (const row of dataset.rows) {
    for (const key of Object.keys(row.inputs)) inputs.add(key);
    for (const key of Object.keys(row.expected ?? {})) expected.add(key);
  }
  return { inputs: [...inputs], expected: [...expected] };
}

/**
 * CSV (RFC 4180, CRLF) with a header row; row assertions are not part of CSV (use JSONL to keep
 * them). The id column is `id`, or `row.id` when `id` names an input; cells a spreadsheet would run
 * as formulas get a leading `'` that import removes (`csvSafeCell`).
 */
export function datasetToCsv(dataset: Dataset, document?: WorkflowDocument): string {
  const { inputs, expected } = exportColumns(dataset, document);
  const idNamesInput = inputs.some((key) => key.toLowerCase() === "id") || Boolean(document && inputNamed(document, "id"));
  const fields = [idNamesInput ? ROW_ID_COLUMN : "id", ...inputs, ...expected.map((key) => `expected.${key}`)];
  const data = dataset.rows.map((row) =>
    [row.id, ...inputs.map((key) => (row.inputs[key] === undefined ? "" : String(row.inputs[key]))), ...expected.map((key) => row.expected?.[key] ?? "")].map(csvSafeCell),
  );
  return `${Papa.unparse({ fields, data }, { newline: "\r\n" })}\r\n`;
}

/** One JSON object per line: `{ id, inputs, expected?, assertions? }`. */
export function datasetToJsonl(dataset: Dataset): string {
  return dataset.rows
    .map((row) => JSON.stringify({ id: row.id, inputs: row.inputs, ...(row.expected ? { expected: row.expected } : {}), ...(row.assertions ? { assertions: row.assertions } : {}) }))
    .map((line) => `${line}\n`)
    .join("");
}
