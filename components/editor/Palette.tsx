"use client";

import { useReactFlow } from "@xyflow/react";
import { KINDS, type NodeKind } from "@/lib/workflow";
import { useEditorStore } from "./EditorProvider";
import { DRAG_MIME, KIND_UI, PALETTE_GROUPS, PATTERN_STYLE } from "./kind-ui";

/** The visible centre of the canvas, in flow coordinates (where click-added nodes go). */
export function useCanvasCenter() {
  const flow = useReactFlow();
  return () => {
    const canvas = globalThis.document?.querySelector("[data-testid=canvas]")?.getBoundingClientRect();
    if (!canvas) return { x: 0, y: 0 };
    return flow.screenToFlowPosition({ x: canvas.left + canvas.width / 2, y: canvas.top + canvas.height / 2 });
  };
}

export function Palette() {
  const store = useEditorStore();
  const center = useCanvasCenter();
  const add = (kind: NodeKind) => store.getState().addNode(kind, { center: center() });
  return (
    <nav aria-label="Node palette" className="flex h-full flex-col overflow-y-auto px-3 py-3" data-testid="palette">
      <h2 className="mb-2 px-1 text-[11px] font-semibold uppercase tracking-wider text-zinc-500">Nodes</h2>
      {PALETTE_GROUPS.map(({ pattern, kinds }) => (
        <section key={pattern} className="mb-3">
          <h3 className="mb-1 px-1 text-[11px] font-medium text-zinc-400">{PATTERN_STYLE[pattern].label}</h3>
          <ul className="space-y-1">
            {kinds.map((kind) => {
              const ui = KIND_UI[kind];
              const Icon = ui.icon;
              return (
                <li key={kind}>
                  <button
                    type="button"
                    draggable
                    data-testid={`palette-${kind}`}
                    onDragStart={(event) => {
                      event.dataTransfer.setData(DRAG_MIME, kind);
                      event.dataTransfer.effectAllowed = "move";
                    }}
                    onClick={() => add(kind)}
                    title={`${ui.blurb} Drag onto the canvas, or click to add.`}
                    className={`flex w-full cursor-grab items-start gap-2 rounded-md px-2 py-1.5 text-left hover:ring-1 hover:ring-zinc-300 active:cursor-grabbing dark:hover:ring-zinc-600 ${PATTERN_STYLE[ui.pattern].chip}`}
                  >
                    <Icon className={`mt-0.5 h-4 w-4 shrink-0 ${PATTERN_STYLE[ui.pattern].tint}`} aria-hidden />
                    <span className="min-w-0">
                      <span className="block text-sm font-medium leading-tight">{KINDS[kind].title}</span>
                      <span className="block text-[11px] leading-snug text-zinc-500 dark:text-zinc-400">{ui.blurb}</span>
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
        </section>
      ))}
    </nav>
  );
}
