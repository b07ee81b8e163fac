/**
 * Text PostgreSQL cannot store in jsonb — NUL characters and lone UTF-16 surrogates (which
 * model output and pasted text can contain) — normalised at the boundary so a save never fails
 * on them: NUL is dropped, a lone surrogate becomes U+FFFD.
 */
export function normaliseText(value: string): string {
  // eslint-disable-next-line no-control-regex -- NUL is exactly what is being removed
  return value.replace(/\u0000/g, "").replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

export function normaliseJson<T>(value: T): T {
  if (typeof value === "string") return normaliseText(value) as T;
  if (Array.isArray(value)) return value.map(normaliseJson) as T;
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[normaliseText(key)] = normaliseJson(child);
    return out as T;
  }
  return value;
}

// What JSON.stringify writes for NUL and for a lone surrogate (a pair is written as itself). A
// literal backslash before "u0000" in the text also matches: it only takes the slower path.
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/;

/**
 * The JSON text PostgreSQL stores for `value`: `JSON.stringify(normaliseJson(value))`, without
 * walking and copying the value when its text has nothing to normalise (nearly always).
 */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  return UNSTORABLE_ESCAPE.test(text) ? JSON.stringify(normaliseJson(value)) : text;
}
