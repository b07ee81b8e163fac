import "server-only";
import { readServerConfig } from "../config";
import { inProcessExecutor } from "./in-process";
import type { RunExecutor } from "./types";

export type { AdmittedRun, RunExecutor, RunServices, RunSink } from "./types";

const KEY = Symbol.for("trellis.runExecutor");
const global = globalThis as Record<symbol, RunExecutor | undefined>;

/** The executor this process runs with: `TRELLIS_EXECUTOR` (config.ts refuses `cluster` without DATABASE_URL). */
export function runExecutor(): RunExecutor {
  const existing = global[KEY];
  if (existing) return existing;
  const config = readServerConfig().executor;
  return (global[KEY] = config.kind === "cluster" ? lazyCluster(config.databaseUrl) : inProcessExecutor);
}

/** DBOS takes a third of a second to import: only processes in cluster mode load it, on first use. */
function lazyCluster(databaseUrl: string): RunExecutor {
  let loaded: Promise<RunExecutor> | undefined;
  const load = () => (loaded ??= import("./cluster").then(({ clusterExecutor }) => clusterExecutor(databaseUrl)));
  return {
    kind: "cluster",
    execute: async (run, sink, services) => (await load()).execute(run, sink, services),
    isLive: () => false,
    cancel: async (runId, owner) => (await load()).cancel(runId, owner),
    follow: async (runId, afterSeq, signal) => (await load()).follow(runId, afterSeq, signal),
  };
}
