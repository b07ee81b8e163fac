import evaluatorOptimizer from "./evaluator-optimizer.json";
import orchestratorWorker from "./orchestrator-worker.json";
import parallelization from "./parallelization.json";
import promptChaining from "./prompt-chaining.json";
import routing from "./routing.json";

export type WorkflowTemplate = {
  id: string;
  title: string;
  /** When to use it, in one line. */
  whenToUse: string;
  /** The raw JSON: callers pass it through `parseDocument` like any other document. */
  json: unknown;
};

export const TEMPLATES: ReadonlyArray<WorkflowTemplate> = [
  {
    id: "prompt-chaining",
    title: "Prompt chaining",
    whenToUse: "A task splits into fixed steps, each refining the last, with a check in between.",
    json: promptChaining,
  },
  {
    id: "parallelization",
    title: "Parallelization",
    whenToUse: "Independent subtasks can run at once and be combined.",
    json: parallelization,
  },
  {
    id: "routing",
    title: "Routing",
    whenToUse: "Inputs fall into categories that each deserve their own prompt or model.",
    json: routing,
  },
  {
    id: "orchestrator-worker",
    title: "Orchestrator-worker",
    whenToUse: "The subtasks are not known in advance: a planner decides them and workers do them.",
    json: orchestratorWorker,
  },
  {
    id: "evaluator-optimizer",
    title: "Evaluator-optimizer",
    whenToUse: "Quality improves with feedback and you can state what good looks like.",
    json: evaluatorOptimizer,
  },
];

export function findTemplate(id: string): WorkflowTemplate | undefined {
  return TEMPLATES.find((template) => template.id === id);
}
