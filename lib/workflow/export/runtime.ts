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
  return PREAMBLE + [...PARTS.entries()].filter(([name]) => wanted.has(name)).map(([, source]) => source).join("");
}
