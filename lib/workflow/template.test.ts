import { describe, expect, it } from "vitest";
import { evaluateCondition, matchesPattern, patternProblem } from "./condition";
import { joinSections } from "./kinds/synthesizer";
import { findPlaceholder, renderTemplate, sectionDepth, templateReferences } from "./template";

describe("prompt templates", () => {
  it("renders Mustache without HTML escaping", () => {
    expect(renderTemplate("Say {{x}} & {{y}}", { x: "<b>hi</b>", y: "'quoted'" })).toBe("Say <b>hi</b> & 'quoted'");
  });

  it("renders sections only when the key is present, and item fields in lists", () => {
    const template = "Joke{{#feedback}} (fix: {{feedback}}){{/feedback}}";
    expect(renderTemplate(template, {})).toBe("Joke");
    expect(renderTemplate(template, { feedback: "shorter" })).toBe("Joke (fix: shorter)");
    expect(renderTemplate("{{#items}}- {{name}}\n{{/items}}", { items: [{ name: "a" }, { name: "b" }] })).toBe("- a\n- b\n");
    expect(renderTemplate("{{item.name}}", { item: { name: "Intro" } })).toBe("Intro");
  });

  it("renders lists of text as paragraphs and objects as JSON, never [object Object]", () => {
    expect(renderTemplate("{{parts}}", { parts: ["one", "two"] })).toBe("one\n\ntwo");
    expect(renderTemplate("{{plan}}", { plan: { a: 1 } })).toBe('{\n  "a": 1\n}');
  });

  it("never calls functions or evaluates code found in a template", () => {
    expect(renderTemplate("{{constructor}}{{__proto__}}{{toString}}", Object.create(null))).toBe("");
    expect(renderTemplate("{{#x}}{{/x}}{{= <% %> =}}<% y %>", { y: "set delimiters are data" })).toBe("set delimiters are data");
  });

  it("reports the top-level keys a template reads, not names resolved inside sections", () => {
    expect(templateReferences("{{a}} {{#b}}{{c}}{{/b}} {{^d}}x{{/d}} {{e.f}} {{{g}}}")).toEqual([
      { key: "a", section: false },
      { key: "b", section: true },
      { key: "d", section: true },
      { key: "e", section: false },
      { key: "g", section: false },
    ]);
    expect(templateReferences("{{#open}} never closed")).toBeInstanceOf(Error);
  });
});

describe("unfilled placeholders", () => {
  it.each([
    ["In short, [mention the overarching topic of the report] is key.", /bracketed instruction/],
    ["Dear [Your Name],", /bracketed instruction/],
    ["Hello {{name}}", /template tag/],
    ["TODO: write the conclusion", /TODO/],
  ])("flags %j", (text, what) => {
    expect(findPlaceholder(text)).toMatch(what);
  });

  it.each([["See [the docs](https://example.com)."], ["- [x] done\n- [ ] open"], ["Array access like a[i] is fine."], ["A todo list is not a marker."]])(
    "leaves %j alone",
    (text) => {
      expect(findPlaceholder(text)).toBeNull();
    },
  );
});

