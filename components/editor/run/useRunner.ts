"use client";

import { useCallback, useEffect, useRef } from "react";
import { cancelRunAction } from "@/app/editor/actions";
import { postRun, RunRequestRefused } from "@/lib/editor/run-request";
import { DEFAULT_MODEL, type RunEvent, type WorkflowDocument } from "@/lib/workflow";
import { useEditorStore } from "../EditorProvider";

/** Run from given nodes of an earlier run (issue 16). */
export type ReuseRequest = { runId: string; from: string[]; mode?: "all" | "failed-instances" };

/** Starts a run on the server and returns its event stream. */
export type Launch = (request: {
  runId: string;
  document: WorkflowDocument;
  inputs: Record<string, string | number | boolean>;
  saved: { id: string; version: number } | null;
  reuse?: ReuseRequest;
}) => Promise<AsyncIterable<RunEvent>>;

/** The editor's launch: the document as it is, with the saved version it is based on (for the record). */
const launchFromEditor: Launch = ({ runId, document, inputs, saved, reuse }) =>
  postRun("/api/runs", { runId, document, inputs, workflowId: saved?.id, baseVersion: saved?.version, reuse });

export type Runner = {
  start(inputs: Record<string, string | number | boolean>, document?: WorkflowDocument, reuse?: ReuseRequest): Promise<void>;
  cancel(): Promise<void>;
};

/**
 * Runs the document through the run route, which streams its events. Events are buffered and applied once
 * per animation frame, so many nodes streaming at once cost one store update per frame.
 */
export function useRunner(launch: Launch = launchFromEditor): Runner {
  const store = useEditorStore();
  const current = useRef<string | null>(null);

  const start = useCallback(
    async (inputs: Record<string, string | number | boolean>, document?: WorkflowDocument, reuse?: ReuseRequest) => {
      const runId = globalThis.crypto.randomUUID();
      current.current = runId;
      const running = document ?? store.getState().document;
      store.getState().beginRun(runId, performance.now(), running.settings?.defaultModel ?? DEFAULT_MODEL);
      const buffer: RunEvent[] = [];
      let frame = 0;
      const flush = () => {
        frame = 0;
        if (buffer.length) store.getState().applyRunEvents(buffer.splice(0));
      };
      try {
        const { saved } = store.getState();
        const events = await launch({ runId, document: running, inputs, saved: saved && { id: saved.id, version: saved.version }, reuse });
        // Set only by `npm run bench` (scripts/bench-browser.ts), which times events against the cards.
        const bench = (globalThis as { __TRELLIS_BENCH__?: { events: RunEvent[] } }).__TRELLIS_BENCH__;
        for await (const event of events) {
          buffer.push(event);
          bench?.events.push(event);
          frame ||= requestAnimationFrame(flush);
        }
        cancelAnimationFrame(frame);
        flush();
        store.getState().abandonRun("The run ended without reporting its result.");
      } catch (error) {
        cancelAnimationFrame(frame);
        flush();
        store
          .getState()
          .abandonRun(error instanceof RunRequestRefused ? error.message : `The connection to the server was lost${error instanceof Error && error.message ? `: ${error.message}` : "."}`);
      } finally {
        if (current.current === runId) current.current = null;
      }
    },
    [store, launch],
  );

  const cancel = useCallback(async () => {
    // The store knows the run even when another page's runner started it (a first save hands the
    // store over to the workflow's own page while a run goes on).
    const running = store.getState().run;
    const runId = current.current ?? (running?.status === "running" ? running.runId : null);
    if (runId) await cancelRunAction(runId);
  }, [store]);

  // Closing or leaving the page cancels the run rather than leaving it to finish unseen.
  useEffect(() => {
    const onHide = () => {
      // keepalive: the request outlives the page, like a beacon.
      if (current.current) void fetch("/api/runs/cancel", { method: "POST", body: current.current, keepalive: true });
    };
    window.addEventListener("pagehide", onHide);
    return () => window.removeEventListener("pagehide", onHide);
  }, []);

  return { start, cancel };
}
