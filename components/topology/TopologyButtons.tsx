"use client";

import { Lightbulb, Sparkles } from "lucide-react";

const BUTTON =
  "inline-flex h-8 items-center gap-1.5 whitespace-nowrap rounded-md px-2 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800";

/** The toolbar's entries for issue 14: plan a workflow from a task, and the Advice panel. */
export function TopologyButtons({ onPlan, adviceOpen, onToggleAdvice }: { onPlan: () => void; adviceOpen: boolean; onToggleAdvice: () => void }) {
  return (
    <>
      <button type="button" onClick={onPlan} aria-label="New from a task" data-testid="plan-from-task" title="New from a task: plan a workflow from a description" className={BUTTON}>
        <Sparkles className="h-4 w-4" aria-hidden />
        <span className="hidden 2xl:inline">From a task</span>
      </button>
      <button
        type="button"
        onClick={onToggleAdvice}
        aria-pressed={adviceOpen}
        aria-label="Advice"
        data-testid="advice-toggle"
        title="Advice on this workflow's shape"
        className={`${BUTTON} ${adviceOpen ? "bg-amber-50 text-amber-800 dark:bg-amber-950 dark:text-amber-200" : ""}`}
      >
        <Lightbulb className="h-4 w-4" aria-hidden />
        <span className="hidden 2xl:inline">Advice</span>
      </button>
    </>
  );
}
