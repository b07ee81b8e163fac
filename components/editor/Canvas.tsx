"use client";

import {
  Background,
  BackgroundVariant,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  useReactFlow,
  useStore as useFlowStore,
  type Connection,
  type EdgeTypes,
  type IsValidConnection,
  type NodeTypes,
  type OnConnectEnd,
  type OnMoveStart,
} from "@xyflow/react";
import { useCallback, useMemo, useState, useSyncExternalStore, type DragEvent } from "react";
import { useStore } from "zustand";
import { useShallow } from "zustand/react/shallow";
import { NODE_KINDS, type NodeKind } from "@/lib/workflow";
import { createFlowNodeMapper, flowNodeType, kindOfFlowType, toFlowEdges } from "@/lib/editor/flow";
import { connect } from "@/lib/editor/graph";
import type { EditorState } from "@/lib/editor/store";
import { useEditor, useEditorStore, useReadOnly } from "./EditorProvider";
import { LoopEdge, WorkflowEdge } from "./edges";
import { DRAG_MIME, KIND_UI } from "./kind-ui";
import { NodeCard, OutlineContext, selectOutline } from "./NodeCard";
import { useLayerPan } from "./useLayerPan";

const nodeTypes: NodeTypes = Object.fromEntries(NODE_KINDS.map((kind) => [flowNodeType(kind), NodeCard]));
const edgeTypes: EdgeTypes = { workflow: WorkflowEdge, loop: LoopEdge };
const defaultEdgeOptions = { markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 } };
const SNAP: [number, number] = [20, 20];
/**
 * Above this many nodes, cards off screen are not mounted: a thousand-node workflow zoomed in to
 * work on then costs what its visible part costs. Smaller workflows keep every card mounted, so a
 * card the view has left (while following a run, say) keeps its place and its output.
 */
export const MOUNT_VISIBLE_ONLY_ABOVE = 200;

const selectFlowInputs = (s: EditorState) => ({ document: s.document, selection: s.selection, measured: s.measured });
const selectHandlers = (s: EditorState) => ({ onNodesChange: s.onNodesChange, onEdgesChange: s.onEdgesChange, connect: s.connect, addNode: s.addNode });

const miniMapColor = (node: { type?: string }) => {
  const ui = KIND_UI[kindOfFlowType(node.type) as NodeKind];
  return ui ? { chain: "#0ea5e9", parallel: "#8b5cf6", route: "#f59e0b", orchestrate: "#10b981", evaluate: "#f43f5e", io: "#a1a1aa", note: "#facc15" }[ui.pattern] : "#a1a1aa";
};

const DARK_QUERY = "(prefers-color-scheme: dark)";
const subscribeToScheme = (onChange: () => void) => {
  const query = window.matchMedia(DARK_QUERY);
  query.addEventListener("change", onChange);
  return () => query.removeEventListener("change", onChange);
};

/** The system theme, read after hydration (React Flow's own "system" mode stays light after SSR). */
function useColorMode(): "dark" | "light" {
  return useSyncExternalStore(
    subscribeToScheme,
    () => (window.matchMedia(DARK_QUERY).matches ? "dark" : "light"),
    () => "light",
  );
}

/*
 * React Flow copies each of these props into its store whenever it is a new value, and every store
 * update re-checks every node's, edge's and handle's subscription: an object or function made
 * afresh on each render (and the canvas renders on every pointer move of a drag) would cost a
 * thousand-node canvas three extra rounds of that per move. So they are made once.
 */
const FIT_VIEW_OPTIONS = { padding: 0.08, maxZoom: 1 };
const DELETE_KEYS = ["Backspace", "Delete"];
const MULTI_SELECTION_KEYS = ["Meta", "Control", "Shift"];
const PRO_OPTIONS = { hideAttribution: true };
const MINIMAP_STYLE = { width: 160, height: 100 };

