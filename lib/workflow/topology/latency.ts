import { DEFAULT_WORKER_CONCURRENCY } from "../kinds/worker";
import type { WorkflowDocument, WorkflowNode } from "../schema";
import { backEdgeIds } from "../validate";

/**
 * How long a workflow takes for given node latencies: a discrete-event simulation of what the
 * engine does (a node starts when its forward inputs are done, model calls share the run's
 * concurrency cap, a worker's items share its own cap and its dependent items wait for the rest).
 * Loops count once. With an unlimited cap this is the critical path.
 */

export type NodeLatency = {
  /** A node's own latency in ms (0 for nodes that call no model). */
  ms(node: WorkflowNode): number;
  /** A map worker's items; when given, the worker is simulated item by item. */
  items?(node: WorkflowNode): ReadonlyArray<{ ms: number; after: boolean }> | undefined;
};

type Job = { ms: number; deps: number; next: number[]; cap?: { id: number; max: number }; done: boolean };

export function simulateLatency(doc: WorkflowDocument, latency: NodeLatency, maxConcurrency = Infinity): number {
  const nodes = doc.nodes.filter((n) => n.kind !== "note");
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const back = backEdgeIds(doc);
  const jobs: Job[] = [];
  const job = (ms: number, cap?: Job["cap"]) => jobs.push({ ms, deps: 0, next: [], cap, done: false }) - 1;
  const link = (from: number, to: number) => {
    jobs[from].next.push(to);
    jobs[to].deps++;
  };
  // Each node is a start job and an end job; a worker with items puts them in between.
  const start: number[] = [];
  const end: number[] = [];
  nodes.forEach((node, i) => {
    const items = node.kind === "worker" ? latency.items?.(node) : undefined;
    if (!items) {
      start[i] = end[i] = job(latency.ms(node));
      return;
    }
    start[i] = job(0);
    end[i] = job(0);
    const cap = { id: i, max: (node.kind === "worker" ? node.config.concurrency : undefined) ?? DEFAULT_WORKER_CONCURRENCY };
    const first = items.filter((item) => !item.after).map((item) => job(item.ms, cap));
    const gate = job(0);
    for (const item of first) {
      link(start[i], item);
      link(item, gate);
    }
    if (!first.length) link(start[i], gate);
    for (const item of items.filter((it) => it.after)) {
      const j = job(item.ms, cap);
      link(gate, j);
      link(j, end[i]);
    }
    link(gate, end[i]);
  });
  for (const edge of doc.edges) {
    if (back.has(edge.id)) continue;
    const s = index.get(edge.source);
    const t = index.get(edge.target);
    if (s !== undefined && t !== undefined) link(end[s], start[t]);
  }

  let now = 0;
  let busy = 0;
  const capBusy = new Map<number, number>();
  const ready: number[] = [];
  const running: Array<{ job: number; until: number }> = [];
  jobs.forEach((j, i) => j.deps === 0 && ready.push(i));
  let finished = 0;
  const complete = (i: number) => {
    jobs[i].done = true;
    finished++;
    for (const next of jobs[i].next) if (--jobs[next].deps === 0) ready.push(next);
  };
  while (finished < jobs.length) {
    // Start what can start, in the order it became ready (zero-latency jobs need no slot).
    for (let k = 0; k < ready.length; ) {
      const i = ready[k];
      const j = jobs[i];
      if (j.ms <= 0) {
        ready.splice(k, 1);
        complete(i);
        k = 0;
        continue;
      }
      const inCap = j.cap ? (capBusy.get(j.cap.id) ?? 0) : 0;
      if (busy < maxConcurrency && (!j.cap || inCap < j.cap.max)) {
        ready.splice(k, 1);
        busy++;
        if (j.cap) capBusy.set(j.cap.id, inCap + 1);
        running.push({ job: i, until: now + j.ms });
        continue;
      }
      k++;
    }
    if (!running.length) break;
    running.sort((a, b) => a.until - b.until);
    const next = running.shift()!;
    now = next.until;
    busy--;
    const cap = jobs[next.job].cap;
    if (cap) capBusy.set(cap.id, (capBusy.get(cap.id) ?? 1) - 1);
    complete(next.job);
  }
  return now;
}
