"use client";

import { useReactFlow } from "@xyflow/react";
import { useCallback, type PointerEvent } from "react";

/**
 * A pan of a large canvas in outline, moved by the browser's compositor rather than by React Flow
 * (docs/architecture.md §10.2). React Flow writes every pointer move of its own pan to its store,
 * and every mounted node, edge and handle then re-checks its subscription, the culling recomputes
 * which of them are on screen and the minimap redraws: with 1,000 cards on screen that was most of
 * a pan frame. Here the pointer moves the viewport element's transform alone (a layer while panned,
 * app/globals.css), and React Flow learns the viewport every quarter screen, so that cards coming
 * into view get mounted, and when the pan ends.
 *
 * Returns the canvas's pointer-down handler: it starts a pan when the primary button or the middle
 * one presses the canvas's background (Shift is the selection box's, a card is dragged).
 */
export function useLayerPan(onPanStart: () => void) {
  const flow = useReactFlow();
  return useCallback(
    (event: PointerEvent<HTMLElement>) => {
      const pane = event.target as HTMLElement;
      if (!pane.classList.contains("react-flow__pane") || event.button > 1 || event.shiftKey || !event.isPrimary) return;
      const layer = pane.querySelector<HTMLElement>(".react-flow__viewport");
      if (!layer) return;
      onPanStart();
      const start = flow.getViewport();
      // Stops an animation of the view under way (fitting it, following a run), as React Flow's pan does.
      void flow.setViewport(start);
      const origin = { x: event.clientX, y: event.clientY };
      const step = Math.min(pane.clientWidth, pane.clientHeight) / 4;
      let committed = start;
      let current = start;
      let moved = false;
      pane.setPointerCapture(event.pointerId);
      pane.dataset.panning = "";

      const onMove = (move: globalThis.PointerEvent) => {
        if (move.pointerId !== event.pointerId) return;
        // A wheel zoom meanwhile moved React Flow's view itself: the pan ends where that left it.
        if (flow.getViewport().zoom !== start.zoom) return stop();
        moved ||= move.clientX !== origin.x || move.clientY !== origin.y;
        current = { x: start.x + move.clientX - origin.x, y: start.y + move.clientY - origin.y, zoom: start.zoom };
        if (Math.abs(current.x - committed.x) >= step || Math.abs(current.y - committed.y) >= step) {
          committed = current;
          void flow.setViewport(current);
        } else {
          layer.style.transform = `translate(${current.x}px,${current.y}px) scale(${current.zoom})`;
        }
      };
      function stop() {
        pane.removeEventListener("pointermove", onMove);
        pane.removeEventListener("pointerup", onEnd);
        pane.removeEventListener("pointercancel", onEnd);
        delete pane.dataset.panning;
      }
      function onEnd(end: globalThis.PointerEvent) {
        if (end.pointerId !== event.pointerId) return;
        stop();
        void flow.setViewport(current);
        // A pan is not a click on the background (which would clear the selection).
        if (moved) {
          const swallow = (click: MouseEvent) => click.stopPropagation();
          window.addEventListener("click", swallow, { capture: true, once: true });
          setTimeout(() => window.removeEventListener("click", swallow, { capture: true }));
        }
      }
      pane.addEventListener("pointermove", onMove);
      pane.addEventListener("pointerup", onEnd);
      pane.addEventListener("pointercancel", onEnd);
    },
    [flow, onPanStart],
  );
}
