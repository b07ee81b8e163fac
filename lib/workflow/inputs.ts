import { issue, type ValidationIssue } from "./issues";
import type { WorkflowDocument } from "./schema";

export type InputValues = Record<string, string | number | boolean>;

/**
 * The values a run starts with: each declared input from what was given, else its default.
 * Strings from a command line or a form are coerced to the declared type; unknown keys are refused.
 */
export function resolveInputs(
  document: WorkflowDocument,
  given: Record<string, unknown> = {},
): { ok: true; values: InputValues } | { ok: false; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const values: InputValues = {};
  const declared = new Set(document.inputs.map((input) => input.key));
  for (const key of Object.keys(given)) {
    if (!declared.has(key)) {
      issues.push(issue("unknown-input", `inputs.${key}`, `"${key}" is not an input of this workflow (it has ${[...declared].join(", ") || "none"})`));
    }
  }
  document.inputs.forEach((input) => {
    const raw = Object.prototype.hasOwnProperty.call(given, input.key) ? given[input.key] : input.default;
    const where = `inputs.${input.key}`;
    if (raw === undefined || raw === "") {
      if (input.required) issues.push(issue("missing-input", where, `"${input.label || input.key}" is required`));
      else values[input.key] = input.type === "number" ? 0 : input.type === "boolean" ? false : "";
      return;
    }
    if (input.type === "number") {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : Number.NaN;
      if (!Number.isFinite(n)) issues.push(issue("invalid-input", where, `"${input.key}" must be a number`));
      else values[input.key] = n;
    } else if (input.type === "boolean") {
      if (typeof raw === "boolean") values[input.key] = raw;
      else if (raw === "true" || raw === "false") values[input.key] = raw === "true";
      else issues.push(issue("invalid-input", where, `"${input.key}" must be true or false`));
    } else if (typeof raw === "string") {
      if (raw.length > 100_000) issues.push(issue("invalid-input", where, `"${input.key}" is longer than 100,000 characters`));
      else values[input.key] = raw;
    } else if (typeof raw === "number" || typeof raw === "boolean") {
      values[input.key] = String(raw);
    } else {
      issues.push(issue("invalid-input", where, `"${input.key}" must be text`));
    }
  });
  return issues.length ? { ok: false, issues } : { ok: true, values };
}
