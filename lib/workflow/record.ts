import type { RunEvent } from "./engine/events";

/**
 * A run as stored and replayed: its events (enough to rebuild every node's state, output and
 * timing) and a few facts about it. What a run link carries — no owner, no keys.
 */
export type RecordedRun = {
  runId: string;
  status: string;
  startedAt: string;
  /** The saved version that ran, when it was one; `edited` when the editor had unsaved changes. */
  version: number | null;
  edited: boolean;
  inputs: Record<string, unknown>;
  /** The first page of its events; when more follow, where they load from (`&after=<seq>` appended). */
  events: RunEvent[];
  more?: string;
  /** Set while the run is in progress: where its events stream from as Server-Sent Events (`&after=<seq>` appended). */
  live?: string;
};
