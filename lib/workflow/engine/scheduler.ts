import type { RunLimits } from "../limits";
import { findPlaceholder, TemplateError } from "../template";
import { kindOf, type CompiledWorkflow } from "../validate";
import { EventChannel } from "./channel";
import type { Clock } from "./clock";
import type { NodeResult, RerunPlan } from "./context";
import { CancelledError, LimitError, NodeError } from "./errors";
import type { RunError, RunEvent, RunEventBody, RunStatus, RunWarning } from "./events";
import { addUsage, RUN_OVER, utf8Length } from "./model-call";
import type { ModelPort, TokenUsage } from "./model-port";
import { NodeRun } from "./node-context";
import { pinnedResult } from "../pin";
import type { RunReuse, ReusedNode } from "./reuse";
import type { RecalledExecution, RunResume } from "./resume";
import { CallGroup, Semaphore } from "./semaphore";

/**
 * The dataflow scheduler (docs/architecture.md §4.2–§4.5): each edge of a run is pending, fired
 * or dead; a node starts as soon as every inbound edge is resolved and one fired, and is skipped
 * when all died. Loops reset their body when a back-edge fires. Every way a run can end goes
 * through `finish`, which emits `run-finished` exactly once.
 */

const PENDING = 0;
const FIRED = 1;
const DEAD = 2;
/** A deferred edge's decision: none yet. */
const UNDECIDED = 0;

type NodeStatus = "pending" | "running" | "done" | "skipped" | "failed" | "cancelled";

export type SchedulerOptions = {
  runId: string;
  inputs: Record<string, unknown>;
  models: ModelPort;
  signal?: AbortSignal;
  limits: RunLimits;
  clock: Clock;
  random: () => number;
  coalesceMs: number;
  /** Start from given nodes of an earlier run: its recorded results stand in for the other nodes. */
  reuse?: RunReuse;
  /** Resume this run after an earlier attempt of it stopped: the executions it finished answer their recorded results. */
  resume?: RunResume;
};

/** How a node's `node-finished` says it did not execute. */
type Provenance = { reused?: { runId: string }; pinned?: true };
const PINNED: Provenance = Object.freeze({ pinned: true as const });

export class Run {
  readonly channel: EventChannel<RunEvent>;
  readonly clock: Clock;
  readonly random: () => number;
  readonly limits: RunLimits;
  readonly models: ModelPort;
  readonly coalesceMs: number;
  readonly semaphore: Semaphore;
  /** Every model call of the run, aborted together when the run ends. */
  readonly calls: CallGroup;
  readonly state: Record<string, unknown> = Object.create(null);
  /** Deltas held by coalescing windows: sent before the run's last events, so a cancelled run keeps them. */
  readonly outlets = new Set<{ flush(): void }>();
  private readonly controller = new AbortController();
  private readonly runId: string;
  private startedAt = 0;
  private seq = 0;

  private readonly status: NodeStatus[];
  private readonly edgeState: Uint8Array;
  /** For edges leaving a loop body: the decision held back until every loop they leave has ended. */
  private readonly deferred: Uint8Array;
  private readonly unresolved: Int32Array;
  private readonly firedIn: Int32Array;
  /** Executions per node in this run: stamps events and tells a stale result from the current one. */
  private readonly iterations: Int32Array;
  /** Executions since the node's enclosing loop was last entered from outside (what a loop's bound counts). */
  private readonly passes: Int32Array;
  private readonly startedAtNode: Float64Array;
  private readonly nodeUsage: TokenUsage[];
  private readonly usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  private readonly warnings: RunWarning[] = [];
  private running = 0;
  private modelCalls = 0;
  private loopIterations = 0;
  private finished = false;
  private outcome: { status: RunStatus; error?: RunError } | null = null;
  private detachExternal: (() => void) | null = null;
  private cancelWallTimer: (() => void) | null = null;
  /** Nodes (by index) that answer their recorded result once instead of running; empty without reuse. */
  private readonly reused = new Map<number, ReusedNode>();
  private readonly instancesTaken = new Set<number>();
  /** A join's gathering round (1, then one more per re-run of its branches; §4.15). */
  private readonly rounds: Int32Array;
  /** Model calls of each node's latest execution, and its duration: what a re-run is estimated to cost. */
  private readonly nodeCalls: Int32Array;
  /** Of those, the calls the node made itself (not its map instances'), and each instance's (by node and index): what `node-finished` says. */
  private readonly ownCalls: Int32Array;
  private readonly instanceCalls = new Map<string, number>();
  /** How long the run had been going before this attempt (a resumed run): its wall time counts from its first start. */
  private readonly priorMs: number;
  private readonly lastMs: Float64Array;
  /** Nodes re-running for a join, and the note their model calls get. */
  private readonly rerunNotes = new Map<number, string>();
  /** Per join: each inbound neighbour's branch (the nodes that re-run with it), computed when first asked. */
  private readonly branchCache = new Map<number, Map<number, number[]>>();

