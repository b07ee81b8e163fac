import { describe, expect, it } from "vitest";
import { jsonText, normaliseJson } from "./text";

describe("jsonText", () => {
  it("is the JSON text of the normalised value, with or without anything to normalise", () => {
    const values: unknown[] = [
      { b: 1, a: ["x", { z: null, y: 2.5 }], e: "😀 é" },
      { name: "nul\u0000", "key\u0000": "half \uD83D pair", low: "\uDC00" },
      // A literal backslash-u text is not a NUL: it stays as it is.
      { text: "\\u0000 and \\ud800" },
      "plain",
      [1, "\u0000"],
    ];
    for (const value of values) expect(jsonText(value)).toBe(JSON.stringify(normaliseJson(value)));
    expect(jsonText({ a: "x\u0000y\uD800" })).toBe('{"a":"xy\uFFFD"}');
  });
});
