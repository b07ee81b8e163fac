import { GitBranch, GitMerge, Network, Workflow } from "lucide-react";
import type { Topology } from "@/lib/workflow";

const STYLE: Record<Topology, { className: string; Icon: typeof Workflow }> = {
  sequential: { className: "bg-amber-50 text-amber-800 dark:bg-amber-950 dark:text-amber-200", Icon: Workflow },
  parallel: { className: "bg-sky-50 text-sky-800 dark:bg-sky-950 dark:text-sky-200", Icon: GitBranch },
  hierarchical: { className: "bg-pink-50 text-pink-800 dark:bg-pink-950 dark:text-pink-200", Icon: Network },
  hybrid: { className: "bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200", Icon: GitMerge },
};

export function TopologyBadge({ topology }: { topology: Topology }) {
  const { className, Icon } = STYLE[topology];
  return (
    <span data-testid="topology-badge" className={`inline-flex shrink-0 items-center gap-1 rounded-full px-2 py-0.5 text-[11px] font-medium ${className}`}>
      <Icon className="h-3 w-3" aria-hidden />
      {topology}
    </span>
  );
}
