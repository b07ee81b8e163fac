/**
 * What the browser bundle gets instead of `re2js` (next.config.js aliases it for the browser only).
 *
 * The browser never evaluates a gate — runs execute on the server, on RE2JS — it only checks
 * patterns as you type them, so the editor can say at once why a pattern cannot run. RE2JS is
 * about 45 kB of gzipped JavaScript, mostly Unicode tables a syntax check does not need. This
 * module answers the same question, "would RE2 accept this pattern?", with the same messages:
 * it walks the pattern with RE2's rules for escapes, groups, classes and repetitions, then lets
 * the browser's own parser find what is left (unbalanced parentheses, nothing to repeat).
 * `re2-browser.test.ts` holds both checkers to the same verdict over a corpus of patterns. The
 * server re-validates every document with RE2JS itself before it runs, so this check only ever
 * decides what the editor shows.
 *
 * Only the part of the RE2JS API that `condition.ts` uses is here.
 */

const PREFIX = "error parsing regexp: ";
const MAX_REPEAT = 1000;
const POSIX_CLASSES = new Set(["alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper", "word", "xdigit"]);

class PatternSyntaxError extends Error {
  constructor(message: string) {
    super(PREFIX + message);
    this.name = "RE2JSSyntaxException";
  }
}

const fail = (message: string): never => {
  throw new PatternSyntaxError(message);
};

/** A Unicode class name RE2 knows: a general category (`L`, `Lu`…), a script (`Greek`…) or `Any`. */
function unicodeClass(name: string): boolean {
  if (name === "Any") return true;
  if (!/^[A-Za-z_]+$/.test(name)) return false;
  for (const property of ["General_Category", "Script"]) {
    try {
      new RegExp(`\\p{${property}=${name}}`, "u");
      return true;
    } catch {
      // not this kind of name
    }
  }
  return false;
}

/** Checks one escape at `pattern[i] === "\\"`; returns the JS text it stands for and the index after it. */
function escape(pattern: string, i: number, inClass: boolean): [string, number] {
  const next = pattern[i + 1];
  if (next === undefined) fail("trailing backslash at end of expression");
  if (/[dDsSwWfnrtv]/.test(next) || next === "a") return [next === "a" ? "\\x07" : `\\${next}`, i + 2];
  // Assertions in a group, because RE2 lets them be repeated and the browser's parser does not.
  if (!inClass && /[bBAz]/.test(next)) return [next === "A" ? "(?:^)" : next === "z" ? "(?:$)" : `(?:\\${next})`, i + 2];
  if (/[0-7]/.test(next)) {
    // Octal: \0 is, \1–\7 are backreferences unless more octal digits follow (RE2 has no backreferences).
    let j = i + 2;
    while (j < i + 4 && /[0-7]/.test(pattern[j] ?? "")) j++;
    if (next !== "0" && j === i + 2) fail(`invalid escape sequence: \`\\${next}\``);
    return ["x", j];
  }
  if (next === "x") {
    if (pattern[i + 2] === "{") {
      const close = pattern.indexOf("}", i + 3);
      const hex = close < 0 ? "" : pattern.slice(i + 3, close);
      if (!/^[0-9A-Fa-f]{1,8}$/.test(hex) || Number.parseInt(hex, 16) > 0x10ffff) fail(`invalid escape sequence: \`${pattern.slice(i, close < 0 ? i + 3 : close + 1)}\``);
      return ["x", close + 1];
    }
    if (!/^[0-9A-Fa-f]{2}$/.test(pattern.slice(i + 2, i + 4))) fail(`invalid escape sequence: \`${pattern.slice(i, i + 4)}\``);
    return ["x", i + 4];
  }
  if (next === "p" || next === "P") {
    const braced = pattern[i + 2] === "{";
    const close = braced ? pattern.indexOf("}", i + 3) : i + 3;
    const name = braced ? (close < 0 ? "" : pattern.slice(i + 3, close)) : (pattern[i + 2] ?? "");
    if (!unicodeClass(name.replace(/^\^/, ""))) fail(`invalid character class range: \`${pattern.slice(i, close < 0 ? pattern.length : braced ? close + 1 : close)}\``);
    return ["x", braced ? close + 1 : close];
  }
  // Any punctuation may be escaped; any other letter or digit is not an escape RE2 knows.
  if (/[A-Za-z0-9_]/.test(next) || next.charCodeAt(0) > 0x7f) fail(`invalid escape sequence: \`\\${next}\``);
  return [`\\${next}`, i + 2];
}

/** A repetition `{n}`, `{n,}`, `{n,m}` at `pattern[i] === "{"`, or null when the brace is a literal. */
function repeatAt(pattern: string, i: number): { end: number; text: string } | null {
  const match = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
  if (!match) return null;
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : match[3] === "" ? -1 : Number(match[3]);
  if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) fail(`invalid repeat count: \`${match[0]}\``);
  return { end: i + match[0].length, text: match[0] };
}

