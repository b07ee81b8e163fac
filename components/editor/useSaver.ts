"use client";

import { useRouter } from "next/navigation";
import { useCallback } from "react";
import { loadWorkflowAction, saveWorkflowAction } from "@/app/editor/actions";
import { SaveQueue } from "@/lib/editor/save-queue";
import type { EditorStore } from "@/lib/editor/store";
import { parseDocument } from "@/lib/workflow";
import { handOver, useEditorStore } from "./EditorProvider";

// One queue per editor store: the store moves to the workflow's page after a first save, and its
// saves stay in one line across that move.
const queues = new WeakMap<EditorStore, SaveQueue>();
const queueOf = (store: EditorStore) => {
  let queue = queues.get(store);
  if (!queue) queues.set(store, (queue = new SaveQueue()));
  return queue;
};

export type Saver = {
  save(resolve?: "mine" | "copy"): Promise<"saved" | "conflict" | "failed">;
  reloadTheirs(): Promise<void>;
};

/**
 * Saving creates a new version; saving on top of a stale version comes back as a conflict to
 * resolve. Saves run one at a time: a second Ctrl+S while the first is in flight waits for it and
 * then saves only what changed since (a first save's second press creates no second workflow),
 * and a new workflow keeps its client-chosen id across retries.
 */
export function useSaver(): Saver {
  const store = useEditorStore();
  const router = useRouter();

  const save = useCallback(
    (resolve?: "mine" | "copy") => {
      const queue = queueOf(store);
      return queue.run(async (): Promise<"saved" | "conflict" | "failed"> => {
        const { document, saved } = store.getState();
        // Nothing changed since the last save (a second quick press, whether it waited for the first
        // save or came after it): no new version.
        if (!resolve && saved?.document === document) return "saved";
        const creating = !saved || resolve === "copy";
        const result = await saveWorkflowAction({ id: saved?.id, baseVersion: saved?.version, document, resolve, newId: creating ? queue.idForNew() : undefined }).catch(() => ({
          ok: false as const,
          error: { code: "connection", message: "the connection to the server was lost; your draft is kept", issues: undefined },
        }));
        if (!result.ok) {
          if (result.error.code === "conflict") return "conflict";
          store.getState().notify("error", `Not saved: ${result.error.message}${result.error.issues?.length ? ` (${result.error.issues[0].message})` : ""}.`);
          return "failed";
        }
        if (creating) queue.created();
        store.getState().markSaved(result.data.id, result.data.version, document);
        // A new workflow (or a copy) gets its own address; its page opens the version just stored.
        if (saved?.id !== result.data.id) {
          // A copy is stored under another name: its page opens it as the server has it.
          if (resolve !== "copy") handOver(result.data.id, store);
          router.replace(`/w/${result.data.id}`);
        }
        store.getState().notify("info", `Saved version ${result.data.version}.`);
        return "saved";
      });
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