  constructor(
    readonly workflow: CompiledWorkflow,
    private readonly options: SchedulerOptions,
  ) {
    const n = workflow.nodes.length;
    this.clock = options.clock;
    this.random = options.random;
    this.limits = options.limits;
    this.models = options.models;
    this.coalesceMs = options.coalesceMs;
    this.semaphore = new Semaphore(this.limits.maxConcurrency);
    this.calls = new CallGroup(this.controller.signal, RUN_OVER);
    this.runId = options.runId;
    this.status = new Array<NodeStatus>(n).fill("pending");
    this.edgeState = new Uint8Array(workflow.edges.length);
    this.deferred = new Uint8Array(workflow.edges.length);
    this.unresolved = new Int32Array(n);
    this.firedIn = new Int32Array(n);
    this.iterations = new Int32Array(n);
    this.passes = new Int32Array(n);
    this.startedAtNode = new Float64Array(n);
    this.nodeUsage = Array.from({ length: n }, () => ({ inputTokens: 0, outputTokens: 0 }));
    this.rounds = new Int32Array(n).fill(1);
    this.nodeCalls = new Int32Array(n);
    this.ownCalls = new Int32Array(n);
    this.lastMs = new Float64Array(n);
    // A resumed run's earlier attempts spent time and model calls that count against its limits.
    this.priorMs = options.resume?.elapsedMs ?? 0;
    this.modelCalls = options.resume?.modelCalls ?? 0;
    for (let i = 0; i < n; i++) this.unresolved[i] = workflow.incoming[i].length;
    if (options.reuse) this.seed(options.reuse);
    this.channel = new EventChannel<RunEvent>(
      () => this.guard(() => this.start()),
      () => this.cancel(),
    );
  }

  /** Stamps an event in place (bodies are always fresh literals) and queues it. Nothing is sent after `run-finished`. */
  emit(body: RunEventBody): void {
    if (this.finished && body.type !== "run-finished" && body.type !== "node-cancelled") return;
    const event = body as RunEvent;
    event.seq = this.seq++;
    event.t = this.elapsedSince(this.startedAt);
    this.channel.push(event);
  }

  elapsedSince(from: number): number {
    return Math.round((this.clock.now() - from) * 1000) / 1000;
  }

