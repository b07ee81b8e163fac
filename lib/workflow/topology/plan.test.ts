import { describe, expect, it } from "vitest";
import { parseDocument } from "../schema";
import { validateWorkflow } from "../validate";
import { buildWorkflow } from "./build";
import { MAX_SUBTASKS, repairPlan, type Subtask } from "./plan";
import { TOPOLOGIES } from "./route";

/** Planner output is repaired into a DAG or refused; whatever survives builds a valid workflow. */

const sub = (id: string, dependsOn: string[] = [], prompt = `Do ${id}.`, title = id.toUpperCase()) => ({ id, title, prompt, dependsOn });

function repaired(raw: unknown) {
  const result = repairPlan(raw);
  if (!result.ok) throw new Error(result.message);
  return result;
}

describe("repairPlan", () => {
  it("keeps a good plan as it is", () => {
    const plan = { subtasks: [sub("a"), sub("b", ["a"])] };
    expect(repaired(plan)).toEqual({ ok: true, subtasks: plan.subtasks, repairs: [] });
  });

  it("breaks a cycle by dropping the dependency that points back, and says so", () => {
    const result = repaired({ subtasks: [sub("a", ["c"]), sub("b", ["a"]), sub("c", ["b"])] });
    expect(result.subtasks.map((s) => s.dependsOn)).toEqual([[], ["a"], ["b"]]);
    expect(result.repairs).toEqual([expect.stringMatching(/cycle .*"A" no longer waits for "C"/)]);
  });

  it("breaks every cycle, including two that share a subtask", () => {
    const result = repaired({ subtasks: [sub("a", ["b", "c"]), sub("b", ["a"]), sub("c", ["a"])] });
    expect(result.subtasks[0].dependsOn).toEqual([]);
    expect(result.repairs).toHaveLength(2);
  });

  it("drops unknown and self dependencies, resolves titles and positions", () => {
    const result = repaired({ subtasks: [sub("a"), sub("b", ["A", "1", "zzz", "b"], "Do b.", "Second")] });
    expect(result.subtasks[1].dependsOn).toEqual(["a"]);
    expect(result.repairs).toEqual(['"Second" depended on "zzz", which is not in the plan; dropped', '"Second" depended on itself; dropped']);
  });

  it("fills an empty prompt from the title, drops an item with neither, renames duplicate ids", () => {
    const result = repaired({ subtasks: [{ id: "a", title: "Pricing", prompt: " ", dependsOn: [] }, { id: "x", title: "", prompt: "" }, { id: "a", title: "Team", prompt: "Staff it.", dependsOn: "a" }, 7] });
    expect(result.subtasks).toEqual([
      { id: "a", title: "Pricing", prompt: "Pricing", dependsOn: [] },
      { id: "a_2", title: "Team", prompt: "Staff it.", dependsOn: ["a"] },
    ]);
    expect(result.repairs).toHaveLength(4);
  });

  it("cuts a plan with too many subtasks, dropping dependencies on what was cut", () => {
    const many = Array.from({ length: MAX_SUBTASKS + 5 }, (_, i) => sub(`s${i}`));
    many[0].dependsOn = [`s${MAX_SUBTASKS + 2}`];
    const result = repaired({ subtasks: many });
    expect(result.subtasks).toHaveLength(MAX_SUBTASKS);
    expect(result.subtasks[0].dependsOn).toEqual([]);
    expect(result.repairs[0]).toBe(`the plan had ${MAX_SUBTASKS + 5} subtasks; kept the first ${MAX_SUBTASKS}`);
  });

  it("accepts a bare list and generated ids", () => {
    expect(repaired([{ title: "One", prompt: "Do one." }]).subtasks).toEqual([{ id: "s1", title: "One", prompt: "Do one.", dependsOn: [] }]);
  });

  it("refuses what has nothing usable, with a message", () => {
    expect(repairPlan(null)).toEqual({ ok: false, message: "The planner did not return a list of subtasks." });
    expect(repairPlan({ subtasks: "do it" })).toMatchObject({ ok: false });
    expect(repairPlan({ subtasks: [] })).toEqual({ ok: false, message: "The planner returned no usable subtasks." });
    expect(repairPlan({ subtasks: [{ id: "a", title: "", prompt: "" }] })).toMatchObject({ ok: false });
  });
});

