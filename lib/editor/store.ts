import type { EdgeChange, NodeChange } from "@xyflow/react";
import { temporal } from "zundo";
import { createStore, type StoreApi } from "zustand/vanilla";
import { parseDocument, validateWorkflow, type NodeKind, type RunEvent, type ValidationIssue, type WorkflowDocument, type WorkflowNode } from "@/lib/workflow";
import { abandonRun, applyRunEvents, startRunState, type RunState } from "./run-state";
import {
  addNode,
  connect,
  copyFragment,
  createNode,
  dropDanglingEdges,
  freePosition,
  pasteFragment,
  removeElements,
  updateNode,
  type Connection,
  type Position,
  type Size,
} from "./graph";

/**
 * The editor's state, one store per editor page (created by the page's provider, never a module
 * singleton). Only `document` is undoable and only `document` is ever saved or exported; the
 * rest (selection, in-flight drag positions, measured sizes, notices) is editor-only.
 */

export type Notice = { tone: "error" | "info"; message: string; id: number };

export type NodeTest = { status: "running" | "succeeded" | "failed" | "cancelled"; text: string };

export type DragState = { positions: Record<string, Position> | null };

export type EditorState = {
  document: WorkflowDocument;
  /** The run on the canvas (live or finished); never part of the document or its history. */
  run: RunState | null;
  /** The stored version this editor is on, and the document as saved (for the unsaved marker). */
  saved: { id: string; version: number; document: WorkflowDocument } | null;
  selection: { nodes: string[]; edges: string[] };
  /**
   * Positions while a drag is in progress, in a store of their own: a pointer move then reaches the
   * canvas alone, not every card's subscription to this store (a thousand cards, each with several).
   * Committed to the document (one undo step) on drop.
   */
  drag: StoreApi<DragState>;
  /** Sizes React Flow measured, for layout and for keeping nodes visible across re-renders. */
  measured: Record<string, Size>;
  notice: Notice | null;
  /** While a run streams, the view frames the running nodes (off once the person pans or zooms). */
  followRun: boolean;
  /** The latest "Test this node" result per node, shown on its card (never part of a run or the document). */
  nodeTests: Record<string, NodeTest>;

  setNodeTest(nodeId: string, test: NodeTest | null): void;

  setFollowRun(on: boolean): void;
  onNodesChange(changes: NodeChange[]): void;
  onEdgesChange(changes: EdgeChange[]): void;
  connect(connection: Connection): boolean;
  /** Adds a node of `kind` at `position` (or near `center` without overlapping); returns its id. */
  addNode(kind: NodeKind, placement: { position?: Position; center?: Position }): string | null;
  updateNode(id: string, patch: { label?: string; config?: unknown }): void;
  /** Pins a node's output to a value (null unpins): one undo step. */
  pinNode(id: string, pin: WorkflowNode["pinned"] | null): void;
  updateWorkflow(patch: Partial<Pick<WorkflowDocument, "name" | "description" | "inputs" | "settings">>): void;
  select(nodes: string[], edges?: string[]): void;
  removeSelection(): void;
  duplicateSelection(): void;
  copySelection(): string | null;
  paste(text: string): boolean;
  /** Replaces the whole document (import): one undo step. */
  replaceDocument(document: WorkflowDocument): void;
  layout(): Promise<void>;
  notify(tone: Notice["tone"], message: string): void;
  dismissNotice(): void;
  markSaved(id: string, version: number, document: WorkflowDocument): void;
  /** A run starts: `model` is the default model of the document it runs (shown with the run). */
  beginRun(runId: string, clientStart: number, model?: string): void;
  applyRunEvents(events: RunEvent[]): void;
  abandonRun(message: string): void;
  /** Shows a run state as is (a recorded run being replayed). */
  showRun(run: RunState): void;
  clearRun(): void;
};

let noticeIds = 0;

/** Typing into one field (or fields of one node) until a pause this long is one undo step, not one per keystroke. */
export const TYPING_PAUSE_MS = 500;

/** What zundo hands `handleSet`: the function that records one history entry. */
type RecordHistory = (pastState: { document: WorkflowDocument }, replace: undefined, currentState: { document: WorkflowDocument }, deltaState?: Partial<{ document: WorkflowDocument }> | null) => void;