  /**
   * Runs scheduler work so that nothing it throws escapes as an unhandled rejection: an
   * unexpected error fails the run with `internal` and a message, and the process lives on.
   */
  private guard(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.fail({ code: "internal", message: `the engine stopped on an unexpected error: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  /** A run from given nodes: counters where the earlier run had them, and the results it reuses. */
  private seed(reuse: RunReuse): void {
    this.workflow.nodes.forEach((node, n) => {
      this.iterations[n] = reuse.iterations[node.id] ?? 0;
      this.passes[n] = reuse.summary.passes?.[node.id] ?? 0;
      const recorded = reuse.nodes[node.id];
      if (recorded) this.reused.set(n, recorded);
    });
  }

  private start(): void {
    this.startedAt = this.clock.now();
    Object.assign(this.state, this.options.inputs);
    const reuse = this.options.reuse;
    if (reuse?.summary.state) Object.assign(this.state, reuse.summary.state);
    this.emit({
      type: "run-started",
      runId: this.runId,
      workflow: this.workflow.document.name,
      inputs: { ...this.options.inputs },
      ...(reuse ? { reuse: reuse.summary } : {}),
    });
    const external = this.options.signal;
    if (external) {
      if (external.aborted) return this.cancel();
      const onAbort = () => this.cancel();
      external.addEventListener("abort", onAbort, { once: true });
      this.detachExternal = () => external.removeEventListener("abort", onAbort);
    }
    const wallTimeOver = () => this.fail({ code: "limit:wall-time", message: `the run exceeded its wall time limit of ${this.limits.maxWallTimeMs} ms` });
    if (this.priorMs >= this.limits.maxWallTimeMs) return wallTimeOver();
    this.cancelWallTimer = this.clock.schedule(this.limits.maxWallTimeMs - this.priorMs, wallTimeOver);
    if (this.workflow.nodes.length === 0) return this.finish();
    this.startNode(this.workflow.inputIndex);
  }

  // ── Scheduling ──────────────────────────────────────────────────────────────

  private startNode(n: number): void {
    if (this.reused.size && this.reused.has(n)) return this.reuseNode(n);
    const node = this.workflow.nodes[n];
    const kind = kindOf(node);
    this.status[n] = "running";
    this.running++;
    const iteration = ++this.iterations[n];
    this.passes[n]++;
    this.startedAtNode[n] = this.clock.now();
    this.nodeUsage[n] = { inputTokens: 0, outputTokens: 0 };
    this.nodeCalls[n] = 0;
    this.ownCalls[n] = 0;
    if (node.pinned) {
      // A pinned node answers its pinned value at once: no model is called.
      this.emit({ type: "node-started", nodeId: node.id, iteration });
      return this.nodeDone(n, iteration, pinnedResult(node as unknown as Parameters<typeof pinnedResult>[0], new NodeRun(this, n, this.controller.signal)), PINNED);
    }
    const model = kind.models(node.config, this.workflow.defaultModel)[0];
    this.emit({ type: "node-started", nodeId: node.id, iteration, ...(model ? { model } : {}) });
    const recalled = this.options.resume?.recall(node.id, iteration);
    if (recalled) {
      // An earlier attempt of this run finished this execution: its result, without a model call
      // (its calls are counted in the resume's; they stand for the cost of a re-run, as if made here).
      this.addRecalledUsage(n, recalled.usage);
      this.nodeCalls[n] = this.ownCalls[n] = recalled.calls ?? 0;
      return this.nodeDone(n, iteration, recalled);
    }
    let result: Promise<NodeResult>;
    try {
      result = kind.execute(new NodeRun(this, n, this.controller.signal));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (value) => this.guard(() => this.nodeDone(n, iteration, value)),
      (error: unknown) => this.guard(() => this.nodeFailed(n, iteration, error)),
    );
  }

  /**
   * A reused node answers its recorded result without starting (no `node-started`, no model call,
   * no usage). Only once: a loop that goes round again runs it for real.
   */
  private reuseNode(n: number): void {
    const recorded = this.reused.get(n)!;
    this.reused.delete(n);
    this.status[n] = "running";
    this.running++;
    this.iterations[n] = recorded.iteration;
    this.nodeUsage[n] = { inputTokens: 0, outputTokens: 0 };
    this.startedAtNode[n] = this.clock.now();
    this.nodeDone(n, recorded.iteration, { writes: recorded.writes, ports: recorded.ports, output: recorded.output }, { reused: { runId: this.options.reuse!.summary.runId } });
  }

  /**
   * A worker re-running only its failed instances: the recorded outputs of its instances (null
   * where one runs again), for its first execution in this run and only for a list of the same length.
   */
  takeReusedInstances(n: number, count: number): { runId: string; outputs: ReadonlyArray<{ output: unknown } | null> } | null {
    const reuse = this.options.reuse;
    const nodeId = this.workflow.nodes[n].id;
    const recorded = reuse?.instances?.[nodeId];
    if (!recorded || this.instancesTaken.has(n)) return null;
    this.instancesTaken.add(n);
    return recorded.length === count ? { runId: reuse.summary.runId, outputs: recorded } : null;
  }

  /** A map worker's instance an earlier attempt of this run finished (see `resume`), or undefined. */
  recallInstance(n: number, iteration: number, instance: number): RecalledExecution | undefined {
    return this.options.resume?.recall(this.workflow.nodes[n].id, iteration, instance);
  }

  /** Model calls one map instance made in the node's current execution (read once, when it finishes). */
  takeInstanceCalls(n: number, instance: number): number {
    const calls = this.instanceCalls.get(`${n}:${instance}`) ?? 0;
    this.instanceCalls.delete(`${n}:${instance}`);
    return calls;
  }

  /** Tokens a recalled execution used when it ran: they are the run's usage, and what later calls add to counts against its budget. */
  addRecalledUsage(n: number, usage: TokenUsage): void {
    addUsage(this.nodeUsage[n], usage);
    addUsage(this.usage, usage);
  }

  private nodeDone(n: number, iteration: number, result: NodeResult, provenance?: Provenance): void {
    if (this.finished || this.status[n] !== "running" || this.iterations[n] !== iteration) return;
    const node = this.workflow.nodes[n];
    const kind = kindOf(node);
    const allowed = kind.writes(node.config);
    for (const key of Object.keys(result.writes)) {
      if (!allowed.includes(key)) return this.nodeFailed(n, iteration, new NodeError("internal", `node wrote "${key}", which it does not own`));
    }
    for (const [key, value] of Object.entries(result.writes)) {
      if (this.tooLarge(value)) {
        return this.nodeFailed(n, iteration, new LimitError("output-size", `"${key}" is larger than the ${this.limits.maxOutputBytes}-byte limit`));
      }
      this.state[key] = value;
      this.checkPlaceholders(node.id, value);
    }
    this.rerunNotes.delete(n);
    this.lastMs[n] = this.elapsedSince(this.startedAtNode[n]);
    // A join that asked for some branches to run again fires nothing yet: it gathers again.
    let rerun = result.rerun ? this.rerunPlan(n, result.rerun.keys) : undefined;
    if (rerun && !rerun.ok) {
      this.warn({ code: "rerun-skipped", message: `the outlier branches were not run again: ${rerun.reason}`, nodeId: node.id });
      rerun = undefined;
    }
    this.status[n] = "done";
    const ports = rerun ? [] : (result.ports ?? kind.outputs(node.config));
    this.emit({
      type: "node-finished",
      nodeId: node.id,
      output: result.output ?? result.writes,
      ports,
      usage: this.nodeUsage[n],
      ms: this.elapsedSince(this.startedAtNode[n]),
      iteration,
      ...(this.ownCalls[n] ? { calls: this.ownCalls[n] } : {}),
      ...provenance,
      ...(rerun ? { rerun: result.rerun } : {}),
    });
    const { edges, outgoing } = this.workflow;
    const loops = outgoing[n].filter((e) => edges[e].back && ports.includes(edges[e].sourcePort));
    if (rerun?.ok) {
      this.rerunBranches(n, rerun.branches, result.rerun!.note);
      if (this.finished) return;
    } else if (loops.length) {
      // The node will run again: its forward edges stay pending until the loop is done.
      for (const e of loops) {
        this.loopBack(e);
        if (this.finished) return;
      }
    } else {
      for (const e of outgoing[n]) {
        if (edges[e].back) continue;
        if (ports.includes(edges[e].sourcePort)) this.fireEdge(e);
        else this.killEdge(e);
      }
      this.loopsEndedAt(n);
    }
    // Counted as running until its edges are out: a reused or pinned node downstream finishes
    // synchronously inside this call, and must not see an idle run and end it early.
    this.running--;
    this.maybeFinish();
  }

  /** Strings count their UTF-8 bytes; structured values their JSON text. */
  private tooLarge(value: unknown): boolean {
    if (value === undefined || value === null) return false;
    const max = this.limits.maxOutputBytes;
    if (typeof value === "string") return value.length > max || (value.length * 3 > max && utf8Length(value) > max);
    if (typeof value !== "object") return false;
    const json = JSON.stringify(value);
    return json.length > max || (json.length * 3 > max && utf8Length(json) > max);
  }

  private fireEdge(e: number): void {
    this.resolveEdge(e, FIRED);
  }

  private killEdge(e: number): void {
    this.resolveEdge(e, DEAD);
  }

  private resolveEdge(e: number, to: typeof FIRED | typeof DEAD): void {
    if (this.edgeState[e] !== PENDING) return;
    const leaves = this.workflow.loopExits.size ? this.workflow.loopExits.get(e) : undefined;
    if (leaves && !leaves.every((loop) => this.loopEnded(loop))) {
      // Leaving a loop that may still iterate: what is downstream sees only the final pass.
      this.deferred[e] = to;
      return;
    }
    this.edgeState[e] = to;
    const t = this.workflow.edges[e].target;
    if (to === FIRED) this.firedIn[t]++;
    if (--this.unresolved[t] === 0) this.resolved(t);
  }

  /** A loop has ended when its closing node finished without looping back, or was skipped. */
  private loopEnded(backEdge: number): boolean {
    const status = this.status[this.workflow.edges[backEdge].source];
    return status === "done" || status === "skipped";
  }

  /** `n` ended without looping: release the held-back edges of the loops it closes. */
  private loopsEndedAt(n: number): void {
    if (!this.workflow.loopExits.size) return;
    for (const loop of this.workflow.loopsClosedBy[n]) {
      for (const e of this.workflow.exitsOfLoop.get(loop) ?? []) {
        const decision = this.deferred[e];
        if (decision === UNDECIDED) continue;
        if (!this.workflow.loopExits.get(e)!.every((other) => this.loopEnded(other))) continue;
        this.deferred[e] = UNDECIDED;
        this.resolveEdge(e, decision as typeof FIRED | typeof DEAD);
      }
    }
  }

  /** Every inbound edge is resolved: run if one fired, else skip and let the death spread. */
  private resolved(n: number): void {
    if (this.status[n] !== "pending" || this.finished) return;
    if (this.firedIn[n] > 0) return this.startNode(n);
    this.status[n] = "skipped";
    this.emit({ type: "node-skipped", nodeId: this.workflow.nodes[n].id });
    for (const e of this.workflow.outgoing[n]) if (!this.workflow.edges[e].back) this.killEdge(e);
    this.loopsEndedAt(n);
  }

  /**
   * A back-edge fired: every node of the loop body is reset, with every edge they send (inside
   * the body or out of it, so a branch that died in one pass can fire in the next), and the head
   * runs again with the new state. Loops nested inside start counting their passes afresh.
   */
  private loopBack(e: number): void {
    const { edges, outgoing, nodes } = this.workflow;
    if (++this.loopIterations > this.limits.maxTotalLoopIterations) {
      return this.fail({
        code: "limit:loop-iterations",
        message: `the run's loops went round ${this.limits.maxTotalLoopIterations} times in all, its limit`,
        nodeId: nodes[edges[e].source].id,
      });
    }
    const body = this.workflow.loopBodies.get(e)!;
    const source = edges[e].source;
    for (const b of body) {
      this.status[b] = "pending";
      // A join in the body gathers afresh on the next pass.
      this.rounds[b] = 1;
      this.rerunNotes.delete(b);
      if (b !== source && this.workflow.loopsClosedBy[b].length) this.passes[b] = 0;
      for (const k of outgoing[b]) {
        if (edges[k].back) continue;
        this.edgeState[k] = PENDING;
        this.deferred[k] = UNDECIDED;
      }
    }
    for (const b of body) this.recount(b);
    // Targets outside the body wait again for the edges the body will send them.
    for (const b of body) {
      for (const k of outgoing[b]) {
        const t = edges[k].target;
        if (!edges[k].back && this.status[t] === "pending") this.recount(t);
      }
    }
    const head = edges[e].target;
    this.emit({ type: "loop-iteration", nodeId: nodes[source].id, targetId: nodes[head].id, iteration: this.iterations[source] + 1 });
    if (this.unresolved[head] === 0) this.resolved(head);
  }

  // ── Re-running a join's branches (§4.15) ─────────────────────────────────

  /**
   * Each inbound neighbour's branch: that neighbour and the nodes upstream of it that feed nothing
   * but the branch (so re-running them changes nothing else), are not upstream of another neighbour
   * (the fork and what precedes it), are not pinned and sit in exactly the loops the join sits in.
   */
  private branchesOf(n: number): Map<number, number[]> {
    const cached = this.branchCache.get(n);
    if (cached) return cached;
    const { edges, incoming, outgoing, nodes, loopBodies } = this.workflow;
    const upstream = (from: number) => {
      const seen = new Set([from]);
      for (const stack = [from]; stack.length; ) {
        for (const e of incoming[stack.pop()!]) {
          const source = edges[e].source;
          if (seen.has(source)) continue;
          seen.add(source);
          stack.push(source);
        }
      }
      return seen;
    };
    const loopsOf = (u: number) => [...loopBodies].flatMap(([e, body]) => (body.includes(u) ? [e] : [])).join();
    const own = loopsOf(n);
    const neighbours = [...new Set(incoming[n].map((e) => edges[e].source))];
    const reach = neighbours.map(upstream);
    const branches = new Map<number, number[]>();
    neighbours.forEach((p, i) => {
      const shared = new Set<number>();
      reach.forEach((set, j) => {
        if (j !== i) for (const u of set) shared.add(u);
      });
      const candidates = [...reach[i]].filter(
        (u) => !shared.has(u) && u !== this.workflow.inputIndex && !nodes[u].pinned && !outgoing[u].some((e) => edges[e].back) && loopsOf(u) === own,
      );
      const branch = new Set<number>();
      for (let grew = true; grew; ) {
        grew = false;
        for (const u of candidates) {
          if (branch.has(u) || !outgoing[u].every((e) => edges[e].target === n || branch.has(edges[e].target))) continue;
          branch.add(u);
          grew = true;
        }
      }
      branches.set(p, [...branch].sort((a, b) => a - b));
    });
    this.branchCache.set(n, branches);
    return branches;
  }

  /** What re-running the branches that wrote `keys` would do, by node index; refused when a run limit would be reached. */
  private rerunPlan(n: number, keys: ReadonlyArray<string>): { ok: true; branches: Array<{ key: string; nodes: number[] }>; skipped: Array<{ key: string; reason: string }> } | { ok: false; reason: string } {
    const { nodes } = this.workflow;
    const branches = this.branchesOf(n);
    const planned: Array<{ key: string; nodes: number[] }> = [];
    const skipped: Array<{ key: string; reason: string }> = [];
    for (const key of new Set(keys)) {
      const writers = [...branches.keys()].filter((p) => this.status[p] === "done" && kindOf(nodes[p]).writes(nodes[p].config).includes(key));
      const members = [...new Set(writers.flatMap((p) => branches.get(p)!))];
      if (members.length) planned.push({ key, nodes: members });
      else skipped.push({ key, reason: writers.length ? "its branch shares steps with other branches, is pinned or sits in another loop, so it cannot run again on its own" : "no branch of this join wrote it" });
    }
    if (!planned.length) return { ok: false, reason: skipped.map((s) => `"${s.key}": ${s.reason}`).join("; ") || "no branch to run again" };
    const { limits } = this;
    if (this.loopIterations + 1 > limits.maxTotalLoopIterations) {
      return { ok: false, reason: `the run's loops and re-runs reached their limit of ${limits.maxTotalLoopIterations}` };
    }
    // The cost of the branches' latest execution stands for the cost of the next one.
    const members = new Set(planned.flatMap((p) => p.nodes));
    let calls = 0;
    let tokens = 0;
    for (const b of members) {
      calls += Math.max(this.nodeCalls[b], kindOf(nodes[b]).models(nodes[b].config, this.workflow.defaultModel).length ? 1 : 0);
      tokens += this.nodeUsage[b].inputTokens + this.nodeUsage[b].outputTokens;
    }
    const ms = Math.max(...planned.map((p) => p.nodes.reduce((sum, b) => sum + this.lastMs[b], 0)));
    if (this.modelCalls + calls > limits.maxModelCalls) {
      return { ok: false, reason: `it would take about ${calls} more model calls, past the run's limit of ${limits.maxModelCalls} (${this.modelCalls} made)` };
    }
    const used = this.usage.inputTokens + this.usage.outputTokens;
    if (used + tokens > limits.maxTokens) {
      return { ok: false, reason: `it would use about ${tokens} more tokens, past the run's budget of ${limits.maxTokens} (${used} used)` };
    }
    if (this.priorMs + this.elapsedSince(this.startedAt) + ms > limits.maxWallTimeMs) {
      return { ok: false, reason: `it would take about ${Math.round(ms)} ms more, past the run's wall time limit of ${limits.maxWallTimeMs} ms` };
    }
    return { ok: true, branches: planned, skipped };
  }

  planRerun(n: number, keys: ReadonlyArray<string>): RerunPlan {
    const plan = this.rerunPlan(n, keys);
    if (!plan.ok) return plan;
    const ids = (list: number[]) => [...list].sort((a, b) => a - b).map((b) => this.workflow.nodes[b].id);
    return { ok: true, branches: plan.branches.map((b) => ({ key: b.key, nodes: ids(b.nodes) })), skipped: plan.skipped };
  }

  /**
   * The join `n` re-runs some of its branches: their nodes return to pending with the edges they
   * send (as a loop body does), the join waits for those edges again, and the branches' first nodes
   * start at once — the rest of the graph is untouched. Counts as a loop-back against
   * `maxTotalLoopIterations`, so rounds, like loops, always end.
   */
  private rerunBranches(n: number, branches: Array<{ key: string; nodes: number[] }>, note: string): void {
    const { outgoing, nodes } = this.workflow;
    if (++this.loopIterations > this.limits.maxTotalLoopIterations) {
      return this.fail({ code: "limit:loop-iterations", message: `the run's loops went round ${this.limits.maxTotalLoopIterations} times in all, its limit`, nodeId: nodes[n].id });
    }
    const members = [...new Set(branches.flatMap((b) => b.nodes))].sort((a, b) => a - b);
    this.rounds[n]++;
    for (const b of members) {
      this.status[b] = "pending";
      this.rerunNotes.set(b, note);
      for (const k of outgoing[b]) {
        this.edgeState[k] = PENDING;
        this.deferred[k] = UNDECIDED;
      }
    }
    this.status[n] = "pending";
    for (const b of members) this.recount(b);
    this.recount(n);
    this.emit({ type: "branches-rerun", nodeId: nodes[n].id, round: this.rounds[n], keys: branches.map((b) => b.key), nodes: members.map((b) => nodes[b].id) });
    for (const b of members) if (this.status[b] === "pending" && this.unresolved[b] === 0) this.resolved(b);
  }

  roundOf(n: number): number {
    return this.rounds[n];
  }

  /** The note a node's model calls get while it re-runs for a join, if it does. */
  rerunNoteOf(n: number): string | undefined {
    return this.rerunNotes.size ? this.rerunNotes.get(n) : undefined;
  }

  private recount(n: number): void {
    let unresolved = 0;
    let fired = 0;
    for (const k of this.workflow.incoming[n]) {
      if (this.edgeState[k] === PENDING) unresolved++;
      else if (this.edgeState[k] === FIRED) fired++;
    }
    this.unresolved[n] = unresolved;
    this.firedIn[n] = fired;
  }

  private nodeFailed(n: number, iteration: number, error: unknown): void {
    if (this.finished || this.status[n] !== "running" || this.iterations[n] !== iteration) return;
    const node = this.workflow.nodes[n];
    this.running--;
    if (error instanceof CancelledError || this.controller.signal.aborted) {
      this.status[n] = "cancelled";
      this.emit({ type: "node-cancelled", nodeId: node.id });
      return this.maybeFinish();
    }
    this.status[n] = "failed";
    const failure =
      error instanceof NodeError
        ? error
        : error instanceof TemplateError
          ? new NodeError("template", `the template could not be rendered: ${error.message}`)
          : new NodeError("internal", error instanceof Error ? error.message : String(error));
    this.emit({ type: "node-failed", nodeId: node.id, code: failure.code, message: failure.message, retryable: failure.retryable });
    this.fail({ code: failure.code, message: `node "${node.label || node.id}" failed: ${failure.message}`, nodeId: node.id });
  }

  checkPlaceholders(nodeId: string, value: unknown, instance?: number): void {
    // Lists are checked item by item as their instances finish.
    if (typeof value !== "string") return;
    const found = findPlaceholder(value);
    if (found) this.warn({ code: "unfilled-placeholder", message: `the output contains ${found}`, nodeId, ...(instance !== undefined ? { instance } : {}) });
  }

  warn(warning: RunWarning): void {
    this.warnings.push(warning);
    this.emit({ type: "warning", warning });
  }

  private maybeFinish(): void {
    if (!this.finished && (this.running === 0 || this.outcome)) this.finish();
  }

  /** Fails the run: in-flight branches are cancelled at once, partial outputs kept. */
  private fail(error: RunError): void {
    if (this.finished || this.outcome) return;
    this.outcome = { status: "failed", error };
    this.finish();
  }

  cancel(): void {
    if (this.finished || this.outcome) return;
    this.outcome = { status: "cancelled" };
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    for (const outlet of this.outlets) outlet.flush();
    this.finished = true;
    this.controller.abort(RUN_OVER);
    this.semaphore.refuseAll(RUN_OVER);
    this.detachExternal?.();
    this.cancelWallTimer?.();
    this.workflow.nodes.forEach((node, n) => {
      if (this.status[n] === "running") {
        this.status[n] = "cancelled";
        this.emit({ type: "node-cancelled", nodeId: node.id });
      }
    });
    const status = this.outcome?.status ?? "succeeded";
    this.emit({
      type: "run-finished",
      status,
      outputs: this.outputs(),
      state: { ...this.state },
      usage: { ...this.usage },
      warnings: [...this.warnings],
      ...(this.outcome?.error ? { error: this.outcome.error } : {}),
      ms: this.priorMs + this.elapsedSince(this.startedAt),
      calls: this.modelCalls,
    });
    this.channel.close();
  }

  private outputs(): Record<string, unknown> {
    const outputNodes = this.workflow.nodes.filter((node) => node.kind === "output");
    if (!outputNodes.length) return { ...this.state };
    const shown: Record<string, unknown> = {};
    for (const node of outputNodes) {
      if (node.kind !== "output") continue;
      for (const key of node.config.keys) if (this.state[key] !== undefined) shown[key] = this.state[key];
    }
    return shown;
  }

  // ── What node contexts, the map pool and model calls use ──────────────────

  loopPorts(n: number): Set<string> {
    const { edges, outgoing, nodes } = this.workflow;
    const kind = kindOf(nodes[n]);
    return new Set(outgoing[n].filter((e) => edges[e].back && kind.loopPorts.includes(edges[e].sourcePort)).map((e) => edges[e].sourcePort));
  }

  iterationOf(n: number): number {
    return this.iterations[n];
  }

  passOf(n: number): number {
    return this.passes[n];
  }

  /** Counts a model call (of node `n`, or of its map instance) against the run's limit; throws when it is reached. */
  /** Counts a model call against the run's cap; returns its number in the node's (or instance's) execution, from 1. */
  countModelCall(n?: number, instance?: number): number {
    let ordinal = 0;
    if (n !== undefined) {
      this.nodeCalls[n]++;
      if (instance === undefined) ordinal = ++this.ownCalls[n];
      else {
        ordinal = (this.instanceCalls.get(`${n}:${instance}`) ?? 0) + 1;
        this.instanceCalls.set(`${n}:${instance}`, ordinal);
      }
    }
    if (++this.modelCalls > this.limits.maxModelCalls) {
      throw new LimitError("model-calls", `the run reached its limit of ${this.limits.maxModelCalls} model calls`);
    }
    return ordinal;
  }

  /** Adds a finished call's tokens; past the run's token budget the call's node fails, and with it the run. */
  addNodeUsage(n: number, usage: TokenUsage): void {
    addUsage(this.nodeUsage[n], usage);
    addUsage(this.usage, usage);
    const used = this.usage.inputTokens + this.usage.outputTokens;
    if (used > this.limits.maxTokens) {
      throw new NodeError("budget-exceeded", `the run used ${used} tokens, over its budget of ${this.limits.maxTokens}`);
    }
  }
}
