"use client";

import { createContext, useContext, useState, type ReactNode } from "react";
import { useStore } from "zustand";
import { useShallow } from "zustand/react/shallow";
import type { WorkflowDocument } from "@/lib/workflow";
import { createEditorStore, type EditorState, type EditorStore } from "@/lib/editor/store";

/** Models the server offers (ids and labels only — never keys or URLs). */
export type ModelOption = { id: string; label: string; demo: boolean };

type EditorContextValue = { store: EditorStore; models: ModelOption[]; readOnly: boolean };
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
  const [value] = useState(() => ({ store: createEditorStore(initial, saved), models, readOnly }));
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
