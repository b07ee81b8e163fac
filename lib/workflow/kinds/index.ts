import { aggregateKind } from "./aggregate";
import { evaluatorKind } from "./evaluator";
import { gateKind } from "./gate";
import { inputKind } from "./input";
import { llmKind } from "./llm";
import { noteKind } from "./note";
import { orchestratorKind } from "./orchestrator";
import { outputKind } from "./output";
import { routerKind } from "./router";
import { synthesizerKind } from "./synthesizer";
import { workerKind } from "./worker";

/** Every node kind, keyed by its name. Adding one here makes the compiler ask for it everywhere else. */
export const KINDS = {
  input: inputKind,
  llm: llmKind,
  gate: gateKind,
  router: routerKind,
  aggregate: aggregateKind,
  orchestrator: orchestratorKind,
  worker: workerKind,
  synthesizer: synthesizerKind,
  evaluator: evaluatorKind,
  output: outputKind,
  note: noteKind,
} as const;

export type NodeKind = keyof typeof KINDS;
export const NODE_KINDS = Object.keys(KINDS) as NodeKind[];

type ConfigOf<K extends NodeKind> = (typeof KINDS)[K] extends { configSchema: { _output: infer C } } ? C : never;
export type NodeConfigs = { [K in NodeKind]: ConfigOf<K> };
