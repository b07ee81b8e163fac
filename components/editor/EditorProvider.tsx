"use client";

import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { useStore } from "zustand";
import { useShallow } from "zustand/react/shallow";
import type { WorkflowDocument } from "@/lib/workflow";
import { createEditorStore, type EditorState, type EditorStore } from "@/lib/editor/store";

/** Models the server offers (ids and labels only — never keys or URLs). */
export type ModelOption = { id: string; label: string; demo: boolean; /** An embedding model (similarity), not a language model. */ embedding?: true };

type EditorContextValue = { store: EditorStore; models: ModelOption[]; readOnly: boolean };

/**
 * A new workflow's first save moves the editor to `/w/<id>`, a new page. The store is handed over
 * to it, so nothing typed in that instant, no undo step and no run in progress is lost or reset.
 */
const handoffs = new Map<string, EditorStore>();

export function handOver(id: string, store: EditorStore) {
  handoffs.set(id, store);
}

function handedOver(saved: { id: string; version: number } | undefined): EditorStore | undefined {
  const store = saved && handoffs.get(saved.id);
  // Only the editor that made this very version: a later visit opens what the server has.
  return store && store.getState().saved?.version === saved.version ? store : undefined;
}
const EditorContext = createContext<EditorContextValue | null>(null);

/** One store per editor page, created when the page mounts. */
export function EditorProvider({
  initial,
  saved,
  models,
  readOnly = false,
  children,
}: {
  initial: WorkflowDocument;
  saved?: { id: string; version: number };
  models: ModelOption[];
  /** A shared view, a recorded run or an old version: everything can be looked at, nothing changed. */
  readOnly?: boolean;
  children: ReactNode;
}) {
  const [value] = useState(() => ({ store: (!readOnly && handedOver(saved)) || createEditorStore(initial, saved), models, readOnly }));
  useEffect(() => {
    if (saved) handoffs.delete(saved.id);
  }, [saved]);
  return <EditorContext.Provider value={value}>{children}</EditorContext.Provider>;
}

function useContextValue(): EditorContextValue {
  const value = useContext(EditorContext);
  if (!value) throw new Error("useEditor must be used inside <EditorProvider>");
  return value;
}

/** Reads a slice of editor state; pass module-level (or memoised) selectors. */
export function useEditor<T>(selector: (state: EditorState) => T): T {
  return useStore(useContextValue().store, selector);
}

export function useEditorStore(): EditorStore {
  return useContextValue().store;
}

export function useReadOnly(): boolean {
  return useContextValue().readOnly;
}

export function useModels(): ModelOption[] {
  return useContextValue().models;
}

export function useHistory() {
  const store = useEditorStore();
  return useStore(
    store.temporal,
    useShallow((t) => ({ canUndo: t.pastStates.length > 0, canRedo: t.futureStates.length > 0, undo: t.undo, redo: t.redo })),
  );
}
