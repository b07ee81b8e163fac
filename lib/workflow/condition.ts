import { z } from "zod";
import { stateKey } from "./kinds/common";
import { formatValue } from "./template";

/**
 * The gate's declarative condition language: rules on state keys, combined with all/any.
 * No expressions, no eval. Regexes are bounded: short patterns, no backreferences or nested
 * quantifiers (the shapes that backtrack catastrophically), and a bounded subject length.
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

/** Why a pattern is refused, or null when it is safe to run. */
export function unsafePatternReason(pattern: string): string | null {
  try {
    new RegExp(pattern, "u");
  } catch (error) {
    return `is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`;
  }
  if (/\\[1-9]|\\k</.test(pattern)) return "uses a backreference, which can take exponential time";
  // A quantified group that itself contains a quantifier: (a+)+, (\w*)*, (x|y+){2,}
  if (/\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,?\d*\})/.test(pattern)) {
    return "nests quantifiers (like (a+)+), which can take exponential time";
  }
  return null;
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
      return new RegExp(rule.pattern, rule.ignoreCase ? "iu" : "u").test(subject.slice(0, MAX_REGEX_SUBJECT));
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
