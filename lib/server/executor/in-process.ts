import "server-only";
import { runWorkflow, type RunEvent } from "@/lib/workflow";
import { appendRunEvents, finishRun } from "../db/queries";
import { RunRecorder } from "../recorder";
import { LiveRunLog, withoutSecrets } from "./events";
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
    const { runId, document, inputs, limits, reuse } = run;
    const { db, port, coalesceMs, secrets } = services;
    const recorder = new RunRecorder({
      append: (events) => appendRunEvents(db, { runId, events }),
      finish: (finished) => finishRun(db, { runId, finished }),
    });
    const { controller } = sink;
    const log = new LiveRunLog();
    live.set(runId, { owner: run.owner, controller, log });
    try {
      if (sink.gone) controller.abort();
      for await (const engineEvent of runWorkflow(document, { runId, inputs, models: port, signal: controller.signal, limits, coalesceMs, reuse })) {
        const event = withoutSecrets(engineEvent, secrets);
        // The engine counts time from its start; the record also says when that was.
        if (event.type === "run-started") event.at = Date.now();
        if (event.type === "run-finished" && sink.gone && event.status === "cancelled") {
          event.error = { code: "client-gone", message: "the browser stopped following this run" };
        }
        recorder.push(event);
        // The record is complete before the browser learns the run is over, so a share or a
        // replay right after sees all of it.
        if (event.type === "run-finished") {
          const stored = await recorder.finish(event);
          if (!stored.recorded) {
            event.warnings.push({ code: "not-recorded", message: `this run could not be stored completely (${stored.lost} events lost): its replay and history will be incomplete` });
          }
        }
        log.append(event);
        sink.send(event);
      }
    } finally {
      log.end();
      live.delete(runId);
    }
  },

  isLive: (runId) => live.has(runId),

  async cancel(runId, owner) {
    const run = live.get(runId);
    if (!run || run.owner !== owner) return false;
    run.controller.abort();
    return true;
  },

  follow(runId, afterSeq, signal): AsyncIterable<RunEvent> | null {
    return live.get(runId)?.log.follow(afterSeq, signal) ?? null;
  },
};
