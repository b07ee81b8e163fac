import { z } from "zod";
import type { NodeResult } from "./engine/context";
import type { RunWarning } from "./engine/events";
import { DEFAULT_MAX_ITERATIONS } from "./kinds/evaluator";

/**
 * Pinned outputs (issue 16): a node whose output is fixed in the document. The engine never calls
 * its model; it writes the pinned value as if the node had answered it, so what is downstream can
 * be iterated on without paying for (or waiting on) the pinned step. Branching follows the value:
 * a pinned router takes the route it names, a pinned evaluator passes or revises by its grade.
 */

export const PinSchema = z
  .strictObject({
    value: z
      .json()
      .optional()
      .describe(
        "What the node writes: the value of its output key; for an evaluator an object keyed by its gradeKey and feedbackKey; for a router the route name. Absent for a gate.",
      ),
    port: z.string().min(1).max(40).optional().describe('For a gate: the port that fires, "pass" or "fail".'),
  })
  .describe("A pinned output: the node does not run, it answers this value (Trellis's Pin output).");
export type Pin = z.infer<typeof PinSchema>;

/** The node as pinning sees it (kind and config stay loosely typed: every kind is handled below). */
type PinnedNode = { kind: string; config: Record<string, unknown>; pinned?: Pin };

/** Kinds whose output can be pinned: those that compute something. */
export const PINNABLE_KINDS = new Set(["llm", "gate", "router", "aggregate", "orchestrator", "worker", "synthesizer", "evaluator"]);

/** Why a node's pin cannot apply (paths relative to the node), or nothing. */
export function pinProblems(node: PinnedNode): Array<{ path: string; message: string }> {
  const pin = node.pinned;
  if (!pin) return [];
  if (!PINNABLE_KINDS.has(node.kind)) return [{ path: "pinned", message: `a ${node.kind} node has no output to pin` }];
  const config = node.config;
  if (node.kind === "gate") {
    return pin.port === "pass" || pin.port === "fail" ? [] : [{ path: "pinned.port", message: 'a pinned gate names the port that fires: "pass" or "fail"' }];
  }
  if (pin.port !== undefined) return [{ path: "pinned.port", message: "only a gate's pin names a port; the others follow their value" }];
  if (pin.value === undefined) return [{ path: "pinned.value", message: "is required" }];
  if (node.kind === "evaluator") {
    const value = pin.value as Record<string, unknown> | null;
    const grade = value && typeof value === "object" && !Array.isArray(value) ? value[String(config.gradeKey)] : undefined;
    if (grade !== "pass" && grade !== "fail") {
      return [{ path: "pinned.value", message: `a pinned evaluator is an object with "${String(config.gradeKey)}": "pass" or "fail" and "${String(config.feedbackKey)}"` }];
    }
  }
  if (node.kind === "router" && typeof pin.value !== "string") return [{ path: "pinned.value", message: "a pinned router's value is the name of a route" }];
  if ((node.kind === "orchestrator" || node.kind === "worker") && !Array.isArray(pin.value)) {
    return [{ path: "pinned.value", message: `a pinned ${node.kind}'s value is a list` }];
  }
  return [];
}

/** What a pinned node sees of its run: its loop ports and pass count (a pin that loops is bounded like the node). */
export type PinContext = {
  iteration: number;
  isLoopPort(port: string): boolean;
  maxIterations(configured: number | undefined): number;
  warn(warning: Omit<RunWarning, "nodeId">): void;
};

/** Takes `loop` unless the loop's bound is reached, then `exit` with a warning — as the kind itself would. */
function bounded(context: PinContext, configured: number | undefined, loop: string, exit: string): string {
  if (!context.isLoopPort(loop)) return loop;
  const bound = context.maxIterations(configured);
  if (context.iteration < bound) return loop;
  context.warn({ code: "max-iterations", message: `the pinned answer still loops after ${bound} iterations; continued on ${exit}` });
  return exit;
}

/** The result a pinned node answers instead of running. Assumes `pinProblems` found nothing. */
export function pinnedResult(node: PinnedNode, context: PinContext): NodeResult {
  const pin = node.pinned ?? {};
  const config = node.config;
  const value = pin.value;
  switch (node.kind) {
    case "gate": {
      const port = pin.port === "fail" ? bounded(context, config.maxIterations as number | undefined, "fail", "pass") : "pass";
      return { writes: {}, ports: [port], output: { passed: pin.port === "pass" } };
    }
    case "router": {
      const routes = (config.routes as Array<{ name: string }>).map((r) => r.name);
      const port = typeof value === "string" && routes.includes(value) ? value : "default";
      return { writes: { [String(config.outputKey)]: port }, ports: [port] };
    }
    case "evaluator": {
      const record = (value ?? {}) as Record<string, unknown>;
      const grade = record[String(config.gradeKey)];
      const writes = { [String(config.gradeKey)]: grade, [String(config.feedbackKey)]: record[String(config.feedbackKey)] ?? "" };
      const port = grade === "pass" ? "pass" : bounded(context, (config.maxIterations as number | undefined) ?? DEFAULT_MAX_ITERATIONS, "revise", "pass");
      return { writes, ports: [port] };
    }
    default:
      return { writes: { [String(config.outputKey)]: value } };
  }
}
