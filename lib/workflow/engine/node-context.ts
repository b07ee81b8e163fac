import type { RunLimits } from "../limits";
import { renderTemplate, TemplateError } from "../template";
import { kindOf } from "../validate";
import type { CallOptions, InstanceContext, ModelResult, NodeContext, RerunPlan } from "./context";
import { embedTexts } from "./embed-call";
import type { RunWarning } from "./events";
import { runInstances, type InstanceItem } from "./map-pool";
import { callModel } from "./model-call";
import type { ModelCall } from "./model-port";
import type { Run } from "./scheduler";

/**
 * What a node kind sees while it runs. A class rather than a literal of closures: one is made
 * per node execution, and the engine's per-node budget is tens of microseconds.
 */
export class NodeRun implements NodeContext<unknown> {
  readonly nodeId: string;
  readonly config: unknown;
  readonly state: Readonly<Record<string, unknown>>;
  readonly iteration: number;
  readonly limits: RunLimits;
  readonly defaultModel: string;
  readonly upstreamKeys: string[];
  readonly round: number;
  private loopPortSet: Set<string> | undefined;

  constructor(
    private readonly run: Run,
    private readonly n: number,
    readonly signal: AbortSignal,
  ) {
    const workflow = run.workflow;
    const node = workflow.nodes[n];
    this.nodeId = node.id;
    this.config = node.config;
    this.state = run.state;
    this.iteration = run.passOf(n);
    this.limits = run.limits;
    this.defaultModel = workflow.defaultModel;
    this.upstreamKeys = workflow.upstreamKeys[n];
    this.round = run.roundOf(n);
  }

  isLoopPort(port: string): boolean {
    this.loopPortSet ??= this.run.loopPorts(this.n);
    return this.loopPortSet.has(port);
  }

  maxIterations(configured: number | undefined): number {
    return Math.min(configured ?? this.limits.maxLoopIterations, this.limits.maxLoopIterations);
  }

  render(template: string, extra?: Record<string, unknown>): string {
    try {
      return renderTemplate(template, extra ? { ...this.state, ...extra } : this.state);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      // Name the field: the kind passed the template, the kind's sites say where it lives.
      const node = this.run.workflow.nodes[this.n];
      const site = kindOf(node).templates(node.config).find((s) => s.template === template);
      throw new TemplateError(site ? `${site.path}: ${error.message}` : error.message);
    }
  }

  callModel(call: ModelCall, options?: CallOptions): Promise<ModelResult> {
    return callModel(this.run, this.n, undefined, call, options, this.run.calls);
  }

  runInstances<T>(
    items: ReadonlyArray<InstanceItem>,
    concurrency: number,
    work: (index: number, instance: InstanceContext, earlier: ReadonlyArray<T | undefined>) => Promise<{ value: T; output: unknown }>,
  ): Promise<T[]> {
    return runInstances(this.run, this.n, items, concurrency, work, this.signal);
  }

  embed(model: string, texts: string[]): Promise<number[][]> {
    return embedTexts(this.run, this.n, model, texts, this.run.calls);
  }

  planRerun(keys: ReadonlyArray<string>): RerunPlan {
    return this.run.planRerun(this.n, keys);
  }

  warn(warning: Omit<RunWarning, "nodeId">): void {
    this.run.warn({ ...warning, nodeId: this.run.workflow.nodes[this.n].id });
  }
}
