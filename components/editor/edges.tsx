"use client";

import { BaseEdge, EdgeLabelRenderer, getSmoothStepPath, type EdgeProps } from "@xyflow/react";
import { memo, type CSSProperties } from "react";
import { edgeRunState, type EdgeRunState } from "@/lib/editor/run-state";
import { useEditor } from "./EditorProvider";

const RUN_STYLE: Record<EdgeRunState, CSSProperties> = {
  idle: {},
  // The dashes march in five steps per cycle rather than every frame: an animated dash repaints
  // its path each time it moves, and twenty streaming nodes have forty of them (`npm run bench`).
  flowing: { stroke: "#0ea5e9", strokeWidth: 2, strokeDasharray: "5 5", animation: "dashdraw 0.6s steps(5) infinite" },
  taken: { stroke: "#10b981", strokeWidth: 2.5 },
  dead: { stroke: "#a1a1aa", strokeWidth: 1.25, strokeDasharray: "3 5", opacity: 0.35 },
};

function useEdgeRunState(source: string, data: unknown): EdgeRunState {
  const port = (data as { sourcePort?: string } | undefined)?.sourcePort ?? "out";
  return useEditor((s) => edgeRunState(s.run, source, port));
}

function WorkflowEdgeImpl({ id, source, data, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, selected, markerEnd }: EdgeProps) {
  const [path] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, borderRadius: 10 });
  const run = useEdgeRunState(source, data);
  const base = { stroke: selected ? "#0ea5e9" : "#a1a1aa", strokeWidth: selected ? 2.5 : 1.5 };
  return (
    <g data-testid={`edge-${id}`} data-run={run}>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={{ ...base, ...RUN_STYLE[run] }} />
    </g>
  );
}

/** A back-edge (evaluator revise / gate fail): drawn as a dashed arc under the loop body. */
function LoopEdgeImpl({ id, source, data, sourceX, sourceY, targetX, targetY, selected, markerEnd }: EdgeProps) {
  const run = useEdgeRunState(source, data);
  const passes = useEditor((s) => s.run?.nodes[source]?.iteration ?? 0);
  const depth = Math.max(120, Math.abs(sourceX - targetX) * 0.35);
  const bottom = Math.max(sourceY, targetY) + depth;
  const path = `M ${sourceX} ${sourceY} C ${sourceX + 90} ${sourceY}, ${sourceX + 90} ${bottom}, ${(sourceX + targetX) / 2} ${bottom} S ${targetX - 90} ${targetY}, ${targetX} ${targetY}`;
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        markerEnd={markerEnd}
        style={{
          stroke: selected ? "#0ea5e9" : "#f43f5e",
          strokeWidth: run === "taken" ? 2.75 : selected ? 2.5 : 1.75,
          strokeDasharray: "6 4",
          opacity: run === "dead" ? 0.35 : 1,
        }}
      />
      <EdgeLabelRenderer>
        <div
          className="pointer-events-none absolute rounded bg-rose-50 px-1.5 py-0.5 text-[10px] font-medium uppercase tracking-wide text-rose-700 dark:bg-rose-950 dark:text-rose-300"
          style={{ transform: `translate(-50%, -50%) translate(${(sourceX + targetX) / 2}px, ${bottom}px)` }}
          data-testid={`loop-edge-${id}`}
        >
          {passes > 1 ? `loop · ${passes - 1}×` : "loop"}
        </div>
      </EdgeLabelRenderer>
    </>
  );
}

export const WorkflowEdge = memo(WorkflowEdgeImpl);
export const LoopEdge = memo(LoopEdgeImpl);
