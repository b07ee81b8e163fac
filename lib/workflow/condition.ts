import { RE2JS } from "re2js";
import { z } from "zod";
import { stateKey } from "./kinds/common";
import { formatValue } from "./template";

/**
 * The gate's declarative condition language: rules on state keys, combined with all/any.
 * No expressions, no eval. Regexes run on RE2JS, a linear-time engine (no backtracking, so no
 * pattern can take exponential time), with bounded pattern and subject lengths.
 */

export const MAX_PATTERN_LENGTH = 200;
export const MAX_REGEX_SUBJECT = 100_000;


export const ConditionRuleSchema = z.discriminatedUnion("op", [
  z.strictObject({
    op: z.enum(["contains", "not_contains", "equals", "not_equals"]),
    key: stateKey,
    value: z.string().max(2_000),
    ignoreCase: z.boolean().optional(),
  }),
  z.strictObject({
    op: z.literal("matches"),
    key: stateKey,
    pattern: z.string().min(1).max(MAX_PATTERN_LENGTH),
    ignoreCase: z.boolean().optional(),
  }),
  z.strictObject({
    op: z.enum(["length_at_least", "length_at_most"]),
    key: stateKey,
    value: z.number().int().min(0),
  }),
  z.strictObject({ op: z.enum(["is_empty", "not_empty"]), key: stateKey }),
]);
export type ConditionRule = z.infer<typeof ConditionRuleSchema>;

export const ConditionSchema = z.strictObject({
  match: z.enum(["all", "any"]),
  rules: z.array(ConditionRuleSchema).min(1, "a condition needs at least one rule").max(20),
});
export type Condition = z.infer<typeof ConditionSchema>;

const MAX_CACHED_PATTERNS = 256;
const compiled = new Map<string, RE2JS>();

function compile(pattern: string, ignoreCase: boolean | undefined): RE2JS {
  const cacheKey = `${ignoreCase ? "i" : "-"}${pattern}`;
  let regex = compiled.get(cacheKey);
  if (!regex) {
    regex = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    if (compiled.size >= MAX_CACHED_PATTERNS) compiled.clear();
    compiled.set(cacheKey, regex);
  }
  return regex;
}

/**
 * Why a pattern cannot run, or null when it can. Lookaround and backreferences are refused:
 * they are the features a linear-time engine cannot offer.
 */
export function patternProblem(pattern: string): string | null {
  try {
    compile(pattern, false);
    return null;
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^error parsing regexp: /, "") : String(error);
    return `is not a regular expression the linear-time engine supports (${detail}); lookahead, lookbehind and backreferences are not available`;
  }
}

/** Whether `subject` (its first MAX_REGEX_SUBJECT characters) contains a match of `pattern`. */
export function matchesPattern(pattern: string, subject: string, ignoreCase?: boolean): boolean {
  return compile(pattern, ignoreCase).matcher(subject.slice(0, MAX_REGEX_SUBJECT)).find();
}

function evaluateRule(rule: ConditionRule, state: Readonly<Record<string, unknown>>): boolean {
  const subject = formatValue(state[rule.key]);
  switch (rule.op) {
    case "contains":
    case "not_contains": {
      const found = rule.ignoreCase
        ? subject.toLowerCase().includes(rule.value.toLowerCase())
        : subject.includes(rule.value);
      return rule.op === "contains" ? found : !found;
    }
    case "equals":
    case "not_equals": {
      const same = rule.ignoreCase
        ? subject.trim().toLowerCase() === rule.value.trim().toLowerCase()
        : subject.trim() === rule.value.trim();
      return rule.op === "equals" ? same : !same;
    }
    case "matches":
      return matchesPattern(rule.pattern, subject, rule.ignoreCase);
    case "length_at_least":
      return subject.length >= rule.value;
    case "length_at_most":
      return subject.length <= rule.value;
    case "is_empty":
      return subject.trim() === "";
    case "not_empty":
      return subject.trim() !== "";
  }
}

export function evaluateCondition(condition: Condition, state: Readonly<Record<string, unknown>>): boolean {
  return condition.match === "all"
    ? condition.rules.every((rule) => evaluateRule(rule, state))
    : condition.rules.some((rule) => evaluateRule(rule, state));
}

export function describeRule(rule: ConditionRule): string {
  switch (rule.op) {
    case "contains":
      return `${rule.key} contains "${rule.value}"`;
    case "not_contains":
      return `${rule.key} does not contain "${rule.value}"`;
    case "equals":
      return `${rule.key} = "${rule.value}"`;
    case "not_equals":
      return `${rule.key} ≠ "${rule.value}"`;
    case "matches":
      return `${rule.key} matches /${rule.pattern}/`;
    case "length_at_least":
      return `length(${rule.key}) ≥ ${rule.value}`;
    case "length_at_most":
      return `length(${rule.key}) ≤ ${rule.value}`;
    case "is_empty":
      return `${rule.key} is empty`;
    case "not_empty":
      return `${rule.key} is not empty`;
  }
}
