"use client";

import { useRouter } from "next/navigation";
import { useCallback } from "react";
import { loadWorkflowAction, saveWorkflowAction } from "@/app/editor/actions";
import { parseDocument } from "@/lib/workflow";
import { handOver, useEditorStore } from "./EditorProvider";

export type Saver = {
  save(resolve?: "mine" | "copy"): Promise<"saved" | "conflict" | "failed">;
  reloadTheirs(): Promise<void>;
};

/** Saving creates a new version; saving on top of a stale version comes back as a conflict to resolve. */
export function useSaver(): Saver {
  const store = useEditorStore();
  const router = useRouter();

  const save = useCallback(
    async (resolve?: "mine" | "copy") => {
      const { document, saved } = store.getState();
      const result = await saveWorkflowAction({ id: saved?.id, baseVersion: saved?.version, document, resolve });
      if (!result.ok) {
        if (result.error.code === "conflict") return "conflict";
        store.getState().notify("error", `Not saved: ${result.error.message}${result.error.issues?.length ? ` (${result.error.issues[0].message})` : ""}.`);
        return "failed";
      }
      store.getState().markSaved(result.data.id, result.data.version, document);
      // A new workflow (or a copy) gets its own address; its page opens the version just stored.
      if (saved?.id !== result.data.id) {
        // A copy is stored under another name: its page opens it as the server has it.
        if (resolve !== "copy") handOver(result.data.id, store);
        router.replace(`/w/${result.data.id}`);
      }
      store.getState().notify("info", `Saved version ${result.data.version}.`);
      return "saved";
    },
    [store, router],
  );

  const reloadTheirs = useCallback(async () => {
    const saved = store.getState().saved;
    if (!saved) return;
    const result = await loadWorkflowAction(saved.id);
    const parsed = result.ok ? parseDocument(result.data.document) : null;
    if (!result.ok || !parsed?.ok) {
      store.getState().notify("error", "Could not load the latest version.");
      return;
    }
    store.getState().replaceDocument(parsed.document);
    store.getState().markSaved(saved.id, result.data.version, parsed.document);
  }, [store]);

  return { save, reloadTheirs };
}
