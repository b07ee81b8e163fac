"use client";

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { advanceReplay, endInterrupted, recordedDuration, startRunState, type RunState } from "@/lib/editor/run-state";
import type { RunEvent } from "@/lib/workflow";
import { useEditorStore } from "../EditorProvider";

export type Replay = {
  /** Position on the run's own time axis (ms). */
  position: number;
  duration: number;
  playing: boolean;
  speed: number;
  play(): void;
  pause(): void;
  seek(ms: number): void;
  setSpeed(speed: number): void;
};

/**
 * Replays a recorded run on the canvas through the same reducer as a live run: instantly (it
 * opens on the finished run), or at recorded speed — any speed — with a scrubber. Moving forward
 * applies only the new events; moving back rebuilds from the start (a pure fold, cheap).
 */
export function useReplay(runId: string, events: ReadonlyArray<RunEvent>, { interrupted = false } = {}): Replay {
  const store = useEditorStore();
  const duration = useMemo(() => recordedDuration(events), [events]);
  const nodeIds = useMemo(() => store.getState().document.nodes.filter((n) => n.kind !== "note").map((n) => n.id), [store]);
  const [position, setPosition] = useState(duration);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(1);
  const shown = useRef<{ state: RunState; applied: number; at: number } | null>(null);

  const show = useCallback(
    (at: number) => {
      const upTo = events.findIndex((event) => event.t > at);
      const to = upTo === -1 ? events.length : upTo;
      // Forward from what is shown; backwards from the start.
      const current = shown.current && shown.current.at <= at && shown.current.applied <= to ? shown.current : { state: startRunState(runId, nodeIds), applied: 0 };
      const state = advanceReplay(current.state, events, current.applied, to, at);
      shown.current = { state, applied: to, at };
      store.getState().showRun(interrupted ? endInterrupted(state, events, at) : state);
    },
    [events, nodeIds, runId, store, interrupted],
  );

  // Opens on the finished run: the instant replay.
  useEffect(() => {
    show(duration);
  }, [show, duration]);

  useEffect(() => {
    if (!playing) return;
    let frame = 0;
    let last = performance.now();
    const tick = (now: number) => {
      const next = Math.min(duration, (shown.current?.at ?? 0) + (now - last) * speed);
      last = now;
      show(next);
      setPosition(next);
      if (next >= duration) setPlaying(false);
      else frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [playing, speed, duration, show]);

  return {
    position,
    duration,
    playing,
    speed,
    play: () => {
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
      show(at);
      setPosition(at);
    },
    setSpeed,
  };
}
