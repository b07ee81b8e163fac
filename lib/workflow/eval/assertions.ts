import { z } from "zod";
import { matchesPattern, patternProblem } from "../condition";
import { issue, formatPath, type ValidationIssue } from "../issues";
import { fieldsValidator, type Field } from "../kinds/common";
import type { WorkflowDocument } from "../schema";
import { formatValue } from "../template";
import { textSimilarity } from "../topology/text";
import { kindOf } from "../validate";
import { cosineSimilarity, type TokenUsage } from "../engine/model-port";
import { AssertionSchema, MAX_ASSERTIONS, type Assertion, type DatasetRow, type RowRun, type Verdict } from "./types";

/**
 * Assertions: declarative checks of one output key of a row's run (never code). Configuration
 * problems are found before an evaluation starts; `checkAssertion` turns one assertion and one
 * run into a verdict with a reason a person reads in the results grid.
 */

export type JudgeRequest = {
  rubric: string;
  /** The output key judged and its value as text. */
  key: string;
  text: string;
  /** The row's inputs, so the rubric may refer to the question asked. */
  inputs: Record<string, unknown>;
  /** The row's expected value for the key, when it has one. */
  expected?: string;
  model?: string;
};
export type JudgeAnswer = { pass: boolean; reason: string; model?: string; usage?: TokenUsage };
export type EmbedAnswer = { embeddings: number[][]; model?: string; usage?: TokenUsage };

/** What assertions may call beyond the run: an LLM judge and an embedding model, each optional. */
export type EvalServices = {
  judge?: (request: JudgeRequest, signal?: AbortSignal) => Promise<JudgeAnswer>;
  /** One vector per text, in order; with the tokens it spent and the model that spent them when known. */
  embed?: (texts: string[], options: { model?: string; signal?: AbortSignal }) => Promise<number[][] | EmbedAnswer>;
};

export type AssertionOptions = {
  /** An embedding model is configured: `similar` with `method: "embedding"` may run. */
  canEmbed?: boolean;
  /** Prefix for issue paths (default `assertions`). */
  path?: string;
};

/** The keys a run can produce: inputs, every key a node writes, and every key an output node shows. */
export function producedKeys(document: WorkflowDocument): Set<string> {
  const keys = new Set(document.inputs.map((input) => input.key));
  for (const node of document.nodes) {
    for (const key of kindOf(node).writes(node.config)) keys.add(key);
    if (node.kind === "output") for (const key of node.config.keys) keys.add(key);
  }
  return keys;
}

/** The structured-output fields of the node(s) writing `key`, or null when none writes fields. */
export function fieldsWriting(document: WorkflowDocument, key: string): Field[] | null {
  for (const node of document.nodes) {
    if (node.kind === "llm" && node.config.outputKey === key && node.config.output?.type === "fields") return node.config.output.fields;
  }
  return null;
}

