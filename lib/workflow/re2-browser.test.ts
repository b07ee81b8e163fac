import { RE2JS as Real } from "re2js";
import { describe, expect, it } from "vitest";
import { RE2JS as Browser } from "./re2-browser";

/** Valid or the message, from one checker. */
function verdict(compile: (pattern: string) => unknown, pattern: string): string {
  try {
    compile(pattern);
    return "ok";
  } catch (error) {
    return (error as Error).message;
  }
}

// Patterns people write in gate conditions, RE2's own extensions, and what RE2 refuses.
const CORPUS = [
  "approved", "^yes\\b", "\\d{3}-\\d{4}", "(?i)lgtm", "(?i:ok)ay", "^(pass|fail)$", "[A-Z][a-z]+", "\\w+@\\w+\\.com",
  "a{2,5}", "a{3,}", "a{,3}", "x{", "}", "]", "a|", "()", "[]a]", "[^]a]", "[a-]", "[\\d-z]", "\\.", "\\@", "\\-", "\\/",
  "(?P<n>a)", "(?<n>a)", "(?P<n>a)(?P<m>b)", "\\Qa.b*c\\E", "\\Qunterminated", "\\pL", "\\PN", "\\p{Greek}", "\\P{Lu}",
  "[[:alpha:]]+", "[[:^digit:]]", "[[:foo:]]", "\\A\\z", "\\b\\B", "(?s).", "(?m)^a$", "(?U)a+", "(?i-s)a", "\\x41", "\\x{1F600}",
  "\\x{110000}", "\\xZZ", "\\0", "\\012", "\\a\\f\\t\\n\\r\\v", "a*?", "a+?", "a??", "a{2}?", "😀+", "é+", "\\t",
  // refused
  "(?=a)", "(?!a)", "(?<=a)", "(?<!a)", "(a)\\1", "(?<n>a)\\k<n>", "\\8", "\\u00e9", "\\cA", "\\C", "\\e", "(?#c)",
  "a{1001}", "a{2,1}", "a**", "a*+", "a++", "a{2}{3}", "[", "[a-", "(", "a)", "((a)", "\\", "*a", "+", "?", "a|*",
  "(?<>a)", "(?P<1-x>a)", "(?x)a", "(?)", "(?-)", "(?i-)", "(?-i)", "(?:)", "(?i:)", "[z-a]", "[a-\\d]", "\\pZ\\p{Zs}",
];

describe("the browser's RE2 syntax check", () => {
  it.each(CORPUS)("agrees with RE2JS on whether %s is valid", (pattern) => {
    const real = verdict((p) => Real.compile(p), pattern);
    const browser = verdict((p) => Browser.compile(p), pattern);
    expect(browser === "ok", `RE2JS: ${real}; browser: ${browser}`).toBe(real === "ok");
  });

  it("gives RE2JS's own message for the features a linear-time engine cannot offer", () => {
    for (const pattern of ["(?=a)", "(?!a)", "(a)\\1", "(?<n>a)\\k<n>", "a{1001}", "a**"]) {
      expect(verdict((p) => Browser.compile(p), pattern)).toBe(verdict((p) => Real.compile(p), pattern));
    }
  });

  it("never matches: gate conditions run on the server", () => {
    expect(() => Browser.compile("a").matcher("a").find()).toThrow(/evaluated on the server/);
  });
});

describe("the browser's RE2 syntax check on generated patterns", () => {
  it("agrees with RE2JS on 20,000 random patterns built from regex syntax", () => {
    const atoms = ["a", "é", "\\", "(", ")", "[", "]", "{", "}", "?", "*", "+", "|", "^", "$", ".", "-", ":", "<", ">", "=", "!", "P", "Q", "E", "d", "1", "0", "x", "p", ",",
      "{2}", "{1,3}", "{,2}", "{3,1}", "[:alpha:]", "[:x:]", "\\d", "\\b", "(?i)", "(?P<n>", "(?<", "(?:", "\\1", "\\Q", "\\E", "\\p{Greek}", "\\pL", "\\x{41}", "\\x4", "\\012"];
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const disagreements: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      let pattern = "";
      for (let k = 1 + Math.floor(random() * 10); k > 0; k--) pattern += atoms[Math.floor(random() * atoms.length)];
      const real = verdict((p) => Real.compile(p), pattern) === "ok";
      const browser = verdict((p) => Browser.compile(p), pattern) === "ok";
      if (real !== browser) disagreements.push(`${JSON.stringify(pattern)}: RE2JS ${real ? "accepts" : "refuses"}`);
    }
    expect(disagreements.slice(0, 10)).toEqual([]);
  });
});
