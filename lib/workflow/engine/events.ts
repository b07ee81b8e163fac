import type { ValidationIssue } from "../issues";
import type { TokenUsage } from "./model-port";

/** Every event carries a sequence number and a run-relative timestamp in milliseconds. */
type Stamp = { seq: number; t: number };

export type RunStatus = "succeeded" | "failed" | "cancelled";

export type RunWarning = {
  code: "max-iterations" | "unfilled-placeholder" | "plan-truncated" | "output-truncated" | "limits-lowered" | "not-recorded" | "rerun-skipped";
  message: string;
  nodeId?: string;
  instance?: number;
};

export type RunError = { code: string; message: string; nodeId?: string; issues?: ValidationIssue[] };

export type RunEvent = Stamp &
  (
    | {
        type: "run-started";
        runId: string;
        workflow: string;
        inputs: Record<string, unknown>;
        /** Wall-clock start (epoch ms), stamped by the server that runs it; `t` counts from here. */
        at?: number;
        /** Set when the run started from given nodes of an earlier run, reusing the rest. */
        reuse?: RunReuseSummary;
      }
    | {
        type: "node-started";
        nodeId: string;
        /** Map-worker instance index; absent for the node itself. */
        instance?: number;
        /** A short label for an instance (the item's name). */
        label?: string;
        /** For a map worker: how many instances this run will have. */
        instances?: number;
        iteration: number;
        model?: string;
      }
    | { type: "node-instances"; nodeId: string; labels: string[] }
    | {
        type: "node-delta";
        nodeId: string;
        instance?: number;
        /** Answer text as it streams. */
        text?: string;
        /** A structured answer's JSON text as it streams (read it with parsePartialJson). */
        json?: string;
        /** A whole partial object: how runs recorded before JSON deltas streamed structured output. */
        partial?: unknown;
        /**
         * A recorded chunk of several deltas (the recorder merges them): the sequence number of each
         * merged delta but the last, and where its text (or JSON text) ended. A client that saw one
         * of those deltas live and resumes from it gets the rest of the chunk only.
         */
        parts?: ReadonlyArray<readonly [seq: number, end: number]>;
      }
    | {
        type: "node-finished";
        nodeId: string;
        instance?: number;
        output: unknown;
        /** The ports that fired; absent for instances. */
        ports?: string[];
        usage: TokenUsage;
        ms: number;
        iteration: number;
        /** Not executed: the output was taken from this earlier run (no model call, nothing billed). */
        reused?: { runId: string };
        /** Not executed: the document pins this node's output. */
        pinned?: true;
        /** A join's round that fired nothing: it asked for the branches that wrote `keys` to run again (§4.15). */
        rerun?: { keys: string[]; note: string };
        /** Model calls this execution made, attempts included (a map worker's instances count their own); absent when none. */
        calls?: number;
      }
    | { type: "node-skipped"; nodeId: string }
    | { type: "node-failed"; nodeId: string; instance?: number; code: string; message: string; retryable: boolean }
    | { type: "node-cancelled"; nodeId: string; instance?: number }
    | { type: "node-retry"; nodeId: string; instance?: number; attempt: number; delayMs: number; code: string; message: string }
    | { type: "loop-iteration"; nodeId: string; targetId: string; iteration: number }
    | {
        type: "branches-rerun";
        /** The join that asked (an aggregate whose agreement check found outliers). */
        nodeId: string;
        /** The join's round that starts now (2 for the first re-run). */
        round: number;
        /** The state keys whose branches run again. */
        keys: string[];
        /** The nodes that run again, in document order. */
        nodes: string[];
      }
    | { type: "warning"; warning: RunWarning }
    | {
        type: "run-finished";
        status: RunStatus;
        /** The keys marked by output nodes (or the whole state when there are none). */
        outputs: Record<string, unknown>;
        state: Record<string, unknown>;
        usage: TokenUsage;
        warnings: RunWarning[];
        error?: RunError;
        ms: number;
        /** Model calls the run made (attempts included, and those of earlier attempts of a resumed run); absent in runs recorded before it was counted. */
        calls?: number;
      }
  );

/** What a run from a node says about the run it reused (recorded in its `run-started`). */
export type RunReuseSummary = {
  runId: string;
  /** The nodes the run started from (they and everything downstream re-ran). */
  from: string[];
  /** The nodes whose recorded outputs were taken instead of running them. */
  reused: string[];
  /** Reused nodes the document had changed since that run (the person chose to reuse them anyway). */
  stale?: string[];
  /** State keys the run started with beyond its inputs (what the earlier run had written by then). */
  state?: Record<string, unknown>;
  /** Loop pass counters it started with (nodes with none are absent), so a later run from it is exact too. */
  passes?: Record<string, number>;
};

export type RunEventType = RunEvent["type"];
export type RunEventOf<T extends RunEventType> = Extract<RunEvent, { type: T }>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type RunEventBody = DistributiveOmit<RunEvent, "seq" | "t">;
