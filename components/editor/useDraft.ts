"use client";

import { useEffect, useState } from "react";
import { parseDocument, type WorkflowDocument } from "@/lib/workflow";
import { useEditorStore } from "./EditorProvider";

type Draft = { document: WorkflowDocument; at: string };

const draftKey = (savedId: string | undefined) => `trellis:draft:${savedId ?? "new"}`;

/**
 * The unsaved local draft (per workflow, in this browser): written shortly after every change,
 * cleared on save, offered back after a crash, a reload or a closed tab. Leaving with unsaved
 * changes asks first.
 */
export function useDraft() {
  const store = useEditorStore();
  const [offer, setOffer] = useState<Draft | null>(null);

  useEffect(() => {
    const key = draftKey(store.getState().saved?.id);
    try {
      const raw = localStorage.getItem(key);
      const stored = raw ? (JSON.parse(raw) as { document: unknown; at: string }) : null;
      const parsed = stored ? parseDocument(stored.document) : null;
      // eslint-disable-next-line react-hooks/set-state-in-effect -- localStorage exists only in the browser, so the draft is read once, after hydration
      if (stored && parsed?.ok && JSON.stringify(parsed.document) !== JSON.stringify(store.getState().document)) setOffer({ document: parsed.document, at: stored.at });
    } catch {
      localStorage.removeItem(key);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    let pending = false;
    const write = () => {
      clearTimeout(timer);
      if (!pending) return;
      pending = false;
      const { document, saved } = store.getState();
      // A new workflow's first save moves its draft under its id.
      if (saved) localStorage.removeItem(draftKey(undefined));
      if (saved && saved.document === document) localStorage.removeItem(draftKey(saved.id));
      else localStorage.setItem(draftKey(saved?.id), JSON.stringify({ document, at: new Date().toISOString() }));
    };
    const unsubscribe = store.subscribe((state, previous) => {
      if (state.document === previous.document && state.saved === previous.saved) return;
      pending = true;
      clearTimeout(timer);
      timer = setTimeout(write, 300);
    });
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      // Whatever happens next (stay, leave, crash), the draft is on disk first.
      write();
      const { document, saved } = store.getState();
      if (saved?.document === document) return;
      if (!saved && !localStorage.getItem(draftKey(undefined))) return;
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    window.addEventListener("pagehide", write);
    return () => {
      write();
      window.removeEventListener("pagehide", write);
      unsubscribe();
      window.removeEventListener("beforeunload", onBeforeUnload);
    };
  }, [store]);

  return {
    offer,
    restore() {
      if (offer) store.getState().replaceDocument(offer.document);
      setOffer(null);
    },
    discard() {
      localStorage.removeItem(draftKey(store.getState().saved?.id));
      setOffer(null);
    },
  };
}
