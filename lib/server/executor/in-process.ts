import "server-only";
import type { RunEvent } from "@/lib/workflow";
import { LiveRunLog, runAndRecord } from "./events";
import type { AdmittedRun, RunExecutor, RunServices, RunSink } from "./types";

type LiveRun = { owner: string; controller: AbortController; log: LiveRunLog };

// Next.js bundles route handlers and server actions separately, each with its own copy of this
// module: the registry of live runs lives on globalThis so all of them see the same runs.
const REGISTRY = Symbol.for("trellis.inProcessRuns");
const live = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new Map<string, LiveRun>()) as Map<string, LiveRun>;

/**
 * Runs execute in the process that admitted them, pumped apart from the transport (a browser that
 * leaves cancels at once). Cancel and follow reach only this process's runs, so behind a load
 * balancer they need sticky sessions; cluster mode lifts that.
 */
export const inProcessExecutor: RunExecutor = {
  kind: "in-process",

  async execute(run: AdmittedRun, sink: RunSink, services: RunServices): Promise<void> {
    const log = new LiveRunLog();
    live.set(run.runId, { owner: run.owner, controller: sink.controller, log });
    try {
      if (sink.gone) sink.controller.abort();
      await runAndRecord(run, services, {
        signal: sink.controller.signal,
        gone: () => sink.gone,
        emit: (event) => {
          log.append(event);
          sink.send(event);
        },
      });
    } finally {
      log.end();
      live.delete(run.runId);
    }
  },

  isLive: (runId) => live.has(runId),

  async cancel(runId, owner) {
    const run = live.get(runId);
    if (!run || run.owner !== owner) return false;
    run.controller.abort();
    return true;
  },

  async follow(runId, afterSeq, signal): Promise<AsyncIterable<RunEvent> | null> {
    return live.get(runId)?.log.follow(afterSeq, signal) ?? null;
  },
};
