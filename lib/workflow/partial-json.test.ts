import { describe, expect, it } from "vitest";
import { parsePartialJson } from "./partial-json";

describe("parsePartialJson", () => {
  const full = JSON.stringify({ title: 'Owls "of" the \u00e9 night \ud83e\udd89', score: 4.5, tags: ["a", "b\\n"], nested: { ok: true, list: [1, 2, { x: null }] } });

  it("reads every prefix of an object's JSON text as an object, ending with the whole", () => {
    let previous: unknown;
    for (let i = 1; i <= full.length; i++) {
      const value = parsePartialJson(full.slice(0, i));
      expect(value, `prefix of ${i} characters`).toBeTypeOf("object");
      previous = value;
    }
    expect(previous).toEqual(JSON.parse(full));
  });

  it("shows a string value as far as it has come, and drops what is not a value yet", () => {
    expect(parsePartialJson('{"title":"Ow')).toEqual({ title: "Ow" });
    expect(parsePartialJson('{"a":[1,2')).toEqual({ a: [1, 2] });
    expect(parsePartialJson('{"a":1,"b": tr')).toEqual({ a: 1 });
    expect(parsePartialJson('{"a":1,"ke')).toEqual({ a: 1 });
    expect(parsePartialJson('{"a":"x\\')).toEqual({ a: "x" });
    expect(parsePartialJson('{"a":"x\\u00')).toEqual({ a: "x" });
  });

  it("returns undefined before anything is readable, and for text that is not JSON", () => {
    expect(parsePartialJson("")).toBeUndefined();
    expect(parsePartialJson("   ")).toBeUndefined();
    expect(parsePartialJson("Sure! Here is")).toBeUndefined();
  });

  it("reads a large object in one pass (no work per character beyond a scan)", () => {
    const big = JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => ({ name: `item ${i}`, description: "x".repeat(30) })) });
    const value = parsePartialJson(big.slice(0, -30)) as { items: unknown[] };
    expect(value.items.length).toBeGreaterThan(19_990);
  });
});
