import { contentWords } from "./text";

/**
 * Structural measures of a task decomposition DAG (AdaptOrch, Feb 2026, §4): every one in
 * O(|V| + |E|) plus the length of the prompts, so a plan of any size is routed at once.
 */

/** A task DAG by index: `edges` are [dependency, dependent] pairs ("to" needs "from"'s result). */
export type TaskDag = {
  count: number;
  edges: ReadonlyArray<readonly [from: number, to: number]>;
  /** Each subtask's instructions, for near-duplicate detection. */
  prompts?: ReadonlyArray<string>;
  /**
   * Subtasks that can never run together (the branches of one router) share a group: a level's
   * width counts groups, not subtasks. Default: every subtask its own group.
   */
  exclusiveGroup?: ReadonlyArray<number>;
};

export type TaskMetrics = {
  /** Subtasks. */
  n: number;
  /** Distinct dependencies. */
  dependencies: number;
  /** 1-based longest-path level of each subtask: 1 for those that depend on nothing. */
  levels: number[];
  /** ω: the most subtasks on one level — how many can run at once. */
  width: number;
  /** δ: the number of levels — the longest chain of dependencies. */
  depth: number;
  /** γ = dependencies / (n(n−1)/2): 0 when nothing depends on anything, 1 when everything does. */
  coupling: number;
  /** Weakly connected parts: more than one means unrelated pieces of work. */
  components: number;
  /** The level-1 subtasks are the same instructions over different items (see NEAR_DUPLICATE_SHARE). */
  nearDuplicate: boolean;
  /** How much of a level-1 prompt is the skeleton it shares with the others, on average (null with too few). */
  skeletonShare: number | null;
};

/** Level-1 prompts are near-duplicates when, on average, at least this share of their content words is a shared skeleton. */
export const NEAR_DUPLICATE_SHARE = 0.75;
/** A word is part of the shared skeleton when at least this share of the level-1 prompts use it. */
export const SKELETON_PRESENCE = 0.8;
/** Fewer items than this are a handful of parts, not "one kind of work over items". */
export const NEAR_DUPLICATE_MIN_ITEMS = 3;

/**
 * Longest-path levels by Kahn's algorithm. Subtasks on a cycle (callers repair cycles first; this
 * only keeps a bad input from hanging) are placed after their finished dependencies.
 */
function longestPathLevels(count: number, successors: number[][], indegree: Int32Array): number[] {
  const levels = new Array<number>(count).fill(1);
  const remaining = Int32Array.from(indegree);
  const queue: number[] = [];
  for (let v = 0; v < count; v++) if (remaining[v] === 0) queue.push(v);
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q];
    for (const w of successors[v]) {
      if (levels[v] + 1 > levels[w]) levels[w] = levels[v] + 1;
      if (--remaining[w] === 0) queue.push(w);
    }
  }
  return levels;
}

function countComponents(count: number, pairs: ReadonlyArray<readonly [number, number]>): number {
  const parent = Int32Array.from({ length: count }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  let components = count;
  for (const [a, b] of pairs) {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) {
      parent[ra] = rb;
      components--;
    }
  }
  return components;
}

/** The mean share of each item's content words that most of the items use: 1 for one sentence with the item swapped. */
export function skeletonShare(prompts: ReadonlyArray<string>): number | null {
  if (prompts.length < NEAR_DUPLICATE_MIN_ITEMS) return null;
  const sets = prompts.map((prompt) => new Set(contentWords(prompt)));
  const usedBy = new Map<string, number>();
  for (const words of sets) for (const word of words) usedBy.set(word, (usedBy.get(word) ?? 0) + 1);
  const needed = Math.ceil(SKELETON_PRESENCE * prompts.length);
  let total = 0;
  for (const words of sets) {
    if (!words.size) return 0;
    let shared = 0;
    for (const word of words) if ((usedBy.get(word) ?? 0) >= needed) shared++;
    total += shared / words.size;
  }
  return total / sets.length;
}

export function taskMetrics(dag: TaskDag): TaskMetrics {
  const { count } = dag;
  const successors: number[][] = Array.from({ length: count }, () => []);
  const indegree = new Int32Array(count);
  const seen = new Set<number>();
  const pairs: Array<readonly [number, number]> = [];
  for (const [from, to] of dag.edges) {
    if (from === to || from < 0 || to < 0 || from >= count || to >= count) continue;
    const id = from * count + to;
    if (seen.has(id)) continue;
    seen.add(id);
    pairs.push([from, to]);
    successors[from].push(to);
    indegree[to]++;
  }
  const levels = longestPathLevels(count, successors, indegree);
  let depth = 0;
  for (const level of levels) if (level > depth) depth = level;
  // Width counts groups per level: the branches of one router are one slot, since only one runs.
  const groupsAtLevel = new Map<number, Set<number>>();
  levels.forEach((level, v) => {
    let groups = groupsAtLevel.get(level);
    if (!groups) groupsAtLevel.set(level, (groups = new Set()));
    groups.add(dag.exclusiveGroup?.[v] ?? -1 - v);
  });
  let width = 0;
  for (const groups of groupsAtLevel.values()) if (groups.size > width) width = groups.size;
  const dependencies = pairs.length;
  const coupling = count > 1 ? dependencies / ((count * (count - 1)) / 2) : 0;
  const firstLevel = dag.prompts ? levels.flatMap((level, v) => (level === 1 ? [dag.prompts![v] ?? ""] : [])) : [];
  const share = skeletonShare(firstLevel);
  // The items must be the bulk of the work: four cities and a comparison, not two parts and a long chain.
  const nearDuplicate = share !== null && share >= NEAR_DUPLICATE_SHARE && firstLevel.length * 2 >= count;
  return {
    n: count,
    dependencies,
    levels,
    width,
    depth,
    coupling,
    components: countComponents(count, pairs),
    nearDuplicate,
    skeletonShare: share,
  };
}
