import Mustache from "mustache";

/**
 * Prompt templates are logic-less Mustache with HTML escaping off (docs/architecture.md §2.5).
 * Values render as prompt text: strings as they are, lists of strings joined by a blank
 * line, anything else as pretty JSON — never `[object Object]`.
 */

type TemplateSpans = ReturnType<typeof Mustache.parse>;

/** Sections (`{{#list}}…{{/list}}`) may nest this deep: each level multiplies the work by a list's length. */
export const MAX_SECTION_DEPTH = 4;
/** A rendered template (a prompt, an aggregate) may not grow past this many characters. */
export const MAX_RENDERED_CHARS = 1_000_000;
/** Section bodies rendered per template: bounds the work of sections that render nothing. */
const MAX_SECTION_RENDERS = 100_000;
const MAX_CACHED_TEMPLATES = 4_096;

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

/**
 * Mustache's own writer, counting as it renders: every piece of output passes through the value
 * methods and every section body through renderTokens, so a template that would expand past the
 * limits stops within them instead of blocking the event loop.
 */
class BoundedWriter extends Mustache.Writer {
  private size = 0;
  private renders = 0;

  constructor() {
    super();
    const parsed = new Map<string, TemplateSpans>();
    // Templates come from users: a bounded cache, so a long-lived server cannot grow without limit.
    // (@types/mustache types the cache as holding strings; it holds parsed spans.)
    (this as unknown as { templateCache: Mustache.TemplateCache }).templateCache = {
      get: (key: string) => parsed.get(key) as unknown as string | undefined,
      set: (key: string, spans: unknown) => {
        if (parsed.size >= MAX_CACHED_TEMPLATES) parsed.clear();
        parsed.set(key, spans as TemplateSpans);
      },
      clear: () => parsed.clear(),
    };
  }

  renderBounded(template: string, view: Record<string, unknown>): string {
    this.size = 0;
    this.renders = 0;
    return this.render(template, view, undefined, { escape: formatValue });
  }

  override renderTokens(...args: Parameters<Mustache.Writer["renderTokens"]>): string {
    if (++this.renders > MAX_SECTION_RENDERS) throw new TemplateError(`its sections render more than ${MAX_SECTION_RENDERS} times`);
    return super.renderTokens(...args);
  }

  override escapedValue(...args: Parameters<Mustache.Writer["escapedValue"]>): string {
    return this.count(super.escapedValue(...args));
  }

  // {{& key}} and {{{key}}} format like {{key}} (there is no HTML escaping to skip), never as [object Object].
  override unescapedValue(token: string[], context: Mustache.Context): string {
    const value: unknown = context.lookup(token[1]);
    return this.count(value === undefined || value === null ? undefined : formatValue(value));
  }

  override rawValue(token: string[]): string {
    return this.count(token[1]);
  }

  private count(value: string | undefined): string {
    if (value !== undefined) {
      this.size += value.length;
      if (this.size > MAX_RENDERED_CHARS) throw new TemplateError(`the rendered text grows past ${MAX_RENDERED_CHARS.toLocaleString("en")} characters`);
    }
    return value as string;
  }
}

const writer = new BoundedWriter();

/** Render a template against a view. Throws TemplateError on malformed syntax or when it grows past the limits. */
export function renderTemplate(template: string, view: Record<string, unknown>): string {
  try {
    return writer.renderBounded(template, view);
  } catch (error) {
    if (error instanceof TemplateError) throw error;
    throw new TemplateError(error instanceof Error ? error.message : String(error));
  }
}

function parse(template: string): TemplateSpans | TemplateError {
  try {
    return writer.parse(template) as TemplateSpans;
  } catch (error) {
    return new TemplateError(error instanceof Error ? error.message : String(error));
  }
}

/** How deep sections nest in a template (0 when it has none). */
export function sectionDepth(template: string): number | TemplateError {
  const spans = parse(template);
  if (spans instanceof TemplateError) return spans;
  const depth = (tokens: TemplateSpans): number => {
    let deepest = 0;
    for (const token of tokens) {
      if (token[0] === "#" || token[0] === "^") deepest = Math.max(deepest, 1 + depth((token as unknown as [string, string, number, number, TemplateSpans])[4]));
    }
    return deepest;
  };
  return depth(spans);
}

export type TemplateReference = { key: string; section: boolean };

/**
 * The top-level keys a template reads. Names inside a section may resolve against the
 * section's item (`{{#items}}{{name}}{{/items}}`), so only their section key is reported.
 */
export function templateReferences(template: string): TemplateReference[] | TemplateError {
  const spans = parse(template);
  if (spans instanceof TemplateError) return spans;
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
