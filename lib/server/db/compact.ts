import type { RunEvent, RunEventOf } from "@/lib/workflow";

type Delta = RunEventOf<"node-delta">;

/** A recorded delta chunk covers at most this much of the run's time: at recorded speed a replay looks the same. */
export const COMPACT_WINDOW_MS = 50;

const deltaKind = (delta: Delta) => (delta.text !== undefined ? "text" : delta.json !== undefined ? "json" : "partial");

/**
 * A finished run's events with its deltas merged: consecutive `node-delta` events of one node (or
 * one map instance) and of one kind (`text`, `json` or a legacy whole `partial`) become one chunk
 * spanning at most `windowMs`. "Consecutive" is per node: deltas of other nodes may sit between
 * them, but any other event of the same node (a retry that clears its text, a new iteration, its
 * end) closes the chunk, so the reducer sees the same text at every such event.
 *
 * A chunk takes the time and sequence number of its last delta: its text appears in the replay no
 * earlier than it had been produced, and the events stay in `seq` order with non-decreasing `t`.
 * Texts and JSON texts concatenate; a `partial` chunk keeps the newest partial (each replaced the
 * one before). Pure; the input is not changed.
 */
export function compactDeltas(events: ReadonlyArray<RunEvent>, windowMs = COMPACT_WINDOW_MS): RunEvent[] {
  // Per node/instance: the chunk being built (its merged event is replaced as deltas join it).
  const open = new Map<string, { chunk: Delta; start: number; kind: string; slot: number }>();
  // Every event and chunk, at the place of its (last) sequence number.
  const slots: Array<RunEvent | null> = [];
  for (const event of events) {
    if (event.type !== "node-delta") {
      // Any other event of a node closes the chunks of the node and of its instances.
      if ("nodeId" in event) {
        for (const key of open.keys()) if (key === event.nodeId || key.startsWith(`${event.nodeId}\u0000`)) open.delete(key);
      }
      slots.push(event);
      continue;
    }
    const key = event.instance === undefined ? event.nodeId : `${event.nodeId}\u0000${event.instance}`;
    const kind = deltaKind(event);
    const current = open.get(key);
    if (current && current.kind === kind && event.t - current.start <= windowMs) {
      const merged: Delta = { ...current.chunk, seq: event.seq, t: event.t };
      if (kind === "text") merged.text = (current.chunk.text ?? "") + (event.text ?? "");
      else if (kind === "json") merged.json = (current.chunk.json ?? "") + (event.json ?? "");
      else merged.partial = event.partial;
      // Where each merged delta ended, so a resume from inside the chunk sends only the rest.
      if (kind !== "partial") {
        const before = kind === "text" ? (current.chunk.text ?? "") : (current.chunk.json ?? "");
        merged.parts = [...(current.chunk.parts ?? []), [current.chunk.seq, before.length]];
      }
      // The chunk moves to its last delta's place: everything between keeps its order before it.
      slots[current.slot] = null;
      current.chunk = merged;
      current.slot = slots.length;
      slots.push(merged);
      continue;
    }
    open.set(key, { chunk: event, start: event.t, kind, slot: slots.length });
    slots.push(event);
  }
  return slots.filter((event): event is RunEvent => event !== null);
}

/**
 * A recorded event as a client that has seen every event up to `afterSeq` needs it: a merged
 * chunk that began at or before `afterSeq` loses the part that client already has; anything else
 * is sent as it is (null: nothing of it is new), without the `parts` bookkeeping.
 */
export function resumeFrom(event: RunEvent, afterSeq: number): RunEvent | null {
  if (event.seq <= afterSeq) return null;
  if (event.type !== "node-delta" || !event.parts) return event;
  const { parts, ...delta } = event;
  let cut = 0;
  for (const [seq, end] of parts) if (seq <= afterSeq) cut = end;
  if (cut === 0) return delta;
  if (delta.text !== undefined) return { ...delta, text: delta.text.slice(cut) };
  if (delta.json !== undefined) return { ...delta, json: delta.json.slice(cut) };
  return delta;
}
