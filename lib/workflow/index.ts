/** The pure workflow core: document format, validation and the engine. No Next.js, React or I/O. */
export * from "./issues";
export * from "./limits";
export * from "./schema";
export * from "./inputs";
export * from "./validate";
export * from "./template";
export * from "./condition";
export { KINDS, NODE_KINDS, type NodeKind, type NodeConfigs } from "./kinds";
export type { Field } from "./kinds/common";
export { joinSections } from "./kinds/synthesizer";
export { TEMPLATES, findTemplate, type WorkflowTemplate } from "./templates";
export * from "./engine/events";
export * from "./engine/model-port";
export * from "./engine/errors";
export { runWorkflow, runCompiled, type RunOptions } from "./engine/run";
export { sleep, systemClock, type Clock } from "./engine/clock";
export { summariseChanges } from "./diff";
export type { RecordedRun } from "./record";
