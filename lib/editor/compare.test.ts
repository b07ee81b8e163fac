import { describe, expect, it } from "vitest";
import { input, llm, workflow } from "@/lib/workflow/testing/build";
import { diffLines, documentChanges } from "./compare";

describe("Compare runs", () => {
  it("diffs outputs line by line", () => {
    expect(diffLines("a\nb\nc", "a\nx\nc")).toEqual([
      { kind: "same", text: "a" },
      { kind: "removed", text: "b" },
      { kind: "added", text: "x" },
      { kind: "same", text: "c" },
    ]);
  });

  it("names what the document changed between two runs", () => {
    const before = workflow([input, llm("a"), llm("b")], ["in->a", "a->b"]);
    const after = workflow([input, llm("a", "New prompt (a)"), llm("c")], ["in->a", "a->c"]);
    expect(documentChanges(before, after).map((c) => `${c.label}: ${c.change}`)).toEqual(["a: prompt changed", "c: added", "b: removed", "Wiring: 1 edge added, 1 removed"]);
  });
});
