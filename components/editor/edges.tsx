"use client";

import { BaseEdge, EdgeLabelRenderer, getSmoothStepPath, type EdgeProps } from "@xyflow/react";
import { memo } from "react";

function WorkflowEdgeImpl({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, selected, markerEnd }: EdgeProps) {
  const [path] = getSmoothStepPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, borderRadius: 10 });
  return <BaseEdge id={id} path={path} markerEnd={markerEnd} style={{ stroke: selected ? "#0ea5e9" : "#a1a1aa", strokeWidth: selected ? 2.5 : 1.5 }} />;
}

/** A back-edge (evaluator revise / gate fail): drawn as a dashed arc under the loop body. */
function LoopEdgeImpl({ id, sourceX, sourceY, targetX, targetY, selected, markerEnd }: EdgeProps) {
  const depth = Math.max(120, Math.abs(sourceX - targetX) * 0.35);
  const bottom = Math.max(sourceY, targetY) + depth;
  const path = `M ${sourceX} ${sourceY} C ${sourceX + 90} ${sourceY}, ${sourceX + 90} ${bottom}, ${(sourceX + targetX) / 2} ${bottom} S ${targetX - 90} ${targetY}, ${targetX} ${targetY}`;
  return (
    <>
      <BaseEdge
        id={id}
        path={path}
        markerEnd={markerEnd}
        style={{ stroke: selected ? "#0ea5e9" : "#f43f5e", strokeWidth: selected ? 2.5 : 1.75, strokeDasharray: "6 4" }}
      />
      <EdgeLabelRenderer>
        <div
          className="pointer-events-none absolute rounded bg-rose-50 px-1.5 py-0.5 text-[10px] font-medium uppercase tracking-wide text-rose-700 dark:bg-rose-950 dark:text-rose-300"
          style={{ transform: `translate(-50%, -50%) translate(${(sourceX + targetX) / 2}px, ${bottom}px)` }}
          data-testid={`loop-edge-${id}`}
        >
          loop
        </div>
      </EdgeLabelRenderer>
    </>
  );
}

export const WorkflowEdge = memo(WorkflowEdgeImpl);
export const LoopEdge = memo(LoopEdgeImpl);
