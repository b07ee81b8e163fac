import "server-only";
import { inProcessExecutor } from "./in-process";
import type { RunExecutor } from "./types";

export type { AdmittedRun, RunExecutor, RunServices, RunSink } from "./types";

/** The executor this process runs with. */
export function runExecutor(): RunExecutor {
  return inProcessExecutor;
}
