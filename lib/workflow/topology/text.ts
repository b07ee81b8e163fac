/**
 * Lexical text measures shared by the router (near-duplicate subtasks), the advisor (redundant
 * fan-out prompts) and the aggregate's agreement check. Deliberately simple and linear in the
 * text: lowercase word tokens, common function words dropped, a light plural strip.
 */

/** Function words the lexical measures ignore (also written into exported programs that check agreement). */
export const STOPWORD_TEXT =
  "a an the and or but nor of to in on at by for with from as into onto about over under than then so if " +
  "is are was were be been being am do does did done have has had having it its this that these those " +
  "there here what which who whom whose when where why how all any each every some such no not only own same " +
  "can could should would will shall may might must i me my we our you your he him his she her they them their " +
  "one two three up down out off again further once very more most other also just too both few";
const STOPWORDS = new Set(STOPWORD_TEXT.split(" "));

/** Content words of a text: `{{keys}}` count as words (their name), numbers are kept. */
export function contentWords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
  const out: string[] = [];
  for (const raw of words) {
    if (raw.length < 2 || STOPWORDS.has(raw)) continue;
    // "sections" and "section" are one word here; "ss" endings ("class") stay.
    out.push(raw.length > 3 && raw.endsWith("s") && !raw.endsWith("ss") ? raw.slice(0, -1) : raw);
  }
  return out;
}

export type TermVector = { terms: Map<string, number>; norm: number };

export function termVector(text: string): TermVector {
  const terms = new Map<string, number>();
  for (const word of contentWords(text)) terms.set(word, (terms.get(word) ?? 0) + 1);
  let sum = 0;
  for (const count of terms.values()) sum += count * count;
  return { terms, norm: Math.sqrt(sum) };
}

/** Cosine similarity of two term vectors, 0–1 (0 when either is empty). */
export function cosine(a: TermVector, b: TermVector): number {
  if (!a.norm || !b.norm) return 0;
  const [small, large] = a.terms.size <= b.terms.size ? [a, b] : [b, a];
  let dot = 0;
  for (const [term, count] of small.terms) dot += count * (large.terms.get(term) ?? 0);
  return Math.min(1, dot / (a.norm * b.norm));
}

/** Lexical similarity of two texts, 0–1. */
export function textSimilarity(a: string, b: string): number {
  return cosine(termVector(a), termVector(b));
}
