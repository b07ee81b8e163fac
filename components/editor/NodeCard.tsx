"use client";

import { Handle, Position, type NodeProps, type ReactFlowState } from "@xyflow/react";
import { AlertCircle } from "lucide-react";
import { createContext, memo, useContext } from "react";
import { KINDS, type NodeKind, type WorkflowNode } from "@/lib/workflow";
import { kindOf } from "@/lib/workflow/validate";
import { nodeById } from "@/lib/editor/flow";
import { issuesOfNode } from "@/lib/editor/issues";
import { useEditor } from "./EditorProvider";
import { KIND_UI, PATTERN_STYLE } from "./kind-ui";
import { NodeRunView } from "./run/NodeRunView";
import { NodeTestView } from "./run/NodeTestView";
import { AgreementBadge } from "@/components/topology/AgreementBadge";
import type { NodeRunStatus } from "@/lib/editor/run-state";

const NOTE_COLORS: Record<string, string> = {
  yellow: "bg-yellow-100 border-yellow-300 text-yellow-950 dark:bg-yellow-900/40 dark:border-yellow-700 dark:text-yellow-50",
  blue: "bg-sky-100 border-sky-300 text-sky-950 dark:bg-sky-900/40 dark:border-sky-700 dark:text-sky-50",
  green: "bg-emerald-100 border-emerald-300 text-emerald-950 dark:bg-emerald-900/40 dark:border-emerald-700 dark:text-emerald-50",
  pink: "bg-pink-100 border-pink-300 text-pink-950 dark:bg-pink-900/40 dark:border-pink-700 dark:text-pink-50",
  gray: "bg-zinc-100 border-zinc-300 text-zinc-900 dark:bg-zinc-800 dark:border-zinc-600 dark:text-zinc-50",
};

const RUN_BORDER: Record<NodeRunStatus, string> = {
  queued: "border-zinc-200 dark:border-zinc-700",
  running: "border-sky-500 ring-2 ring-sky-500/30",
  succeeded: "border-emerald-400 dark:border-emerald-600",
  failed: "border-red-500 ring-2 ring-red-500/20",
  skipped: "border-dashed border-zinc-300 dark:border-zinc-700",
  cancelled: "border-amber-400",
};

/** A port: in-ports on the left, out-ports on the right, addressable by tests as handle-<node>-<port>. */
function PortHandle({ nodeId, port, type }: { nodeId: string; port: string; type: "source" | "target" }) {
  return (
    <Handle
      type={type}
      position={type === "source" ? Position.Right : Position.Left}
      id={port}
      data-testid={`handle-${nodeId}-${port}`}
      className="!h-2.5 !w-2.5 !border-2 !border-white !bg-zinc-500 dark:!border-zinc-900"
    />
  );
}

/** Keys a node writes, for the card's "→ key" line. */
function writes(node: WorkflowNode): string[] {
  return kindOf(node).writes(node.config);
}

function NoteCard({ node, selected }: { node: Extract<WorkflowNode, { kind: "note" }>; selected: boolean }) {
  return (
    <div
      data-testid={`node-${node.id}`}
      className={`w-[240px] rounded-md border p-3 text-xs leading-relaxed shadow-sm ${NOTE_COLORS[node.config.color ?? "yellow"]} ${selected ? "ring-2 ring-sky-500" : ""}`}
    >
      <p className="whitespace-pre-wrap break-words">{node.config.text || "Empty note"}</p>
    </div>
  );
}

/**
 * Below this zoom a card's text renders under 5 px: nobody reads it, and a thousand full cards
 * cost every frame of a drag or pan in style, layout, paint and layerization. Cards then draw
 * in outline — the same box, ports and run status, tinted by pattern, with the label drawn large
 * enough to read at that zoom, and without icons, summaries or output.
 */
export const OUTLINE_BELOW_ZOOM = 0.3;
export const selectOutline = (s: ReactFlowState) => s.transform[2] < OUTLINE_BELOW_ZOOM;
/**
 * Whether cards draw in outline, provided once by the canvas: a subscription per card to the
 * viewport would be a thousand more checks on every pointer move of a drag.
 */
export const OutlineContext = createContext(false);

