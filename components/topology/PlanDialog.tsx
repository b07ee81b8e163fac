"use client";

import { useReactFlow } from "@xyflow/react";
import { Loader2, Sparkles } from "lucide-react";
import { useState, useTransition } from "react";
import { planWorkflowAction } from "@/app/topology/actions";
import { Dialog } from "@/components/editor/dialogs";
import { useEditor, useEditorStore, useModels } from "@/components/editor/EditorProvider";
import type { PlannedWorkflow } from "@/app/topology/actions";
import { TopologyBadge } from "./TopologyBadge";

/** One task per topology the demo planner produces, so every shape can be tried without keys. */
const EXAMPLES = [
  "Outline a blog post about remote work, then draft it, then edit it for clarity",
  "Write a haiku, a limerick and a short story about autumn",
  "Research each of these cities: Paris, Rome, Berlin, Vienna and a comparison",
  "Compare Python, Go and Rust for a CLI tool: performance, ecosystem, learning curve and a recommendation",
];

/**
 * "New from a task": describe a task, a planning model splits it into subtasks, Trellis routes
 * them to a topology and shows the plan with its explanation; opening it replaces the canvas in
 * one undoable step.
 */
export function PlanDialog({ onClose }: { onClose: () => void }) {
  const store = useEditorStore();
  const flow = useReactFlow();
  const models = useModels();
  const hasNodes = useEditor((s) => s.document.nodes.length > 0);
  const [task, setTask] = useState("");
  const [model, setModel] = useState(() => store.getState().document.settings?.defaultModel ?? models[0]?.id ?? "demo:default");
  const [plan, setPlan] = useState<PlannedWorkflow | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();

  const submit = () => {
    setError(null);
    setPlan(null);
    startTransition(async () => {
      const result = await planWorkflowAction({ task, model });
      if (result.ok) setPlan(result.data);
      else setError(result.error.message.charAt(0).toUpperCase() + result.error.message.slice(1));
    });
  };

  const open = () => {
    if (!plan) return;
    store.getState().replaceDocument(plan.document);
    store.getState().notify("info", `${plan.explanation}. Undo restores the previous canvas.`);
    onClose();
    requestAnimationFrame(() => flow.fitView({ padding: 0.1, maxZoom: 1, duration: 200 }));
  };

  const titleOf = (id: string) => plan?.subtasks.find((s) => s.id === id)?.title ?? id;

  return (
    <Dialog title="New from a task" onClose={onClose} testId="plan-dialog" wide>
      <p className="mb-3 text-xs leading-relaxed text-zinc-600 dark:text-zinc-400">
        Describe the task. A planning model splits it into subtasks and says which need which; Trellis picks the topology that fits — sequential, parallel,
        hierarchical or hybrid — and builds the workflow.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (task.trim().length >= 3 && !pending) submit();
        }}
      >
        <textarea
          data-testid="plan-task"
          aria-label="Task"
          value={task}
          onChange={(event) => setTask(event.target.value)}
          onKeyDown={(event) => {
            if ((event.metaKey || event.ctrlKey) && event.key === "Enter") event.currentTarget.form?.requestSubmit();
          }}
          rows={3}
          maxLength={4000}
          autoFocus
          placeholder="e.g. Plan a product launch: positioning, pricing, a launch checklist and a recommendation"
          className="w-full resize-y rounded-md border border-zinc-300 bg-white px-3 py-2 text-sm focus:border-sky-500 focus:outline-none dark:border-zinc-700 dark:bg-zinc-950"
        />
        <div className="mt-2 flex flex-wrap gap-1.5" aria-label="Examples">
          {EXAMPLES.map((example, i) => (
            <button
              key={example}
              type="button"
              data-testid={`plan-example-${i}`}
              onClick={() => setTask(example)}
              title={example}
              className="max-w-[290px] truncate rounded-full border border-zinc-200 px-2.5 py-0.5 text-[11px] text-zinc-600 hover:border-sky-400 hover:text-sky-700 dark:border-zinc-700 dark:text-zinc-400"
            >
              {example}
            </button>
          ))}
        </div>
        <div className="mt-3 flex items-center gap-2">
          <label className="flex items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
            Model
            <select
              value={model}
              onChange={(event) => setModel(event.target.value)}
              data-testid="plan-model"
              className="h-8 rounded-md border border-zinc-300 bg-white px-2 text-xs dark:border-zinc-700 dark:bg-zinc-950"
            >
              {models.filter((option) => !option.embedding).map((option) => (
                <option key={option.id} value={option.id}>
                  {option.id}
                  {option.demo ? " (offline demo)" : ""}
                </option>
              ))}
            </select>
          </label>
          <div className="flex-1" />
          <button
            type="submit"
            data-testid="plan-submit"
            disabled={task.trim().length < 3 || pending}
            className="inline-flex h-8 items-center gap-1.5 rounded-md bg-sky-600 px-3 text-sm font-medium text-white hover:bg-sky-700 disabled:opacity-50"
          >
            {pending ? <Loader2 className="h-4 w-4 animate-spin" aria-hidden /> : <Sparkles className="h-4 w-4" aria-hidden />}
            {pending ? "Planning…" : plan ? "Plan again" : "Plan"}
          </button>
        </div>
      </form>
      {error && (
        <p role="alert" data-testid="plan-error" className="mt-3 rounded-md bg-red-50 px-3 py-2 text-xs text-red-700 dark:bg-red-950 dark:text-red-300">
          {error}
        </p>
      )}
      {plan && (
        <section data-testid="plan-result" className="mt-4 border-t border-zinc-200 pt-3 dark:border-zinc-800">
          <div className="flex items-start gap-2">
            <TopologyBadge topology={plan.topology} />
            <p data-testid="plan-explanation" className="text-sm font-medium leading-snug">
              {plan.explanation}
            </p>
          </div>
          <ol className="mt-3 space-y-1 text-xs" data-testid="plan-subtasks">
            {plan.subtasks.map((subtask, i) => (
              <li key={subtask.id} className="flex gap-2">
                <span className="w-4 shrink-0 text-right tabular-nums text-zinc-400">{i + 1}.</span>
                <span className="min-w-0">
                  <span className="font-medium">{subtask.title}</span>
                  <span className="text-zinc-500">{subtask.dependsOn.length ? ` — after ${subtask.dependsOn.map(titleOf).join(", ")}` : " — needs nothing else"}</span>
                </span>
              </li>
            ))}
          </ol>
          {plan.repairs.length > 0 && (
            <div data-testid="plan-repairs" className="mt-3 rounded-md bg-amber-50 px-3 py-2 text-xs text-amber-900 dark:bg-amber-950 dark:text-amber-100">
              <p className="font-medium">Repaired from the planner&apos;s answer</p>
              <ul className="mt-1 list-disc pl-4">
                {plan.repairs.map((repair) => (
                  <li key={repair}>{repair}</li>
                ))}
              </ul>
            </div>
          )}
          <div className="mt-4 flex items-center justify-end gap-2">
            {hasNodes && <span className="mr-auto text-[11px] text-zinc-500">Replaces the canvas; Undo brings it back.</span>}
            <button type="button" onClick={onClose} className="h-8 rounded-md px-3 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800">
              Cancel
            </button>
            <button type="button" data-testid="plan-apply" onClick={open} className="h-8 rounded-md bg-sky-600 px-3 text-sm font-medium text-white hover:bg-sky-700">
              Open on the canvas
            </button>
          </div>
        </section>
      )}
    </Dialog>
  );
}
