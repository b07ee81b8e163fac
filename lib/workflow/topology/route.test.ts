import { describe, expect, it } from "vitest";
import { taskMetrics, type TaskDag } from "./metrics";
import { HIERARCHICAL_MAX_DEPTH, PARALLEL_CAP, routeTopology } from "./route";

/** The router on hand-made task DAGs: one per topology, then the edge cases. */

const dag = (count: number, edges: Array<[number, number]>, prompts?: string[]): TaskDag => ({ count, edges, prompts });
const route = (d: TaskDag) => routeTopology(taskMetrics(d));

describe("task DAG metrics", () => {
  it("measures n, longest-path levels, width, depth and coupling", () => {
    // 0 → 3, 1 → 3, 2 stands alone: levels 1,1,1,2
    const m = taskMetrics(dag(4, [[0, 3], [1, 3]]));
    expect(m).toMatchObject({ n: 4, dependencies: 2, levels: [1, 1, 1, 2], width: 3, depth: 2, components: 2 });
    expect(m.coupling).toBeCloseTo(2 / 6);
  });

  it("layers by the longest path, not the shortest", () => {
    // 0 → 1 → 2 and 0 → 2: node 2 is on level 3
    expect(taskMetrics(dag(3, [[0, 1], [1, 2], [0, 2]])).levels).toEqual([1, 2, 3]);
  });

  it("counts a repeated dependency once and ignores self-dependencies", () => {
    expect(taskMetrics(dag(2, [[0, 1], [0, 1], [1, 1]]))).toMatchObject({ dependencies: 1, coupling: 1 });
  });

  it("counts exclusive branches (one router's routes) as one slot of width", () => {
    const m = taskMetrics({ count: 4, edges: [[0, 1], [0, 2], [0, 3]], exclusiveGroup: [0, 7, 7, 7] });
    expect(m.width).toBe(1);
  });
});

describe("routeTopology", () => {
  it("sequential: a chain (width 1)", () => {
    const decision = route(dag(3, [[0, 1], [1, 2]]));
    expect(decision.topology).toBe("sequential");
    expect(decision.explanation).toBe("3 subtasks, width 1, depth 3, coupling 0.67 → sequential: a chain of 3 steps");
  });

  it("parallel: no dependencies (depth 1)", () => {
    const decision = route(dag(3, [], ["Write a haiku about autumn.", "Write a limerick about autumn.", "Write a short story about autumn."]));
    expect(decision.topology).toBe("parallel");
    expect(decision.explanation).toMatch(/^3 subtasks, width 3, depth 1, coupling 0\.00 → parallel/);
  });

  it("hybrid: parallel stages chained, in the issue's words", () => {
    // three independent parts, the fourth needs one of them: 1 dependency of 6 possible
    const decision = route(dag(4, [[2, 3]], ["Cover pricing.", "Cover the team.", "Draft the budget.", "Check the budget against the plan."]));
    expect(decision.explanation).toBe("4 subtasks, width 3, depth 2, coupling 0.17 → hybrid: 2 stages");
  });

  it("hierarchical: items of one kind of work, and a comparison that needs them all", () => {
    const research = (city: string) => `Research ${city}: its history, what it is known for today, and the three facts a visitor should know.`;
    const d = dag(5, [[0, 4], [1, 4], [2, 4], [3, 4]], [...["Paris", "Rome", "Berlin", "Vienna"].map(research), "Compare the cities and recommend one."]);
    expect(taskMetrics(d).nearDuplicate).toBe(true);
    expect(route(d)).toMatchObject({ topology: "hierarchical", detail: "a coordinator hands 4 items of one kind of work to workers" });
  });

  it("hierarchical: a fan-out wider than the parallel cap", () => {
    const count = PARALLEL_CAP + 1;
    const prompts = Array.from({ length: count }, (_, i) => `Part ${i}: ${"alpha beta gamma delta epsilon".split(" ")[i % 5]} ${i}`);
    expect(route(dag(count, [], prompts)).topology).toBe("hierarchical");
  });

  it("keeps a wide but deep DAG hybrid: a coordinator only expresses items, then what needs them all", () => {
    const count = PARALLEL_CAP + 3;
    const edges: Array<[number, number]> = [[0, count - 2], [count - 2, count - 1]];
    const m = taskMetrics(dag(count, edges));
    expect(m.depth).toBeGreaterThan(HIERARCHICAL_MAX_DEPTH);
    expect(routeTopology(m).topology).toBe("hybrid");
  });

  it("does not mistake different parts that share a few words for items of one kind", () => {
    const d = dag(3, [], ["Write a joke about {{topic}}.", "Write a short story about {{topic}}.", "Write a short poem about {{topic}}."]);
    expect(taskMetrics(d).nearDuplicate).toBe(false);
    expect(route(d).topology).toBe("parallel");
  });
});

describe("edge cases", () => {
  it("a single subtask is a sequential workflow of one step", () => {
    expect(route(dag(1, []))).toMatchObject({ topology: "sequential", detail: "one step" });
    expect(taskMetrics(dag(1, []))).toMatchObject({ width: 1, depth: 1, coupling: 0, components: 1 });
  });

  it("no subtasks at all", () => {
    expect(taskMetrics(dag(0, []))).toMatchObject({ n: 0, width: 0, depth: 0, coupling: 0 });
  });

  it("disconnected parts: two independent chains are a hybrid of their levels", () => {
    const m = taskMetrics(dag(4, [[0, 1], [2, 3]]));
    expect(m).toMatchObject({ components: 2, width: 2, depth: 2 });
    expect(routeTopology(m).topology).toBe("hybrid");
  });

  it("ignores dependencies on subtasks that do not exist", () => {
    expect(taskMetrics(dag(2, [[0, 5], [-1, 1]]))).toMatchObject({ dependencies: 0, depth: 1 });
  });

  it("does not hang on a cycle (callers repair cycles first)", () => {
    expect(taskMetrics(dag(3, [[0, 1], [1, 2], [2, 1]])).n).toBe(3);
  });

  it("routes 10,000 subtasks with prompts (a linear pass; the benchmark times it)", () => {
    const count = 10_000;
    const edges: Array<[number, number]> = [];
    for (let i = 1; i < count; i++) edges.push([Math.floor((i - 1) / 3), i]);
    const prompts = Array.from({ length: count }, (_, i) => `Summarise chapter ${i} of the manual and list its open questions.`);
    const m = taskMetrics(dag(count, edges, prompts));
    expect(m).toMatchObject({ n: count, dependencies: count - 1, components: 1 });
    expect(m.depth).toBe(10); // a ternary tree: 1 + 3 + … + 6,561 = 9,841 nodes fill nine levels
    expect(routeTopology(m).topology).toBe("hybrid");
  });
});