/** Translates an RE2 pattern into one the browser's parser reads the same way, refusing what RE2 refuses. */
function translate(pattern: string): string {
  let out = "";
  let i = 0;
  let lastWasRepeat = false;
  const repeated = (op: string) => {
    if (lastWasRepeat) fail(`invalid nested repetition operator: \`${op}\``);
  };
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "\\") {
      if (pattern[i + 1] === "Q") {
        const end = pattern.indexOf("\\E", i + 2);
        const literal = pattern.slice(i + 2, end < 0 ? pattern.length : end);
        out += literal.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
        i = end < 0 ? pattern.length : end + 2;
      } else {
        const [text, next] = escape(pattern, i, false);
        out += text;
        i = next;
      }
      lastWasRepeat = false;
    } else if (c === "[") {
      let j = i + 1;
      let body = "";
      if (pattern[j] === "^") body += pattern[j++];
      if (pattern[j] === "]") {
        body += "\\]";
        j++;
      }
      const classStart = j;
      for (;;) {
        if (j >= pattern.length) fail(`missing closing ]: \`${pattern.slice(i)}\``);
        const d = pattern[j];
        if (d === "]") break;
        if (d === "[" && pattern[j + 1] === ":") {
          const close = pattern.indexOf(":]", j + 2);
          const name = close < 0 ? "" : pattern.slice(j + 2, close).replace(/^\^/, "");
          if (close >= 0) {
            if (!POSIX_CLASSES.has(name)) fail(`invalid character class range: \`${pattern.slice(j, close + 2)}\``);
            body += "a";
            j = close + 2;
            continue;
          }
        }
        if (d === "\\") {
          // A class escape cannot end a range (`[a-\d]`).
          if (pattern[j - 1] === "-" && j - 1 > classStart && /[dDsSwWpP]/.test(pattern[j + 1] ?? "")) fail(`invalid escape sequence: \`\\${pattern[j + 1]}\``);
          const [text, next] = escape(pattern, j, true);
          body += text;
          j = next;
          continue;
        }
        body += d === "[" ? "\\[" : d;
        j++;
      }
      out += `[${body}]`;
      i = j + 1;
      lastWasRepeat = false;
    } else if (c === "(" && pattern[i + 1] === "?") {
      const rest = pattern.slice(i);
      const named = /^\(\?P?<([A-Za-z0-9_]*)>/.exec(rest);
      const flags = /^\(\?([imsU]*(?:-[imsU]*)?)([:)])/.exec(rest);
      if (named) {
        if (!/^[A-Za-z0-9_]+$/.test(named[1])) fail(`invalid named capture: \`${named[0]}\``);
        out += `(?<${named[1]}>`;
        i += named[0].length;
      } else if (rest.startsWith("(?<")) {
        const close = rest.indexOf(")");
        fail(`invalid named capture: \`${close < 0 ? rest : rest.slice(0, close + 1)}\``);
      } else if (flags && !(flags[1].endsWith("-") && flags[1] !== "")) {
        out += flags[2] === ":" ? "(?:" : "";
        i += flags[0].length;
      } else {
        fail(`invalid or unsupported Perl syntax: \`${rest.slice(0, 3)}\``);
      }
      lastWasRepeat = false;
    } else if (c === "*" || c === "+" || c === "?") {
      repeated(pattern.slice(i - 1, i + 1));
      out += c;
      i++;
      if (pattern[i] === "?") out += pattern[i++];
      lastWasRepeat = true;
    } else if (c === "{") {
      const repeat = repeatAt(pattern, i);
      if (repeat) {
        repeated(repeat.text);
        out += repeat.text;
        i = repeat.end;
        if (pattern[i] === "?") out += pattern[i++];
        lastWasRepeat = true;
      } else {
        out += "\\{";
        i++;
        lastWasRepeat = false;
      }
    } else if (c === "^" || c === "$") {
      out += `(?:${c})`;
      i++;
      lastWasRepeat = false;
    } else {
      out += c === "]" || c === "}" || c === "/" ? `\\${c}` : c;
      i++;
      lastWasRepeat = false;
    }
  }
  return out;
}

function structuralProblem(pattern: string, translated: string): string | null {
  try {
    new RegExp(translated);
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/Unterminated group/i.test(message)) return `missing closing ): \`${pattern}\``;
    if (/Unmatched '\)'/i.test(message)) return `unexpected ): \`${pattern}\``;
    if (/Nothing to repeat/i.test(message)) return `missing argument to repetition operator: \`${pattern}\``;
    return `${message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, "").toLowerCase()}: \`${pattern}\``;
  }
}

class Matcher {
  find(): boolean {
    throw new Error("gate conditions are evaluated on the server: the browser build has no regular-expression engine");
  }
}

export class RE2JS {
  static readonly CASE_INSENSITIVE = 1;

  private constructor() {}

  /** Throws, as RE2JS does, when RE2 would refuse the pattern. */
  static compile(pattern: string, flags = 0): RE2JS {
    void flags;
    const problem = structuralProblem(pattern, translate(pattern));
    if (problem) fail(problem);
    return new RE2JS();
  }

  matcher(subject: string): Matcher {
    void subject;
    return new Matcher();
  }
}
