import { z } from "zod";
import { defineKind, NONE, OUT } from "./common";

export const InputConfigSchema = z.strictObject({});
export type InputConfig = z.infer<typeof InputConfigSchema>;

/** The workflow's entry: exposes the document's `inputs` (seeded into state before the run) downstream. */
export const inputKind = defineKind({
  kind: "input",
  title: "Input",
  description: "Where a run starts: the workflow's inputs become state keys.",
  configSchema: InputConfigSchema,
  defaultConfig: () => ({}),
  inputs: () => NONE,
  outputs: () => OUT,
  writes: () => NONE,
  templates: () => [],
  reads: () => [],
  models: () => [],
  loopPorts: [],
  summary: () => "Workflow inputs",
  async execute(context) {
    return { writes: {}, output: { ...context.state } };
  },
});
