"use client";

import { X } from "lucide-react";
import { useEditor, useEditorStore } from "../EditorProvider";

const TONE: Record<string, string> = {
  running: "text-sky-700 dark:text-sky-300",
  succeeded: "text-emerald-700 dark:text-emerald-300",
  failed: "text-red-600 dark:text-red-400",
  cancelled: "text-zinc-500",
};

/** The latest "Test this node" result on the node's card, apart from any run; dismissible. */
export function NodeTestView({ nodeId }: { nodeId: string }) {
  const test = useEditor((s) => s.nodeTests[nodeId]);
  const store = useEditorStore();
  if (!test) return null;
  return (
    <div className="border-t border-dashed border-zinc-200 px-3 pb-2 pt-1.5 dark:border-zinc-700" data-testid={`node-test-${nodeId}`} data-status={test.status}>
      <div className="mb-1 flex items-center gap-2 text-[11px]">
        <span className={`font-medium ${TONE[test.status] ?? ""}`}>Test · {test.status === "running" ? "running…" : test.status}</span>
        <button
          type="button"
          className="nodrag ml-auto rounded p-0.5 text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 dark:hover:bg-zinc-800"
          aria-label="Dismiss the test result"
          onClick={() => store.getState().setNodeTest(nodeId, null)}
        >
          <X className="h-3 w-3" aria-hidden />
        </button>
      </div>
      {test.text && (
        <p className="nowheel line-clamp-4 whitespace-pre-wrap break-words rounded bg-sky-50/60 px-2 py-1 text-xs text-zinc-800 dark:bg-sky-950/40 dark:text-zinc-200" data-testid={`node-test-output-${nodeId}`}>
          {test.text}
        </p>
      )}
    </div>
  );
}
