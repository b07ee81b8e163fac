/**
 * Graph algorithms over node indices, shared by validation, the engine's compiled form and the
 * editor. Adjacency lists are `number[][]`: `adjacency[n]` holds the nodes `n` points to.
 */

export type IndexEdge = { source: number; target: number };

/** Every node reachable from `start` (itself included). */
export function reach(start: number, adjacency: ReadonlyArray<ReadonlyArray<number>>, into = new Set<number>()): Set<number> {
  const stack = [start];
  into.add(start);
  while (stack.length) {
    const node = stack.pop()!;
    for (const next of adjacency[node]) {
      if (!into.has(next)) {
        into.add(next);
        stack.push(next);
      }
    }
  }
  return into;
}

export function adjacencyOf(count: number, edges: Iterable<IndexEdge>, reverse = false): number[][] {
  const adjacency: number[][] = Array.from({ length: count }, () => []);
  for (const e of edges) {
    if (reverse) adjacency[e.target].push(e.source);
    else adjacency[e.source].push(e.target);
  }
  return adjacency;
}

/**
 * Which candidate edges close a loop: those whose target reaches their source along the other
 * (non-candidate) edges. Only loop ports (an evaluator's `revise`, a gate's `fail`) are candidates.
 */
export function backEdges<E extends IndexEdge>(count: number, edges: ReadonlyArray<E>, isCandidate: (edge: E) => boolean): boolean[] {
  const plain = adjacencyOf(count, edges.filter((e) => !isCandidate(e)));
  return edges.map((e) => isCandidate(e) && reach(e.target, plain).has(e.source));
}

/** The nodes left over by a topological sort (Kahn), or an empty list when the graph is acyclic. */
export function nodesOnCycles(count: number, forward: ReadonlyArray<ReadonlyArray<number>>): number[] {
  const indegree = new Int32Array(count);
  for (const targets of forward) for (const t of targets) indegree[t]++;
  const queue: number[] = [];
  for (let n = 0; n < count; n++) if (indegree[n] === 0) queue.push(n);
  for (let q = 0; q < queue.length; q++) {
    for (const next of forward[queue[q]]) if (--indegree[next] === 0) queue.push(next);
  }
  const stuck: number[] = [];
  for (let n = 0; n < count; n++) if (indegree[n] > 0) stuck.push(n);
  return stuck;
}

/** Finds one cycle among `candidates`, as a node path that starts and ends on the same node. */
export function findCycle(candidates: Set<number>, adjacency: ReadonlyArray<ReadonlyArray<number>>): number[] | null {
  const color = new Map<number, 1 | 2>();
  const parent = new Map<number, number>();
  for (const start of candidates) {
    if (color.has(start)) continue;
    const stack: Array<[number, number]> = [[start, 0]];
    color.set(start, 1);
    while (stack.length) {
      const frame = stack[stack.length - 1];
      const [node, i] = frame;
      const next = adjacency[node][i];
      if (next === undefined) {
        color.set(node, 2);
        stack.pop();
        continue;
      }
      frame[1]++;
      if (!candidates.has(next)) continue;
      if (color.get(next) === 1) {
        const cycle = [next];
        for (let at = node; at !== next; at = parent.get(at)!) cycle.push(at);
        cycle.push(next);
        return cycle.reverse();
      }
      if (!color.has(next)) {
        color.set(next, 1);
        parent.set(next, node);
        stack.push([next, 0]);
      }
    }
  }
  return null;
}

/** A loop's body: the nodes on some forward path from the back-edge's target to its source. */
export function loopBody(backEdge: IndexEdge, forward: ReadonlyArray<ReadonlyArray<number>>, reverse: ReadonlyArray<ReadonlyArray<number>>): number[] {
  const fromTarget = reach(backEdge.target, forward);
  const toSource = reach(backEdge.source, reverse);
  return [...fromTarget].filter((n) => toSource.has(n)).sort((a, b) => a - b);
}
