import { STOPWORD_TEXT } from "../topology/text";

/**
 * The helpers every exported program starts with, as source text (issue 16, "Export →
 * TypeScript"). They restate the engine's semantics in plain AI SDK code: Mustache with the
 * engine's value formatting, section joining, the declarative gate rules, a bounded map in plan
 * order, and a dataflow step that runs when its inputs are ready and is skipped when none fired.
 */
const SOURCE = String.raw`// ── Runtime: what Trellis's engine does, in a few helpers ────────────────────────────────

type State = Record<string, unknown>;
/** The ports a step fired, or null when it was skipped (no inbound edge fired: a branch not taken). */
type Fired = string[] | null;
/** Turns a model id like "openai:gpt-4o-mini" into an AI SDK model (replace it to inject your own). */
export type ModelResolver = (id: string) => LanguageModel | Promise<LanguageModel>;

//@formatValue
/** Values render as prompt text: strings as they are, string lists one per paragraph, the rest as JSON. */
function formatValue(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join("\n\n");
  return JSON.stringify(value, null, 2);
}

//@render
/** Logic-less Mustache over the state, HTML escaping off (values are formatted, never escaped). */
class PromptWriter extends Mustache.Writer {
  override unescapedValue(token: string[], context: Mustache.Context): string {
    const value: unknown = context.lookup(token[1]);
    return (value === undefined || value === null ? undefined : formatValue(value)) as string;
  }
}
const writer = new PromptWriter();
function render(state: State, template: string, extra?: Record<string, unknown>): string {
  return writer.render(template, extra ? { ...state, ...extra } : state, undefined, { escape: formatValue });
}

//@joinSections
/** Joins sections with a separator; a section starting with a heading always begins its own paragraph. */
function joinSections(items: ReadonlyArray<unknown>, separator = "\n\n"): string {
  const separatorEndsLine = /\n\s*$/.test(separator);
  const parts: string[] = [];
  for (const item of items) {
    const text = formatValue(item).trim();
    if (!text) continue;
    if (parts.length) parts.push(/^#{1,6}\s/.test(text) && !separatorEndsLine ? separator + "\n\n" : separator);
    parts.push(text);
  }
  return parts.join("");
}

//@ruleHolds
type Rule =
  | { op: "contains" | "not_contains" | "equals" | "not_equals"; key: string; value: string; ignoreCase?: boolean }
  | { op: "matches"; key: string; pattern: string; ignoreCase?: boolean }
  | { op: "length_at_least" | "length_at_most"; key: string; value: number }
  | { op: "is_empty" | "not_empty"; key: string };

/** A gate's declarative rule (Trellis runs regexes on a linear-time engine; here they are JavaScript's). */
function ruleHolds(state: State, rule: Rule): boolean {
  const subject = formatValue(state[rule.key]);
  switch (rule.op) {
    case "contains":
    case "not_contains": {
      const found = rule.ignoreCase ? subject.toLowerCase().includes(rule.value.toLowerCase()) : subject.includes(rule.value);
      return rule.op === "contains" ? found : !found;
    }
    case "equals":
    case "not_equals": {
      const same = rule.ignoreCase ? subject.trim().toLowerCase() === rule.value.trim().toLowerCase() : subject.trim() === rule.value.trim();
      return rule.op === "equals" ? same : !same;
    }
    case "matches":
      return new RegExp(rule.pattern, rule.ignoreCase ? "i" : "").test(subject.slice(0, 100_000));
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

//@agreementReport
const STOPWORDS = new Set(__STOPWORDS__.split(" "));
/** Content words: lowercase word tokens without function words, a light plural strip. */
function contentWords(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []) {
    if (raw.length < 2 || STOPWORDS.has(raw)) continue;
    out.push(raw.length > 3 && raw.endsWith("s") && !raw.endsWith("ss") ? raw.slice(0, -1) : raw);
  }
  return out;
}
type TermVector = { terms: Map<string, number>; norm: number };
function termVector(text: string): TermVector {
  const terms = new Map<string, number>();
  for (const word of contentWords(text)) terms.set(word, (terms.get(word) ?? 0) + 1);
  let sum = 0;
  for (const count of terms.values()) sum += count * count;
  return { terms, norm: Math.sqrt(sum) };
}
function cosine(a: TermVector, b: TermVector): number {
  if (!a.norm || !b.norm) return 0;
  const [small, large] = a.terms.size <= b.terms.size ? [a, b] : [b, a];
  let dot = 0;
  for (const [term, count] of small.terms) dot += count * (large.terms.get(term) ?? 0);
  return Math.min(1, dot / (a.norm * b.norm));
}
const round2 = (value: number) => Math.round(value * 100) / 100;
/**
 * Trellis's agreement check: pairwise lexical similarity of the branch outputs, their mean as the
 * score, and the branches under \`ratio\` of the median (and \`gap\` below it) as outliers.
 */
function agreementReport(branches: Array<{ key: string; text: string }>, threshold: number, ratio: number, gap: number) {
  const n = branches.length;
  if (n < 2) {
    const summary = "agreement not checked: " + (n === 0 ? "no branch" : "one branch") + " to compare";
    return { method: "lexical", score: null, threshold, agrees: true, branches: branches.map((b) => ({ key: b.key, agreement: 1 })), outliers: [], pairs: [], conflicts: "", summary };
  }
  const vectors = branches.map((b) => termVector(b.text));
  const sums = new Array<number>(n).fill(0);
  const pairs: Array<{ a: string; b: string; similarity: number }> = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const similarity = cosine(vectors[i], vectors[j]);
      sums[i] += similarity;
      sums[j] += similarity;
      total += similarity;
      pairs.push({ a: branches[i].key, b: branches[j].key, similarity: round2(similarity) });
    }
  }
  const score = total / pairs.length;
  const means = sums.map((sum) => sum / (n - 1));
  const sorted = [...means].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const middle = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const outlierIndices = n < 3 ? [] : means.flatMap((m, i) => (m < middle * ratio && middle - m >= gap ? [i] : []));
  const outliers = outlierIndices.map((i) => branches[i].key);
  const conflicts = [
    ...outlierIndices.map((i) => '"' + branches[i].key + '" stands apart from the other branches (similarity ' + round2(means[i]) + " against a median of " + round2(middle) + "); check it against them."),
    ...(score < threshold && !outliers.length ? ["The branches share little (agreement " + round2(score) + ", below " + threshold + "); reconcile them rather than concatenating them."] : []),
  ].join(" ");
  const summary =
    "agreement " + round2(score).toFixed(2) + " across " + n + " branches" +
    (outliers.length ? "; outlier" + (outliers.length > 1 ? "s" : "") + ": " + outliers.join(", ") : score < threshold ? "; below the threshold" : "");
  return {
    method: "lexical",
    score: round2(score),
    threshold,
    agrees: score >= threshold && outliers.length === 0,
    branches: branches.map((b, i) => ({ key: b.key, agreement: round2(means[i]) })),
    outliers,
    pairs,
    conflicts,
    summary,
  };
}

//@Call
type Call = { model: string; system?: string; prompt: string; temperature?: number; maxOutputTokens?: number };

//@callText
/** One text answer. */
async function callText(models: ModelResolver, call: Call): Promise<string> {
  const result = await generateText({ ...call, model: await models(call.model) });
  return result.text;
}

//@callObject
/** One structured answer, checked against its schema. */
async function callObject<T>(models: ModelResolver, call: Call, schema: Record<string, unknown>, name: string, check: z.ZodType<T>): Promise<T> {
  const result = await generateText({ ...call, model: await models(call.model), output: Output.object({ schema: jsonSchema(schema), name }) });
  return check.parse(result.output);
}

//@mapItems
/**
 * Runs \`work\` once per item, at most \`concurrency\` at a time, and keeps the results in item order.
 * Items that wait for the others (a conclusion) run after all the rest and see their results.
 */
async function mapItems(
  count: number,
  concurrency: number,
  waits: (index: number) => boolean,
  work: (index: number, earlier: ReadonlyArray<string | undefined>) => Promise<string>,
): Promise<string[]> {
  const results: Array<string | undefined> = new Array(count);
  const pool = async (indices: number[]) => {
    let next = 0;
    const lane = async () => {
      while (next < indices.length) {
        const index = indices[next++];
        results[index] = await work(index, results);
      }
    };
    await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), indices.length) }, lane));
  };
  const all = Array.from({ length: count }, (_, i) => i);
  await pool(all.filter((i) => !waits(i)));
  await pool(all.filter((i) => waits(i)));
  return results as string[];
}

//@after
/**
 * A step of the graph: it waits for every inbound step (Promise.all), and runs when at least one
 * inbound edge fired; otherwise it is skipped, and so is what only it feeds.
 */
async function after(inbound: Array<[Promise<Fired>, string]>, run: () => Promise<string[]>): Promise<Fired> {
  const fired = await Promise.all(inbound.map(async ([step, port]) => (await step)?.includes(port) ?? false));
  return fired.some(Boolean) ? run() : null;
}
`;

/** Helper name → its source (\`Call\` is the type both model calls take). */
const PARTS = new Map(
  SOURCE.split(/^\/\/@/m)
    .slice(1)
    .map((part) => {
      const newline = part.indexOf("\n");
      return [part.slice(0, newline), part.slice(newline + 1)] as const;
    }),
);
const PREAMBLE = SOURCE.split(/^\/\/@/m)[0];

/** The runtime an exported program needs: the helpers its code calls (and theirs), in a fixed order. */
export function runtimeFor(code: string): string {
  const wanted = new Set(["formatValue"]);
  for (const name of PARTS.keys()) if (new RegExp(`\\b${name}[(<]`).test(code)) wanted.add(name);
  if (wanted.has("callObject") || wanted.has("callText")) wanted.add("Call");
  const source = PREAMBLE + [...PARTS.entries()].filter(([name]) => wanted.has(name)).map(([, part]) => part).join("");
  return wanted.has("agreementReport") ? source.replace("__STOPWORDS__", JSON.stringify(STOPWORD_TEXT)) : source;
}
