import type { WorkflowDocument } from "@/lib/workflow";
import { backEdgeIds } from "@/lib/editor/graph";

const W = 260;
const H = 90;

/** A small static picture of a workflow's graph, for the template gallery. */
export function TemplatePreview({ document }: { document: WorkflowDocument }) {
  const nodes = document.nodes.filter((n) => n.kind !== "note");
  if (!nodes.length) return null;
  const xs = nodes.map((n) => n.position.x);
  const ys = nodes.map((n) => n.position.y);
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  const width = Math.max(...xs) - minX + W;
  const height = Math.max(...ys) - minY + H + 120;
  const at = new Map(nodes.map((n) => [n.id, { x: n.position.x - minX, y: n.position.y - minY }]));
  const back = backEdgeIds(document);
  return (
    <svg viewBox={`-20 -20 ${width + 40} ${height + 40}`} className="h-28 w-full" role="img" aria-label={`${document.name} graph`}>
      {document.edges.map((edge) => {
        const s = at.get(edge.source);
        const t = at.get(edge.target);
        if (!s || !t) return null;
        const [x1, y1, x2, y2] = [s.x + W, s.y + H / 2, t.x, t.y + H / 2];
        if (back.has(edge.id)) {
          const bottom = Math.max(y1, y2) + 110;
          return <path key={edge.id} d={`M ${x1} ${y1} C ${x1 + 80} ${bottom}, ${x2 - 80} ${bottom}, ${x2} ${y2}`} fill="none" className="stroke-rose-400" strokeWidth={6} strokeDasharray="14 10" />;
        }
        const mid = (x1 + x2) / 2;
        return <path key={edge.id} d={`M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`} fill="none" className="stroke-zinc-300 dark:stroke-zinc-600" strokeWidth={6} />;
      })}
      {nodes.map((node) => {
        const p = at.get(node.id)!;
        return <rect key={node.id} x={p.x} y={p.y} width={W} height={H} rx={14} className="fill-white stroke-zinc-300 dark:fill-zinc-800 dark:stroke-zinc-600" strokeWidth={5} />;
      })}
    </svg>
  );
}