/** Problems of well-typed assertions against a workflow: keys it never produces, patterns, bounds, schemas, ids. */
export function assertionProblems(assertions: ReadonlyArray<Assertion>, document: WorkflowDocument, options: AssertionOptions = {}): ValidationIssue[] {
  const base = options.path ?? "assertions";
  const keys = producedKeys(document);
  const issues: ValidationIssue[] = [];
  const seen = new Map<string, number>();
  if (assertions.length > MAX_ASSERTIONS) issues.push(issue("too-many-assertions", base, `at most ${MAX_ASSERTIONS} assertions`));
  assertions.forEach((assertion, i) => {
    const at = (field?: string) => `${base}[${i}]${field ? `.${field}` : ""}`;
    const first = seen.get(assertion.id);
    if (first !== undefined) issues.push(issue("duplicate-assertion-id", at("id"), `"${assertion.id}" is already the id of ${base}[${first}]`));
    else seen.set(assertion.id, i);
    if (!keys.has(assertion.key)) {
      issues.push(issue("unknown-output-key", at("key"), `"${assertion.key}" is not produced by this workflow (it produces ${[...keys].sort().join(", ") || "nothing"})`));
    }
    switch (assertion.kind) {
      case "matches": {
        const why = patternProblem(assertion.pattern);
        if (why) issues.push(issue("invalid-pattern", at("pattern"), why));
        break;
      }
      case "length_between":
        if (assertion.min === undefined && assertion.max === undefined) issues.push(issue("missing-bounds", at(), "needs min, max or both"));
        else if (assertion.min !== undefined && assertion.max !== undefined && assertion.min > assertion.max) {
          issues.push(issue("invalid-bounds", at("min"), `min (${assertion.min}) is above max (${assertion.max})`));
        }
        break;
      case "schema":
        if (!assertion.fields && keys.has(assertion.key) && !fieldsWriting(document, assertion.key)) {
          issues.push(issue("missing-fields", at("fields"), `no node writes "${assertion.key}" with structured-output fields; list the fields to check against`));
        }
        if (assertion.fields) {
          const names = assertion.fields.map((field) => field.name);
          const duplicate = names.find((name, j) => names.indexOf(name) !== j);
          if (duplicate) issues.push(issue("duplicate-field", at("fields"), `field "${duplicate}" appears twice`));
        }
        break;
      case "similar":
        if (assertion.method === "embedding" && !options.canEmbed) {
          issues.push(issue("no-embedding-model", at("method"), "no embedding model is configured; use the lexical method or configure one"));
        }
        break;
      default:
        break;
    }
  });
  return issues;
}

/** Parses assertions from JSON (an array, or `{ "assertions": [...] }`) and checks them against the workflow. */
export function parseAssertions(
  value: unknown,
  document: WorkflowDocument,
  options: AssertionOptions = {},
): { ok: true; assertions: Assertion[] } | { ok: false; issues: ValidationIssue[] } {
  const base = options.path ?? "assertions";
  const list = value && typeof value === "object" && !Array.isArray(value) && "assertions" in value ? (value as { assertions: unknown }).assertions : value;
  const parsed = z.array(AssertionSchema).max(MAX_ASSERTIONS).safeParse(list);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((zodIssue) =>
        issue("invalid-assertion", formatPath([base, ...zodIssue.path]), zodIssue.path.length ? zodIssue.message : `must be a list of assertions (${zodIssue.message})`),
      ),
    };
  }
  const issues = assertionProblems(parsed.data, document, options).filter((found) => found.severity === "error");
  return issues.length ? { ok: false, issues } : { ok: true, assertions: parsed.data };
}