export function Canvas() {
  const store = useEditorStore();
  const { document, selection, measured } = useEditor(useShallow(selectFlowInputs));
  const dragging = useStore(store.getState().drag, (s) => s.positions);
  const outline = useFlowStore(selectOutline);
  const handlers = useEditor(useShallow(selectHandlers));
  const flow = useReactFlow();
  const colorMode = useColorMode();
  const readOnly = useReadOnly();
  // Fit the view to what the page opened with; an empty canvas keeps its viewport while nodes are added.
  const [fitOnOpen] = useState(() => store.getState().document.nodes.length > 0);

  const selectedNodes = useMemo(() => new Set(selection.nodes), [selection.nodes]);
  const selectedEdges = useMemo(() => new Set(selection.edges), [selection.edges]);
  // Keeps the object of every unchanged node, so a drag re-renders the dragged card only.
  const [toFlowNodes] = useState(createFlowNodeMapper);
  const nodes = useMemo(() => toFlowNodes(document, selectedNodes, dragging, measured), [toFlowNodes, document, selectedNodes, dragging, measured]);
  const edges = useMemo(() => toFlowEdges(document, selectedEdges), [document, selectedEdges]);

  const onConnect = useCallback(
    (c: Connection) => {
      if (c.source && c.target && c.sourceHandle && c.targetHandle) {
        handlers.connect({ source: c.source, sourcePort: c.sourceHandle, target: c.target, targetPort: c.targetHandle });
      }
    },
    [handlers],
  );

  // The same core rules as the pre-run check; a refused drop explains itself in onConnect.
  const isValidConnection: IsValidConnection = useCallback(
    (c) =>
      Boolean(c.source && c.target && c.sourceHandle && c.targetHandle) &&
      connect(store.getState().document, { source: c.source, sourcePort: c.sourceHandle!, target: c.target, targetPort: c.targetHandle! }).ok,
    [store],
  );

  const onConnectEnd: OnConnectEnd = useCallback(
    (_, state) => {
      // Dropped on a handle that the rules refuse: say why instead of silently doing nothing.
      const from = state.fromHandle;
      const to = state.toHandle;
      if (!state.isValid && from && to && from.nodeId !== to.nodeId) {
        const [source, target] = from.type === "source" ? [from, to] : [to, from];
        const result = connect(store.getState().document, { source: source.nodeId, sourcePort: source.id ?? "", target: target.nodeId, targetPort: target.id ?? "" });
        if (!result.ok) store.getState().notify("error", result.reason);
      }
    },
    [store],
  );

  // The person's own pan or zoom ends following the run.
  const stopFollowing = useCallback(() => {
    if (store.getState().run?.status === "running" && store.getState().followRun) store.getState().setFollowRun(false);
  }, [store]);
  const onMoveStart: OnMoveStart = useCallback(
    (event) => {
      // Programmatic moves have no event.
      if (event) stopFollowing();
    },
    [stopFollowing],
  );
  const large = document.nodes.length > MOUNT_VISIBLE_ONLY_ABOVE;
  // A large canvas in outline is panned by moving its layer (useLayerPan), not by React Flow.
  const layerPan = large && outline;
  const onLayerPanDown = useLayerPan(stopFollowing);

  const onDragOver = useCallback((event: DragEvent) => {
    if (!event.dataTransfer.types.includes(DRAG_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      const kind = event.dataTransfer.getData(DRAG_MIME) as NodeKind;
      if (!NODE_KINDS.includes(kind)) return;
      event.preventDefault();
      const position = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      handlers.addNode(kind, { position: { x: position.x - 130, y: position.y - 30 } });
    },
    [flow, handlers],
  );

  return (
    <div className="h-full w-full" data-testid="canvas" data-nodes={document.nodes.length} data-readonly={readOnly || undefined} data-dragging={dragging ? true : undefined} data-zoom={outline ? "outline" : undefined} data-layer-pan={layerPan || undefined} onPointerDown={layerPan ? onLayerPanDown : undefined} onDragOver={readOnly ? undefined : onDragOver} onDrop={readOnly ? undefined : onDrop}>
      <OutlineContext.Provider value={outline}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        defaultEdgeOptions={defaultEdgeOptions}
        onNodesChange={handlers.onNodesChange}
        onEdgesChange={handlers.onEdgesChange}
        onConnect={onConnect}
        connectionRadius={50}
        isValidConnection={isValidConnection}
        onConnectEnd={onConnectEnd}
        onMoveStart={onMoveStart}
        onlyRenderVisibleElements={large}
        panOnDrag={!layerPan}
        snapToGrid
        snapGrid={SNAP}
        fitView={fitOnOpen}
        fitViewOptions={FIT_VIEW_OPTIONS}
        minZoom={0.1}
        maxZoom={2}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        edgesReconnectable={!readOnly}
        deleteKeyCode={readOnly ? null : DELETE_KEYS}
        multiSelectionKeyCode={MULTI_SELECTION_KEYS}
        selectionKeyCode="Shift"
        colorMode={colorMode}
        proOptions={PRO_OPTIONS}
      >
        {/* In outline the dots are under a third of a pixel: nobody sees them, yet each frame of a pan rasters them all. */}
        {!outline && <Background variant={BackgroundVariant.Dots} gap={20} size={1} />}
        <Controls position="bottom-left" />
        {/* A large canvas in outline is its own overview; the minimap's subscription per node would cost every move of a drag. */}
        {!layerPan && <MiniMap position="bottom-right" pannable zoomable nodeColor={miniMapColor} style={MINIMAP_STYLE} className="!bg-white dark:!bg-zinc-900" />}
      </ReactFlow>
      </OutlineContext.Provider>
    </div>
  );
}

