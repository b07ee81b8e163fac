import { z } from "zod";
import { defineKind, IN, modelId, portName, promptText, shortText, stateKey } from "./common";

export const RouteSchema = z.strictObject({
  name: portName.refine((name) => name !== "default" && name !== "in", "is reserved"),
  description: shortText,
});

export const RouterConfigSchema = z.strictObject({
  outputKey: stateKey,
  /** What to classify, e.g. `{{input}}`. */
  prompt: promptText,
  routes: z.array(RouteSchema).min(1, "needs at least one route").max(20),
  model: modelId.optional(),
});
export type RouterConfig = z.infer<typeof RouterConfigSchema>;

/** The structured answer a router asks its model for: one route name (an enum) and a reason. */
export function routeSchema(config: RouterConfig) {
  return {
    type: "object",
    properties: {
      route: { type: "string", enum: config.routes.map((r) => r.name), description: "The best route for the input." },
      reason: { type: "string", description: "One sentence on why." },
    },
    required: ["route", "reason"],
    additionalProperties: false,
  };
}

const Decision = z.object({ route: z.string(), reason: z.string() });

/** An LLM classifier: exactly one route's port fires (or `default` when the answer names no route). */
export const routerKind = defineKind({
  kind: "router",
  title: "Router",
  description: "Classifies the input with a model and continues down exactly one route.",
  configSchema: RouterConfigSchema,
  defaultConfig: (key) => ({
    outputKey: key,
    prompt: "{{input}}",
    routes: [
      { name: "question", description: "The input asks a question." },
      { name: "request", description: "The input asks for something to be written or done." },
    ],
  }),
  inputs: () => IN,
  outputs: (config) => [...config.routes.map((r) => r.name), "default"],
  writes: (config) => [config.outputKey],
  templates: (config) => [{ path: "prompt", template: config.prompt }],
  reads: () => [],
  models: (config, fallback) => [config.model ?? fallback],
  loopPorts: [],
  check(config) {
    const names = config.routes.map((r) => r.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    return duplicate ? [{ path: "routes", message: `route "${duplicate}" appears twice` }] : [];
  },
  summary: (config) => `Routes: ${config.routes.map((r) => r.name).join(" · ")}`,
  async execute(context) {
    const { config } = context;
    const routes = config.routes.map((r) => `- ${r.name}: ${r.description}`).join("\n");
    const result = await context.callModel(
      {
        model: config.model ?? context.defaultModel,
        system: `Classify the input into exactly one of these routes.\n\nRoutes:\n${routes}`,
        prompt: `Input:\n${context.render(config.prompt)}`,
        schema: routeSchema(config),
        schemaName: "route_decision",
      },
      { parse: (value) => Decision.parse(value) },
    );
    const decision = result.object as z.infer<typeof Decision>;
    const known = config.routes.some((r) => r.name === decision.route);
    return {
      writes: { [config.outputKey]: known ? decision.route : "default" },
      ports: [known ? decision.route : "default"],
      output: decision,
    };
  },
});