export function createEditorStore(initial: WorkflowDocument, saved?: { id: string; version: number }) {
  // The edit being typed, if the change now being recorded is one: which target, and the history
  // entry it may join (the document it produced, and when).
  let typing: string | null = null;
  let lastTyped: { target: string; at: number; document: WorkflowDocument } | null = null;
  /** Records one history entry per change, except that typing into the same target joins the entry of its previous keystroke until a pause. */
  const coalesceTyping =
    (record: RecordHistory): RecordHistory =>
    (pastState, replace, currentState, deltaState) => {
      const now = Date.now();
      // Joins only when nothing else happened in between (another edit, an undo): the document
      // before this keystroke is exactly the one the previous keystroke produced.
      const joins = typing !== null && lastTyped?.target === typing && now - lastTyped.at < TYPING_PAUSE_MS && lastTyped.document === pastState.document;
      lastTyped = typing === null ? null : { target: typing, at: now, document: currentState.document };
      if (!joins) record(pastState, replace, currentState, deltaState);
    };
  const asTyping = (target: string, change: () => void) => {
    typing = target;
    try {
      change();
    } finally {
      typing = null;
    }
  };
  return createStore<EditorState>()(
    temporal(
      (set, get) => {
        const setDocument = (document: WorkflowDocument, extra: Partial<EditorState> = {}) => set({ document, ...extra });
        return {
          document: initial,
          run: null,
          saved: saved ? { ...saved, document: initial } : null,
          selection: { nodes: [], edges: [] },
          drag: createStore<DragState>()(() => ({ positions: null })),
          measured: {},
          notice: null,
          followRun: true,
          nodeTests: {},

          setNodeTest(nodeId, test) {
            const { [nodeId]: _, ...rest } = get().nodeTests;
            set({ nodeTests: test ? { ...rest, [nodeId]: test } : rest });
          },

          setFollowRun(on) {
            set({ followRun: on });
          },

          onNodesChange(changes) {
            const state = get();
            let document = state.document;
            const before = state.drag.getState().positions;
            let dragging = before;
            let selected: Set<string> | null = null;
            let measured: Record<string, Size> | null = null;
            const removed: string[] = [];
            let commit = false;
            for (const change of changes) {
              if (change.type === "position") {
                if (change.dragging && change.position) {
                  dragging = { ...(dragging ?? {}), [change.id]: change.position };
                } else if (!change.dragging) {
                  const position = change.position ?? dragging?.[change.id];
                  if (position) {
                    document = updateNode(document, change.id, { position: { x: Math.round(position.x), y: Math.round(position.y) } });
                    commit = true;
                  }
                  if (dragging) {
                    const { [change.id]: _, ...rest } = dragging;
                    dragging = Object.keys(rest).length ? rest : null;
                  }
                }
              } else if (change.type === "select") {
                selected ??= new Set(state.selection.nodes);
                if (change.selected) selected.add(change.id);
                else selected.delete(change.id);
              } else if (change.type === "remove") {
                removed.push(change.id);
              } else if (change.type === "dimensions" && change.dimensions) {
                measured ??= { ...state.measured };
                measured[change.id] = { width: change.dimensions.width, height: change.dimensions.height };
              }
            }
            if (removed.length) {
              document = removeElements(document, removed);
              commit = true;
            }
            const patch: Partial<EditorState> = {};
            if (selected) patch.selection = { ...state.selection, nodes: [...selected].filter((id) => !removed.includes(id)) };
            if (measured) patch.measured = measured;
            if (commit) patch.document = document;
            // The drop: the document takes the positions first, so no frame shows the node back where it started.
            if (Object.keys(patch).length) set(patch);
            if (dragging !== before) state.drag.setState({ positions: dragging });
          },

          onEdgesChange(changes) {
            const state = get();
            let selected: Set<string> | null = null;
            const removed: string[] = [];
            for (const change of changes) {
              if (change.type === "select") {
                selected ??= new Set(state.selection.edges);
                if (change.selected) selected.add(change.id);
                else selected.delete(change.id);
              } else if (change.type === "remove") removed.push(change.id);
            }
            const patch: Partial<EditorState> = {};
            if (selected) patch.selection = { ...state.selection, edges: [...selected] };
            if (removed.length) patch.document = removeElements(state.document, [], removed);
            set(patch);
          },

          connect(connection) {
            const result = connect(get().document, connection);
            if (!result.ok) {
              get().notify("error", result.reason);
              return false;
            }
            setDocument(result.document);
            return true;
          },

          addNode(kind, placement) {
            const document = get().document;
            if (kind === "input" && document.nodes.some((n) => n.kind === "input")) {
              get().notify("error", "A workflow has exactly one input node.");
              return null;
            }
            const position = placement.position ?? freePosition(document, placement.center ?? { x: 0, y: 0 });
            const node = createNode(document, kind, position);
            setDocument(addNode(document, node), { selection: { nodes: [node.id], edges: [] } });
            return node.id;
          },

          updateNode(id, patch) {
            asTyping(`node:${id}`, () => setDocument(dropDanglingEdges(updateNode(get().document, id, patch))));
          },

          pinNode(id, pin) {
            const document = get().document;
            const nodes = document.nodes.map((node) => {
              if (node.id !== id) return node;
              const { pinned: _, ...rest } = node;
              return (pin ? { ...rest, pinned: pin } : rest) as WorkflowNode;
            });
            setDocument({ ...document, nodes });
          },

          updateWorkflow(patch) {
            asTyping(`workflow:${Object.keys(patch).sort().join(",")}`, () => setDocument({ ...get().document, ...patch }));
          },

          select(nodes, edges = []) {
            set({ selection: { nodes, edges } });
          },

          removeSelection() {
            const { document, selection } = get();
            if (!selection.nodes.length && !selection.edges.length) return;
            setDocument(removeElements(document, selection.nodes, selection.edges), { selection: { nodes: [], edges: [] } });
          },

          duplicateSelection() {
            const text = get().copySelection();
            if (text) get().paste(text);
          },

          copySelection() {
            const { document, selection } = get();
            return selection.nodes.length ? copyFragment(document, selection.nodes) : null;
          },

          paste(text) {
            const result = pasteFragment(get().document, text);
            if (!result.ok) {
              get().notify("error", result.reason);
              return false;
            }
            setDocument(result.document, { selection: { nodes: result.nodeIds, edges: [] } });
            return true;
          },

          replaceDocument(document) {
            get().drag.setState({ positions: null });
            setDocument(document, { selection: { nodes: [], edges: [] } });
          },

          async layout() {
            const { layoutDocument } = await import("./layout");
            const { document, measured } = get();
            setDocument(layoutDocument(document, new Map(Object.entries(measured))));
          },

          notify(tone, message) {
            set({ notice: { tone, message, id: ++noticeIds } });
          },

          dismissNotice() {
            set({ notice: null });
          },

          markSaved(id, version, document) {
            set({ saved: { id, version, document } });
          },

          beginRun(runId, clientStart, model) {
            const run = startRunState(runId, get().document.nodes.filter((n) => n.kind !== "note").map((n) => n.id), clientStart);
            set({ run: model ? { ...run, model } : run });
          },

          applyRunEvents(events) {
            const run = get().run;
            if (run) set({ run: applyRunEvents(run, events) });
          },

          abandonRun(message) {
            const run = get().run;
            if (run) set({ run: abandonRun(run, message) });
          },

          showRun(run) {
            set({ run });
          },

          clearRun() {
            set({ run: null });
          },
        };
      },
      {
        // Only the document is history; selection, drags and notices are not undoable.
        partialize: (state) => ({ document: state.document }),
        equality: (a, b) => a.document === b.document,
        // zundo types the recorder as the store's setState; what it passes is its history recorder.
        handleSet: (record) => coalesceTyping(record as unknown as RecordHistory) as unknown as typeof record,
        limit: 200,
      },
    ),
  );
}

export type EditorStore = ReturnType<typeof createEditorStore>;

const issueCache = new WeakMap<WorkflowDocument, ValidationIssue[]>();

/** Every issue of a document (schema, then graph), computed once per document version. */
export function documentIssues(document: WorkflowDocument): ValidationIssue[] {
  let issues = issueCache.get(document);
  if (!issues) {
    const parsed = parseDocument(document);
    issues = parsed.ok ? validateWorkflow(parsed.document) : parsed.issues;
    issueCache.set(document, issues);
  }
  return issues;
}