describe("gate conditions", () => {
  const state = { joke: "Why did the cat sit down? To rest!", empty: "  ", n: 42 };

  it("combines rules with any/all", () => {
    const rules = [
      { op: "contains" as const, key: "joke", value: "?" },
      { op: "contains" as const, key: "joke", value: "dog" },
    ];
    expect(evaluateCondition({ match: "any", rules }, state)).toBe(true);
    expect(evaluateCondition({ match: "all", rules }, state)).toBe(false);
  });

  it("supports every operator", () => {
    const check = (rule: Parameters<typeof evaluateCondition>[0]["rules"][number]) => evaluateCondition({ match: "all", rules: [rule] }, state);
    expect(check({ op: "not_contains", key: "joke", value: "dog" })).toBe(true);
    expect(check({ op: "equals", key: "n", value: "42" })).toBe(true);
    expect(check({ op: "not_equals", key: "joke", value: "x" })).toBe(true);
    expect(check({ op: "equals", key: "joke", value: "WHY DID THE CAT SIT DOWN? TO REST!", ignoreCase: true })).toBe(true);
    expect(check({ op: "matches", key: "joke", pattern: "^why\\b", ignoreCase: true })).toBe(true);
    expect(check({ op: "length_at_least", key: "joke", value: 10 })).toBe(true);
    expect(check({ op: "length_at_most", key: "joke", value: 10 })).toBe(false);
    expect(check({ op: "is_empty", key: "empty" })).toBe(true);
    expect(check({ op: "is_empty", key: "missing" })).toBe(true);
    expect(check({ op: "not_empty", key: "joke" })).toBe(true);
  });

  it.each(["(a)\\1", "(?<q>a)\\k<q>", "(?=a)b", "(?<=a)b", "a(?!b)", "("])("refuses the pattern %s, which the linear-time engine cannot run, saying why", (pattern) => {
    expect(patternProblem(pattern)).toMatch(/is not a regular expression the linear-time engine supports \(.+\)/);
  });

  it.each(["^why\\b", "[?!]$", "(cat|dog)s?", "\\d{3}-\\d{4}", "^(a+)+$"])("accepts the pattern %s", (pattern) => {
    expect(patternProblem(pattern)).toBeNull();
  });

  // Each of these takes exponential time on a backtracking engine: "a"×28 + "!" is seconds there
  // (15.8 s at 30 characters), so a regression fails this test by its timeout rather than by luck.
  const CATASTROPHIC = ["^(?:a|a)+$", "^(a|aa)+$", "((a)+)+$", "^(a?){25}a{25}$", "(a|b|ab)*c", "^a*a*a*a*a*a*b", ".*.*=x"];
  it.each(CATASTROPHIC)("runs the catastrophic pattern %s in linear time, with the right answer", { timeout: 2_000 }, (pattern) => {
    expect(patternProblem(pattern)).toBeNull();
    const subject = "a".repeat(28) + "!";
    expect(matchesPattern(pattern, subject)).toBe(new RegExp(pattern).test("a".repeat(8) + "!"));
    expect(matchesPattern(pattern, "a".repeat(99_999) + "!")).toBe(false);
  });

  it("matches case-insensitively and by code point", () => {
    expect(matchesPattern("^ÉTÉ$", "été", true)).toBe(true);
    expect(matchesPattern("^.$", "🦉")).toBe(true);
  });
});

describe("synthesizer join", () => {
  it("separates sections with a blank line and never glues a heading onto the previous paragraph", () => {
    const sections = ["## Intro\n\nScaling matters for deployment.", "# Historical Development\n\nIt began…", "  ## Conclusion\n\nDone.  "];
    expect(joinSections(sections)).toBe("## Intro\n\nScaling matters for deployment.\n\n# Historical Development\n\nIt began…\n\n## Conclusion\n\nDone.");
  });

  it("keeps headings on their own paragraph even with a custom separator", () => {
    expect(joinSections(["…deployment.", "# Historical Development"], "")).toBe("…deployment.\n\n# Historical Development");
    expect(joinSections(["a", "b"], " | ")).toBe("a | b");
  });

  it("skips empty results", () => {
    expect(joinSections(["a", "", "   ", "b"])).toBe("a\n\nb");
  });
});

describe("hostile shapes stay bounded", () => {
  it("joins 40,000 sections of newlines in linear time", { timeout: 2_000 }, () => {
    const sections = Array.from({ length: 2_000 }, (_, i) => `${i}${"\n".repeat(20)}x`);
    const joined = joinSections(sections);
    expect(joined.split("\n").length).toBe(2_000 * 20 + 2_000 - 1 + 2_000);
    expect(joinSections(["a", "# B"], "\n  ")).toBe("a\n  # B");
  });

  it("stops a template whose nested sections would render more than a million characters", { timeout: 2_000 }, () => {
    const nested = (depth: number) => "{{#o.l}}".repeat(depth) + "x".repeat(100) + "{{/o.l}}".repeat(depth);
    const view = { o: { l: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } };
    expect(renderTemplate(nested(2), view)).toHaveLength(100 * 100);
    expect(() => renderTemplate(nested(6), view)).toThrow(/grows past 1,000,000 characters/);
    // Sections that render nothing are bounded too.
    const empty = "{{#o.l}}".repeat(16) + "{{/o.l}}".repeat(16);
    expect(() => renderTemplate(empty, view)).toThrow(/sections render more than/);
  });

  it("reports how deep sections nest", () => {
    expect(sectionDepth("plain {{topic}}")).toBe(0);
    expect(sectionDepth("{{#a}}{{#b}}{{/b}}{{/a}}{{^c}}{{/c}}")).toBe(2);
  });

  it("renders {{{key}}} and {{& key}} like {{key}}, never as [object Object]", () => {
    expect(renderTemplate("{{{o}}}|{{& o}}", { o: { a: 1 } })).toBe('{\n  "a": 1\n}|{\n  "a": 1\n}');
  });
});