/** One card for every kind; what differs per kind comes from the kind's definition and KIND_UI. */
function NodeCardImpl({ id, selected }: NodeProps) {
  const node = useEditor((s) => nodeById(s.document, id));
  const issues = useEditor((s) => issuesOfNode(s.document, id));
  const runStatus = useEditor((s) => s.run?.nodes[id]?.status);
  const height = useEditor((s) => s.measured[id]?.height);
  const outline = useContext(OutlineContext);
  if (!node) return null;
  if (node.kind === "note") return <NoteCard node={node} selected={selected} />;
  // Outlined only once measured at full size, so the box, its ports and its edges stay where they are.
  if (outline && height) return <OutlineCard node={node} selected={selected} runStatus={runStatus} height={height} errors={issues.some((i) => i.severity === "error")} />;
  const definition = kindOf(node);
  const ui = KIND_UI[node.kind as NodeKind];
  const style = PATTERN_STYLE[ui.pattern];
  const Icon = ui.icon;
  const inputs = definition.inputs(node.config);
  const outputs = definition.outputs(node.config);
  const errors = issues.filter((i) => i.severity === "error");
  const keys = writes(node);
  const namedPorts = outputs.length > 1 || (outputs.length === 1 && outputs[0] !== "out");
  return (
    <div
      data-testid={`node-${node.id}`}
      data-kind={node.kind}
      data-run-status={runStatus ?? "none"}
      className={`group w-[260px] rounded-lg border bg-white text-zinc-900 shadow-sm transition dark:bg-zinc-900 dark:text-zinc-100 ${
        selected ? "border-sky-500 shadow-md ring-2 ring-sky-500/30" : runStatus ? RUN_BORDER[runStatus] : "border-zinc-200 dark:border-zinc-700"
      } ${runStatus === "skipped" ? "opacity-45 grayscale" : ""}`}
    >
      <div className={`h-1 rounded-t-lg ${style.accent}`} />
      <div className="flex items-start gap-2 px-3 pt-2">
        <Icon className={`mt-0.5 h-4 w-4 shrink-0 ${style.tint}`} aria-hidden />
        <div className="min-w-0 flex-1">
          <div className="truncate text-sm font-medium" title={node.label}>
            {node.label || KINDS[node.kind].title}
          </div>
          <div className="text-[11px] uppercase tracking-wide text-zinc-500">{KINDS[node.kind].title}</div>
        </div>
        {errors.length > 0 && (
          <span
            data-testid={`node-issues-${node.id}`}
            title={errors.map((e) => e.message).join("\n")}
            className="flex items-center gap-1 rounded-full bg-red-50 px-1.5 py-0.5 text-[11px] font-medium text-red-700 dark:bg-red-950 dark:text-red-300"
          >
            <AlertCircle className="h-3 w-3" aria-hidden />
            {errors.length}
          </span>
        )}
      </div>
      <div className="px-3 pb-2 pt-1">
        {keys.length > 0 && (
          <div className="mb-1 flex flex-wrap gap-1">
            {keys.map((key) => (
              <code key={key} className="rounded bg-zinc-100 px-1 py-px text-[11px] text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
                → {key}
              </code>
            ))}
          </div>
        )}
        <p className="line-clamp-2 text-xs text-zinc-500 dark:text-zinc-400" data-testid={`node-summary-${node.id}`}>
          {definition.summary(node.config)}
        </p>
      </div>
      {node.kind === "aggregate" && node.config.agreement && <AgreementBadge nodeId={node.id} reportKey={node.config.agreement.key} />}
      <NodeRunView nodeId={node.id} kind={node.kind} />
      <NodeTestView nodeId={node.id} />
      {namedPorts && (
        <div className="border-t border-zinc-100 py-1 dark:border-zinc-800">
          {outputs.map((port) => (
            <div key={port} className="relative flex h-6 items-center justify-end pr-3 text-[11px] text-zinc-600 dark:text-zinc-400">
              <span className={port === "fail" || port === "revise" ? "text-rose-600 dark:text-rose-400" : port === "pass" ? "text-emerald-600 dark:text-emerald-400" : ""}>
                {port}
              </span>
              <PortHandle nodeId={node.id} port={port} type="source" />
            </div>
          ))}
        </div>
      )}
      {!namedPorts && outputs.length === 1 && (
        <PortHandle nodeId={node.id} port={outputs[0]} type="source" />
      )}
      {inputs.map((port) => (
        <PortHandle key={port} nodeId={node.id} port={port} type="target" />
      ))}
    </div>
  );
}