const quote = (text: string, max = 60) => JSON.stringify(text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** How an assertion reads in a grid header when it has no label. */
export function describeAssertion(assertion: Assertion): string {
  if (assertion.label) return assertion.label;
  switch (assertion.kind) {
    case "equals":
      return `${assertion.key} = ${assertion.value !== undefined ? quote(assertion.value, 30) : "expected"}`;
    case "contains":
      return `${assertion.key} contains ${quote(assertion.value, 30)}`;
    case "not_contains":
      return `${assertion.key} does not contain ${quote(assertion.value, 30)}`;
    case "matches":
      return `${assertion.key} matches /${assertion.pattern}/`;
    case "length_between":
      return `${assertion.key} length ${assertion.min ?? 0}–${assertion.max ?? "∞"}`;
    case "schema":
      return `${assertion.key} fits its schema`;
    case "similar":
      return `${assertion.key} similar to ${assertion.reference !== undefined ? "reference" : "expected"} ≥ ${assertion.threshold}`;
    case "judge":
      return `${assertion.key} judged: ${assertion.rubric.length > 40 ? `${assertion.rubric.slice(0, 39)}…` : assertion.rubric}`;
  }
}

/** The value an assertion checks: the run's outputs first, then its final state. */
function valueOf(run: RowRun, key: string): unknown {
  if (Object.prototype.hasOwnProperty.call(run.outputs, key)) return run.outputs[key];
  if (Object.prototype.hasOwnProperty.call(run.state, key)) return run.state[key];
  return undefined;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/** Cosine similarity of two vectors, clamped to 0–1; vectors of different lengths are an error here (a broken embedding model). */
export function vectorCosine(a: ReadonlyArray<number>, b: ReadonlyArray<number>): number {
  if (a.length !== b.length || !a.length) throw new Error(`the embedding vectors differ in length (${a.length} and ${b.length})`);
  return cosineSimilarity(a, b);
}

function describeSchemaIssue(zodIssue: z.core.$ZodIssue, checked: unknown): string {
  const path = formatPath(zodIssue.path);
  if (zodIssue.code === "unrecognized_keys") return `unexpected field${zodIssue.keys.length === 1 ? "" : "s"} ${zodIssue.keys.map((k) => `"${k}"`).join(", ")}`;
  if (zodIssue.code === "invalid_type") {
    const present = zodIssue.path.reduce<unknown>((at, segment) => (at && typeof at === "object" ? (at as Record<PropertyKey, unknown>)[segment] : undefined), checked);
    return `"${path}" ${present === undefined ? "is missing" : `must be ${zodIssue.expected}`}`;
  }
  return `"${path}" ${zodIssue.message}`;
}

/**
 * One assertion's verdict on one row. Never throws: a judge or embedding failure is a failing
 * verdict with `error: true` and the reason; a run that did not succeed fails every assertion
 * with the run's error.
 */
export async function checkAssertion(
  assertion: Assertion,
  { row, run }: { row: DatasetRow; run: RowRun },
  services: EvalServices = {},
  signal?: AbortSignal,
): Promise<Verdict> {
  const verdict = (pass: boolean, reason: string, extra: Partial<Verdict> = {}): Verdict => ({ assertionId: assertion.id, pass, reason, ...extra });
  if (run.status !== "succeeded") {
    return verdict(false, `the run ${run.status}${run.error ? `: ${run.error.message}` : ""}`);
  }
  const value = valueOf(run, assertion.key);
  if (value === undefined) return verdict(false, `the run produced no "${assertion.key}"`);
  const text = formatValue(value);
  // Tokens a check spent (an embedding call), kept on its verdict even when the check then fails.
  let spent: Pick<Verdict, "usage" | "model"> = {};
  try {
    switch (assertion.kind) {
      case "equals": {
        const expected = assertion.value ?? row.expected?.[assertion.key];
        if (expected === undefined) return verdict(false, `no value to compare with: the assertion has none and the row has no expected "${assertion.key}"`, { error: true });
        const normal = (s: string) => {
          const trimmed = assertion.trim === false ? s : s.trim();
          return assertion.ignoreCase ? trimmed.toLowerCase() : trimmed;
        };
        return normal(text) === normal(expected) ? verdict(true, `equals ${quote(expected)}`) : verdict(false, `expected ${quote(expected)}; got ${quote(text)}`);
      }
      case "contains":
      case "not_contains": {
        const found = assertion.ignoreCase ? text.toLowerCase().includes(assertion.value.toLowerCase()) : text.includes(assertion.value);
        if (assertion.kind === "contains") return found ? verdict(true, `contains ${quote(assertion.value)}`) : verdict(false, `expected to contain ${quote(assertion.value)}; it does not`);
        return found ? verdict(false, `expected not to contain ${quote(assertion.value)}; it does`) : verdict(true, `does not contain ${quote(assertion.value)}`);
      }
      case "matches":
        return matchesPattern(assertion.pattern, text, assertion.ignoreCase)
          ? verdict(true, `matches /${assertion.pattern}/`)
          : verdict(false, `expected to match /${assertion.pattern}/; it does not`);
      case "length_between": {
        const length = text.length;
        if (assertion.min !== undefined && length < assertion.min) return verdict(false, `length ${length} is below ${assertion.min}`);
        if (assertion.max !== undefined && length > assertion.max) return verdict(false, `length ${length} is above ${assertion.max}`);
        return verdict(true, `length ${length} is within ${assertion.min ?? 0}–${assertion.max ?? "∞"}`);
      }
      case "schema": {
        const fields = assertion.fields ?? null;
        if (!fields) return verdict(false, `no fields to check "${assertion.key}" against`, { error: true });
        let object: unknown = value;
        if (typeof value === "string") {
          try {
            object = JSON.parse(value);
          } catch {
            return verdict(false, `"${assertion.key}" is text, not a JSON object`);
          }
        }
        const checked = fieldsValidator(fields).strict().safeParse(object);
        if (checked.success) return verdict(true, `fits the schema (${fields.map((f) => f.name).join(", ")})`);
        const problems = checked.error.issues.map((found) => describeSchemaIssue(found, object));
        const notObject = checked.error.issues.some((found) => found.code === "invalid_type" && !found.path.length);
        return verdict(false, notObject ? `"${assertion.key}" must be an object` : problems.slice(0, 3).join("; "));
      }
      case "similar": {
        const reference = assertion.reference ?? row.expected?.[assertion.key];
        if (reference === undefined) return verdict(false, `no reference: the assertion has none and the row has no expected "${assertion.key}"`, { error: true });
        let score: number;
        if (assertion.method === "embedding") {
          if (!services.embed) return verdict(false, "no embedding model is configured", { error: true });
          const answer = await services.embed([text, reference], { model: assertion.model, signal });
          const { embeddings: vectors, model, usage } = Array.isArray(answer) ? { embeddings: answer } : answer;
          // Spent even when the vectors turn out unusable: counted before they are checked.
          if (usage && model) spent = { usage, model };
          if (!Array.isArray(vectors) || vectors.length !== 2) throw new Error(`the embedding model returned ${Array.isArray(vectors) ? vectors.length : "no"} vectors for 2 texts`);
          score = vectorCosine(vectors[0], vectors[1]);
        } else {
          score = textSimilarity(text, reference);
        }
        const method = assertion.method ?? "lexical";
        const shown = round2(score);
        return score >= assertion.threshold
          ? verdict(true, `similarity ${shown} reaches ${assertion.threshold} (${method})`, { score, ...spent })
          : verdict(false, `similarity ${shown} is below ${assertion.threshold} (${method})`, { score, ...spent });
      }
      case "judge": {
        if (!services.judge) return verdict(false, "no judge model is available", { error: true });
        const answer = await services.judge(
          { rubric: assertion.rubric, key: assertion.key, text, inputs: row.inputs, expected: row.expected?.[assertion.key], model: assertion.model },
          signal,
        );
        const spent = answer.usage && answer.model ? { usage: answer.usage, model: answer.model } : {};
        return verdict(answer.pass, answer.reason || (answer.pass ? "the judge passed it" : "the judge failed it"), { score: answer.pass ? 1 : 0, ...spent });
      }
    }
  } catch (error) {
    const what = assertion.kind === "judge" ? "the judge failed" : assertion.kind === "similar" ? "the embedding model failed" : "could not be checked";
    return verdict(false, `${what}: ${error instanceof Error ? error.message : String(error)}`, { error: true, ...spent });
  }
}

/**
 * Schema assertions without their own fields take the fields of the node writing the key:
 * resolved once against the document, so checking needs no document.
 */
export function resolveAssertions(assertions: ReadonlyArray<Assertion>, document: WorkflowDocument): Assertion[] {
  return assertions.map((assertion) => {
    if (assertion.kind !== "schema" || assertion.fields) return assertion;
    const fields = fieldsWriting(document, assertion.key);
    return fields ? { ...assertion, fields } : assertion;
  });
}
