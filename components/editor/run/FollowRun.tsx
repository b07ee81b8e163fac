"use client";

import { useReactFlow, useStoreApi } from "@xyflow/react";
import { Crosshair } from "lucide-react";
import { useEffect } from "react";
import { DEFAULT_NODE_SIZE } from "@/lib/editor/graph";
import { useEditor, useEditorStore } from "../EditorProvider";

/** Streamed text is 12 px in a card: below this zoom it would render under 11 px. */
export const READABLE_ZOOM = 11 / 12;
const MAX_FOLLOW_ZOOM = 1.1;
const PADDING = 40;

type Box = { x1: number; y1: number; x2: number; y2: number };

/**
 * "Follow the run": while a run streams, the view frames the nodes that are running, at a zoom
 * where their text is readable. When they do not all fit at that zoom, it frames the most
 * recently started ones. The person's own pan or zoom turns it off (Canvas), and one click on
 * the button turns it back on.
 */
export function FollowRun() {
  const store = useEditorStore();
  const flow = useReactFlow();
  const flowStore = useStoreApi();
  const follow = useEditor((s) => s.followRun);
  const hasRun = useEditor((s) => s.run !== null);

  useEffect(() => {
    if (!follow) return;
    let framed = "";
    let frame = 0;
    const frameActive = () => {
      frame = 0;
      const { run, document, measured } = store.getState();
      if (!run || run.status !== "running") return;
      // Newest first, so that when not all fit, the ones just started are the ones shown.
      const active = Object.entries(run.nodes)
        .filter(([, node]) => node.status === "running")
        .sort(([, a], [, b]) => (b.spans.at(-1)?.start ?? 0) - (a.spans.at(-1)?.start ?? 0))
        .map(([id]) => id);
      const key = active.join(",");
      if (!active.length || key === framed) return;
      framed = key;
      const { width, height } = flowStore.getState();
      if (!width || !height) return;
      const byId = new Map(document.nodes.map((node) => [node.id, node]));
      let box: Box | null = null;
      for (const id of active) {
        const node = byId.get(id);
        if (!node) continue;
        const size = measured[id] ?? DEFAULT_NODE_SIZE;
        const next: Box = box
          ? { x1: Math.min(box.x1, node.position.x), y1: Math.min(box.y1, node.position.y), x2: Math.max(box.x2, node.position.x + size.width), y2: Math.max(box.y2, node.position.y + size.height) }
          : { x1: node.position.x, y1: node.position.y, x2: node.position.x + size.width, y2: node.position.y + size.height };
        const fits = (next.x2 - next.x1 + 2 * PADDING) * READABLE_ZOOM <= width && (next.y2 - next.y1 + 2 * PADDING) * READABLE_ZOOM <= height;
        if (box && !fits) break;
        box = next;
      }
      if (!box) return;
      const zoom = Math.max(READABLE_ZOOM, Math.min(MAX_FOLLOW_ZOOM, width / (box.x2 - box.x1 + 2 * PADDING), height / (box.y2 - box.y1 + 2 * PADDING)));
      const centerX = (box.x1 + box.x2) / 2;
      const centerY = (box.y1 + box.y2) / 2;
      void flow.setViewport({ x: width / 2 - centerX * zoom, y: height / 2 - centerY * zoom, zoom }, { duration: 350 });
    };
    const unsubscribe = store.subscribe((state, previous) => {
      if (state.run !== previous.run) frame ||= requestAnimationFrame(frameActive);
    });
    frame = requestAnimationFrame(frameActive);
    return () => {
      unsubscribe();
      cancelAnimationFrame(frame);
    };
  }, [follow, store, flow, flowStore]);

  if (!hasRun) return null;
  return (
    <button
      type="button"
      data-testid="follow-run"
      aria-pressed={follow}
      title={follow ? "The view follows the running nodes. Pan or zoom to stop." : "Frame the running nodes as the run goes on"}
      onClick={() => store.getState().setFollowRun(!follow)}
      className={`absolute right-3 top-3 z-10 flex items-center gap-1.5 rounded-full border px-2.5 py-1 text-xs font-medium shadow-sm ${
        follow
          ? "border-sky-300 bg-sky-50 text-sky-800 dark:border-sky-700 dark:bg-sky-950 dark:text-sky-200"
          : "border-zinc-200 bg-white text-zinc-600 hover:bg-zinc-50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-300"
      }`}
    >
      <Crosshair className="h-3.5 w-3.5" aria-hidden />
      {follow ? "Following the run" : "Follow the run"}
    </button>
  );
}
