"use client";

import dynamic from "next/dynamic";
import { useState } from "react";
import { useEditor } from "../EditorProvider";

// The comparison (and its line diff) loads when first opened, not with the editor.
const CompareRunsDialog = dynamic(() => import("./CompareRuns").then((m) => m.CompareRunsDialog), { ssr: false });

/** Opens Compare runs for a saved workflow (its runs are the ones recorded with it). */
export function CompareRunsButton() {
  const saved = useEditor((s) => s.saved !== null);
  const [open, setOpen] = useState(false);
  if (!saved) return null;
  return (
    <>
      <button type="button" data-testid="compare-runs" onClick={() => setOpen(true)} className="inline-flex items-center gap-1 rounded px-2 py-0.5 text-sky-700 hover:bg-sky-50 dark:text-sky-300 dark:hover:bg-sky-950">
        ⇄ Compare runs
      </button>
      {open && <CompareRunsDialog onClose={() => setOpen(false)} />}
    </>
  );
}