describe("buildWorkflow", () => {
  const hybridPlan: Subtask[] = [sub("perf"), sub("eco"), sub("learn"), sub("rec", ["perf", "eco", "learn"], "Recommend one.", "Recommendation")];

  it.each(TOPOLOGIES)("builds a valid, laid-out %s workflow for any plan", (topology) => {
    const built = buildWorkflow({ task: "Compare three languages", subtasks: hybridPlan, topology });
    expect(built.topology).toBe(topology);
    const parsed = parseDocument(JSON.parse(JSON.stringify(built.document)));
    expect(parsed.ok).toBe(true);
    expect(validateWorkflow(built.document).filter((i) => i.severity === "error")).toEqual([]);
    const spots = new Set(built.document.nodes.map((n) => `${n.position.x},${n.position.y}`));
    expect(spots.size).toBe(built.document.nodes.length);
    expect(built.document.nodes.filter((n) => n.kind === "output")).toHaveLength(1);
  });

  it("wires each step to exactly what it depends on and references their keys", () => {
    const { document, topology, explanation } = buildWorkflow({ task: "Compare three languages", subtasks: hybridPlan });
    expect(topology).toBe("hybrid");
    expect(explanation).toBe("4 subtasks, width 3, depth 2, coupling 0.50 → hybrid: 2 stages");
    const rec = document.nodes.find((n) => n.id === "n_recommendation");
    expect(rec?.kind === "llm" && rec.config.prompt).toMatch(/Recommend one\.[\s\S]*\{\{task\}\}[\s\S]*\{\{perf\}\}[\s\S]*\{\{eco\}\}[\s\S]*\{\{learn\}\}/);
    expect(document.edges.filter((e) => e.target === "n_recommendation").map((e) => e.source)).toEqual(["n_perf", "n_eco", "n_learn"]);
    expect(document.nodes.find((n) => n.kind === "output")?.config).toEqual({ keys: ["recommendation"] });
  });

  it("merges parallel results through an agreement check and a verifying synthesizer", () => {
    const { document, topology } = buildWorkflow({ task: "Three poems", subtasks: [sub("a"), sub("b"), sub("c")] });
    expect(topology).toBe("parallel");
    const merge = document.nodes.find((n) => n.kind === "aggregate");
    expect(merge?.kind === "aggregate" && merge.config.agreement).toEqual({ key: "agreement" });
    const answer = document.nodes.find((n) => n.kind === "synthesizer");
    expect(answer?.kind === "synthesizer" && answer.config.mode === "llm" && answer.config.prompt).toContain("{{#agreement.conflicts}}");
  });

  it("never lets planner text read state: braces are broken up", () => {
    const { document } = buildWorkflow({ task: "x", subtasks: [sub("a", [], "Use {{secret}} and {{{raw}}}", "{{t}}")] });
    const step = document.nodes.find((n) => n.kind === "llm");
    expect(step?.kind === "llm" && step.config.prompt).not.toMatch(/\{\{(secret|raw)/);
    expect(validateWorkflow(document).filter((i) => i.severity === "error")).toEqual([]);
  });

  it("keeps output keys unique and clear of its own keys", () => {
    const { document } = buildWorkflow({ task: "x", subtasks: [sub("a", [], "x", "Task"), sub("b", [], "y", "Task"), sub("c", [], "z", "Answer"), sub("d", [], "w", "1st")] });
    const keys = document.nodes.flatMap((n) => (n.kind === "llm" ? [n.config.outputKey] : []));
    expect(keys).toEqual(["task_2", "task_3", "answer_2", "s_1st"]);
  });

  it("builds random plans into valid documents, whatever their shape", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 200; round++) {
      const count = 1 + Math.floor(random() * 12);
      const subtasks = Array.from({ length: count }, (_, i) => sub(`t${i}`, Array.from({ length: i }, (_, j) => `t${j}`).filter(() => random() < 0.3)));
      const plan = repaired({ subtasks });
      for (const topology of TOPOLOGIES) {
        const built = buildWorkflow({ task: `round ${round}`, subtasks: plan.subtasks, topology });
        expect(validateWorkflow(built.document).filter((i) => i.severity === "error")).toEqual([]);
      }
    }
  });
});
