import {
  ArrowRightFromLine,
  ArrowRightToLine,
  Combine,
  FileText,
  GitFork,
  Layers,
  ListChecks,
  Network,
  type LucideIcon,
  Shuffle,
  Sparkles,
  StickyNote,
} from "lucide-react";
import type { NodeKind } from "@/lib/workflow";

/** How each kind looks: the compiler asks for every kind here (Record<NodeKind, …>). */
export type KindUi = { icon: LucideIcon; pattern: Pattern; blurb: string };
export type Pattern = "chain" | "parallel" | "route" | "orchestrate" | "evaluate" | "io" | "note";

export const KIND_UI: Record<NodeKind, KindUi> = {
  input: { icon: ArrowRightToLine, pattern: "io", blurb: "Where a run starts; exposes the workflow inputs." },
  llm: { icon: Sparkles, pattern: "chain", blurb: "Calls a model with a prompt and streams the answer." },
  gate: { icon: GitFork, pattern: "chain", blurb: "Checks a condition and continues on pass or fail." },
  aggregate: { icon: Combine, pattern: "parallel", blurb: "Waits for parallel branches and combines them." },
  router: { icon: Shuffle, pattern: "route", blurb: "Classifies the input and takes exactly one route." },
  orchestrator: { icon: Network, pattern: "orchestrate", blurb: "Plans a list of subtasks with a model." },
  worker: { icon: Layers, pattern: "orchestrate", blurb: "Runs its prompt once per planned item, concurrently." },
  synthesizer: { icon: FileText, pattern: "orchestrate", blurb: "Joins the workers' results into one text." },
  evaluator: { icon: ListChecks, pattern: "evaluate", blurb: "Grades a result and loops back until it passes." },
  output: { icon: ArrowRightFromLine, pattern: "io", blurb: "Marks the keys shown as the run's result." },
  note: { icon: StickyNote, pattern: "note", blurb: "A sticky note; never runs." },
};

/** Tailwind classes per pattern: accent bar, icon tint, palette chip. */
export const PATTERN_STYLE: Record<Pattern, { accent: string; tint: string; chip: string; label: string }> = {
  chain: { accent: "bg-sky-500", tint: "text-sky-600 dark:text-sky-400", chip: "bg-sky-50 dark:bg-sky-950/50", label: "Chain" },
  parallel: { accent: "bg-violet-500", tint: "text-violet-600 dark:text-violet-400", chip: "bg-violet-50 dark:bg-violet-950/50", label: "Parallel" },
  route: { accent: "bg-amber-500", tint: "text-amber-600 dark:text-amber-400", chip: "bg-amber-50 dark:bg-amber-950/50", label: "Route" },
  orchestrate: { accent: "bg-emerald-500", tint: "text-emerald-600 dark:text-emerald-400", chip: "bg-emerald-50 dark:bg-emerald-950/50", label: "Orchestrate" },
  evaluate: { accent: "bg-rose-500", tint: "text-rose-600 dark:text-rose-400", chip: "bg-rose-50 dark:bg-rose-950/50", label: "Evaluate" },
  io: { accent: "bg-zinc-400", tint: "text-zinc-600 dark:text-zinc-300", chip: "bg-zinc-100 dark:bg-zinc-800/60", label: "Input & output" },
  note: { accent: "bg-yellow-400", tint: "text-yellow-700 dark:text-yellow-300", chip: "bg-yellow-50 dark:bg-yellow-950/40", label: "Note" },
};

export const PALETTE_GROUPS: Array<{ pattern: Pattern; kinds: NodeKind[] }> = [
  { pattern: "chain", kinds: ["llm", "gate"] },
  { pattern: "parallel", kinds: ["aggregate"] },
  { pattern: "route", kinds: ["router"] },
  { pattern: "orchestrate", kinds: ["orchestrator", "worker", "synthesizer"] },
  { pattern: "evaluate", kinds: ["evaluator"] },
  { pattern: "io", kinds: ["input", "output"] },
  { pattern: "note", kinds: ["note"] },
];

export const DRAG_MIME = "application/x-trellis-kind";
