import { z } from "zod";
import { defineKind, NONE } from "./common";

export const NoteConfigSchema = z.strictObject({
  text: z.string().max(5_000),
  color: z.enum(["yellow", "blue", "green", "pink", "gray"]).optional(),
});
export type NoteConfig = z.infer<typeof NoteConfigSchema>;

/** A sticky note on the canvas; never runs and takes no edges. */
export const noteKind = defineKind({
  kind: "note",
  title: "Note",
  description: "A sticky note for explaining the workflow; it never runs.",
  configSchema: NoteConfigSchema,
  defaultConfig: () => ({ text: "" }),
  inputs: () => NONE,
  outputs: () => NONE,
  writes: () => NONE,
  templates: () => [],
  reads: () => [],
  models: () => [],
  loopPorts: [],
  summary: (config) => config.text.split("\n")[0]?.slice(0, 80) ?? "",
  async execute() {
    return { writes: {} };
  },
});
