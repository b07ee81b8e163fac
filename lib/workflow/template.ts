import Mustache from "mustache";

/**
 * Prompt templates are logic-less Mustache with HTML escaping off (DESIGN §3).
 * Values render as prompt text: strings as they are, lists of strings joined by a blank
 * line, anything else as pretty JSON — never `[object Object]`.
 */

type TemplateSpans = ReturnType<typeof Mustache.parse>;

const MAX_CACHED_TEMPLATES = 4_096;
const parsed = new Map<string, TemplateSpans>();

// Templates come from users: a bounded cache, so a long-lived server cannot grow without limit.
// (@types/mustache types the cache as holding strings; it holds parsed spans.)
Mustache.templateCache = {
  get: (key: string) => parsed.get(key) as unknown as string | undefined,
  set: (key: string, spans: unknown) => {
    if (parsed.size >= MAX_CACHED_TEMPLATES) parsed.clear();
    parsed.set(key, spans as TemplateSpans);
  },
  clear: () => parsed.clear(),
};

export function formatValue(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join("\n\n");
  return JSON.stringify(value, null, 2);
}

export class TemplateError extends Error {
  readonly code = "template-syntax";
}

/** Render a template against a view. Throws TemplateError on malformed syntax (caught by validation first). */
export function renderTemplate(template: string, view: Record<string, unknown>): string {
  try {
    return Mustache.render(template, view, {}, { escape: formatValue });
  } catch (error) {
    throw new TemplateError(error instanceof Error ? error.message : String(error));
  }
}

export type TemplateReference = { key: string; section: boolean };

/**
 * The top-level keys a template reads. Names inside a section may resolve against the
 * section's item (`{{#items}}{{name}}{{/items}}`), so only their section key is reported.
 */
export function templateReferences(template: string): TemplateReference[] | TemplateError {
  let spans: TemplateSpans;
  try {
    spans = Mustache.parse(template);
  } catch (error) {
    return new TemplateError(error instanceof Error ? error.message : String(error));
  }
  const out: TemplateReference[] = [];
  for (const token of spans) {
    const [type, name] = token;
    if (type === "name" || type === "&" || type === "#" || type === "^") {
      if (name === ".") continue;
      out.push({ key: name.split(".")[0], section: type === "#" || type === "^" });
    } else if (type === ">") {
      return new TemplateError(`partials ({{> ${name}}}) are not supported`);
    }
  }
  return out;
}

const PLACEHOLDER_PATTERNS: ReadonlyArray<{ pattern: RegExp; what: string }> = [
  { pattern: /\{\{[^{}\n]{0,80}\}\}/, what: "an unrendered {{…}} template tag" },
  { pattern: /\bTODO\b/, what: "a TODO marker" },
  {
    // `[mention the overarching topic …]`, `[Insert date]`, `[your name]` — but not markdown links or checkboxes.
    pattern:
      /\[(?:insert|mention|add|describe|include|write|summari[sz]e|list|provide|explain|enter|fill in|your|name of|placeholder)\b[^\]\n]{0,200}\](?!\()/i,
    what: "a bracketed instruction left unfilled",
  },
];

/** Describes the first unfilled placeholder in a model output, or null when the text looks complete. */
export function findPlaceholder(text: string): string | null {
  for (const { pattern, what } of PLACEHOLDER_PATTERNS) {
    const match = pattern.exec(text);
    if (match) return `${what}: "${match[0].slice(0, 80)}"`;
  }
  return null;
}
