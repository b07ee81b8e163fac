"use client";

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { advanceReplay, endInterrupted, recordedDuration, startRunState, type RunState } from "@/lib/editor/run-state";
import type { RecordedRun, RunEvent } from "@/lib/workflow";
import { useEditorStore } from "../EditorProvider";

export type Replay = {
  /** Position on the run's own time axis (ms). */
  position: number;
  duration: number;
  playing: boolean;
  speed: number;
  /** False while the rest of a long record is still loading (the replay can already play). */
  loaded: boolean;
  play(): void;
  pause(): void;
  seek(ms: number): void;
  setSpeed(speed: number): void;
};

type Page = { ok: true; data: { events: RunEvent[]; more: boolean } } | { ok: false; error: { code: string; message: string } };

/** Failed page loads are retried this often, further apart each time, before the replay settles for what it has. */
const PAGE_RETRIES = 5;

/**
 * A recorded run's events: the first page came with the page; the rest load one page at a time
 * (oldest first) while the replay already shows and plays what has arrived. A run still in
 * progress (`live`) is then followed over Server-Sent Events until it ends — from this process's
 * live log, or in cluster mode from the run's durable stream — so its page shows it as it runs.
 * `ended` is the status the stream reports for a run that ended without `run-finished`.
 */
export function useRecordedEvents(run: Pick<RecordedRun, "events" | "more" | "live">): { events: ReadonlyArray<RunEvent>; loaded: boolean; ended?: string } {
  const { events: firstPage, more, live } = run;
  const initial = () => ({ from: firstPage, events: firstPage, done: !more && !live, ended: undefined as string | undefined });
  const [loaded, setLoaded] = useState(initial);
  // A new record (another run opened in place) starts over from its own first page.
  const current = loaded.from === firstPage ? loaded : initial();
  if (current !== loaded) setLoaded(current);
  useEffect(() => {
    if (!more && !live) return;
    const abort = new AbortController();
    const update = (events: RunEvent[], done: boolean, ended?: string) => setLoaded({ from: firstPage, events, done, ended });
    void (async () => {
      let events = firstPage;
      for (let failures = 0; more && !abort.signal.aborted; ) {
        const after = events.at(-1)?.seq ?? -1;
        const page = await fetch(`${more}&after=${after}`, { signal: abort.signal, credentials: "same-origin" })
          .then((response) => response.json() as Promise<Page>)
          .catch((): Page => ({ ok: false, error: { code: "connection", message: "the connection was lost" } }));
        if (abort.signal.aborted) return;
        if (!page.ok) {
          // Not found (unshared meanwhile) does not come back; anything else may.
          if (page.error.code === "not-found" || ++failures > PAGE_RETRIES) return;
          await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** failures));
          continue;
        }
        failures = 0;
        events = [...events, ...page.data.events];
        if (!page.data.more) break;
        update(events, false);
      }
      if (abort.signal.aborted) return;
      if (live && events.at(-1)?.type !== "run-finished") followLive(live, events, abort.signal, update);
      else update(events, true);
    })();
    return () => abort.abort();
  }, [firstPage, more, live]);
  return { events: current.events, loaded: current.done, ended: current.ended };
}

/**
 * Follows a run in progress from the event after `from`'s last (the route resumes there, and an
 * EventSource that reconnects sends `Last-Event-ID`). Events are applied once per animation frame.
 */