/**
 * A port at a zoom too small to grab: drawn like a handle, with the attributes React Flow reads
 * when it measures a node, but no subscription to the connection state — a thousand handles, each
 * re-checking that state on every pointer move of a drag, are most of a drag's cost. It is placed
 * in the card's grid, not positioned like a handle: a positioned, transformed element is a layer
 * of its own that the browser hit-tests and layerizes on every frame of a pan or a drag, two
 * thousand of them with 1,000 cards on screen (docs/architecture.md §10.2).
 */
function OutlinePort({ nodeId, port, type, className }: { nodeId: string; port: string; type: "source" | "target"; className: string }) {
  return (
    <span
      data-handleid={port}
      data-nodeid={nodeId}
      data-handlepos={type === "source" ? Position.Right : Position.Left}
      className={`${type} block h-2.5 w-2.5 rounded-full border-2 border-white bg-zinc-500 dark:border-zinc-900 ${className}`}
    />
  );
}

/*
 * Where a handle's centre is on a full card: on the card's left or right edge, halfway down. The
 * outline card's border is 4 px, so a 10 px port reaches 9 px past its content box; every port of
 * a side shares the one grid cell that spans the card's rows.
 */
const IN_PORT = "col-start-1 row-[1/-1] self-center justify-self-start -ml-[9px]";
const OUT_PORT = "col-start-1 row-[1/-1] self-center justify-self-end -mr-[9px]";

/**
 * An outline label's size: 40 px, so that at a quarter of full size it still reads as 10 px; a
 * label too long for the card's 228 px at that size is drawn smaller (a character is about 0.6 em).
 * It is not clipped to the card: see app/globals.css.
 */
const outlineLabelPx = (label: string) => Math.min(40, Math.floor(380 / Math.max(1, label.length)));

/** The card at a zoom too small to read: its box, accent, border and ports. */
function OutlineCard({ node, selected, runStatus, height, errors }: { node: WorkflowNode; selected: boolean; runStatus: NodeRunStatus | undefined; height: number; errors: boolean }) {
  const definition = kindOf(node);
  const style = PATTERN_STYLE[KIND_UI[node.kind as NodeKind].pattern];
  const inputs = definition.inputs(node.config);
  const outputs = definition.outputs(node.config);
  const namedPorts = outputs.length > 1 || (outputs.length === 1 && outputs[0] !== "out");
  const label = node.label || KINDS[node.kind].title;
  return (
    <div
      data-testid={`node-${node.id}`}
      data-kind={node.kind}
      data-outline=""
      data-run-status={runStatus ?? "none"}
      style={{ height }}
      title={node.label}
      className={`grid w-[260px] grid-cols-[minmax(0,1fr)] grid-rows-[auto_minmax(0,1fr)_auto] rounded-lg border-4 ${style.chip} ${
        selected ? "border-sky-500" : errors ? "border-red-500" : runStatus ? RUN_BORDER[runStatus] : "border-zinc-300 dark:border-zinc-600"
      } ${runStatus === "skipped" ? "opacity-45" : ""}`}
    >
      <div className={`col-start-1 row-start-1 h-3 rounded-t ${style.accent}`} />
      <div style={{ fontSize: outlineLabelPx(label) }} className="col-start-1 row-start-2 whitespace-nowrap px-3 pt-1 font-semibold leading-tight text-zinc-800 dark:text-zinc-100">
        {label}
      </div>
      {namedPorts && (
        <div className="col-start-1 row-start-3 border-t border-transparent py-1">
          {outputs.map((port) => (
            <div key={port} className="flex h-6 items-center justify-end">
              {/* Centred on the row's right edge, as the full card's port is. */}
              <OutlinePort nodeId={node.id} port={port} type="source" className="-mr-[5px]" />
            </div>
          ))}
        </div>
      )}
      {!namedPorts && outputs.length === 1 && <OutlinePort nodeId={node.id} port={outputs[0]} type="source" className={OUT_PORT} />}
      {inputs.map((port) => (
        <OutlinePort key={port} nodeId={node.id} port={port} type="target" className={IN_PORT} />
      ))}
    </div>
  );
}

export const NodeCard = memo(NodeCardImpl);