function followLive(url: string, from: RunEvent[], signal: AbortSignal, update: (events: RunEvent[], done: boolean, ended?: string) => void): void {
  let events = from;
  let pending: RunEvent[] = [];
  let frame = 0;
  const source = new EventSource(`${url}&after=${from.at(-1)?.seq ?? -1}`, { withCredentials: true });
  const flush = (done = false, ended?: string) => {
    cancelAnimationFrame(frame);
    frame = 0;
    if (pending.length) {
      events = [...events, ...pending];
      pending = [];
    }
    update(events, done, ended);
  };
  source.onmessage = (message: MessageEvent<string>) => {
    const event = JSON.parse(message.data) as RunEvent;
    if (event.seq <= ((pending.at(-1) ?? events.at(-1))?.seq ?? -1)) return;
    pending.push(event);
    if (event.type === "run-finished") {
      source.close();
      flush(true);
    } else frame ||= requestAnimationFrame(() => flush());
  };
  // The run ended without `run-finished` (interrupted, or its events expired): the stream says how.
  source.addEventListener("run-ended", (message) => {
    source.close();
    flush(true, (JSON.parse((message as MessageEvent<string>).data) as { status: string }).status);
  });
  // A refusal (the run is gone or no longer shared) closes it for good; anything else reconnects by itself.
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) flush(true);
  };
  signal.addEventListener("abort", () => {
    source.close();
    cancelAnimationFrame(frame);
  });
}

/**
 * Replays a recorded run on the canvas through the same reducer as a live run: instantly (it
 * opens on the finished run), or at recorded speed — any speed — with a scrubber. Moving forward
 * applies only the new events; moving back rebuilds from the start (a pure fold, cheap). A long
 * record arrives in pages, and a run in progress keeps arriving until it ends: until it is all
 * there the replay follows its end (or keeps playing into what arrives), and only then says how
 * an interrupted run ended.
 */
export function useReplay(run: Pick<RecordedRun, "runId" | "events" | "more" | "live" | "status">): Replay {
  const { runId } = run;
  const { events, loaded, ended } = useRecordedEvents(run);
  const interrupted = (ended ?? run.status) === "interrupted" && loaded;
  const store = useEditorStore();
  const duration = useMemo(() => recordedDuration(events), [events]);
  const nodeIds = useMemo(() => store.getState().document.nodes.filter((n) => n.kind !== "note").map((n) => n.id), [store]);
  const [position, setPosition] = useState(duration);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  // Until the viewer plays or seeks, the replay shows the end of what has loaded.
  const [following, setFollowing] = useState(true);
  const shown = useRef<{ state: RunState; applied: number; at: number } | null>(null);

  const show = useCallback(
    (at: number) => {
      const upTo = events.findIndex((event) => event.t > at);
      const to = upTo === -1 ? events.length : upTo;
      // Forward from what is shown (pages only append, so it stays valid); backwards from the start.
      const current = shown.current && shown.current.at <= at && shown.current.applied <= to ? shown.current : { state: startRunState(runId, nodeIds), applied: 0 };
      const state = advanceReplay(current.state, events, current.applied, to, at);
      shown.current = { state, applied: to, at };
      store.getState().showRun(interrupted ? endInterrupted(state, events, at) : state);
    },
    [events, nodeIds, runId, store, interrupted],
  );

  // Opens on the finished run (the instant replay), following the end while pages arrive.
  useEffect(() => {
    if (!following) return;
    show(duration);
  }, [show, duration, following]);

  useEffect(() => {
    if (!playing) return;
    let frame = 0;
    let last = performance.now();
    const tick = (now: number) => {
      const next = Math.min(duration, (shown.current?.at ?? 0) + (now - last) * speed);
      last = now;
      show(next);
      setPosition(next);
      // At the end of what has loaded, a replay whose record is still arriving waits for it.
      if (next >= duration && loaded) setPlaying(false);
      else frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [playing, speed, duration, show, loaded]);

  return {
    position: following ? duration : position,
    duration,
    playing,
    speed,
    loaded,
    play: () => {
      setFollowing(false);
      setPosition(shown.current?.at ?? duration);
      // Playing from the end starts over.
      if ((shown.current?.at ?? duration) >= duration) {
        show(0);
        setPosition(0);
      }
      setPlaying(true);
    },
    pause: () => setPlaying(false),
    seek: (ms: number) => {
      const at = Math.max(0, Math.min(duration, ms));
      // Seeking to the very end goes back to following it.
      setFollowing(at >= duration);
      show(at);
      setPosition(at);
    },
    setSpeed,
  };
}
