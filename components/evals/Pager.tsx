"use client";

import { ChevronLeft, ChevronRight } from "lucide-react";
import { useState } from "react";

/** Long tables (up to 10,000 rows) show one page at a time, so the page stays quick. */
export function usePage<T>(items: ReadonlyArray<T>, size = 100) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(page, pages - 1);
  return { offset: current * size, items: items.slice(current * size, (current + 1) * size), page: current, pages, setPage, total: items.length, size };
}

export function PageControls({ pager }: { pager: { page: number; pages: number; setPage: (page: number) => void; total: number; size: number; offset: number } }) {
  if (pager.pages <= 1) return null;
  const last = Math.min(pager.total, pager.offset + pager.size);
  return (
    <div className="flex items-center justify-end gap-2 text-xs text-zinc-600 dark:text-zinc-400" data-testid="pager">
      <span className="tabular-nums">
        rows {pager.offset + 1}–{last} of {pager.total.toLocaleString("en")}
      </span>
      <button type="button" disabled={pager.page === 0} onClick={() => pager.setPage(pager.page - 1)} className="rounded border border-zinc-300 p-1 hover:bg-zinc-50 disabled:opacity-40 dark:border-zinc-700 dark:hover:bg-zinc-800" aria-label="Previous page">
        <ChevronLeft className="h-3.5 w-3.5" />
      </button>
      <button type="button" disabled={pager.page >= pager.pages - 1} onClick={() => pager.setPage(pager.page + 1)} className="rounded border border-zinc-300 p-1 hover:bg-zinc-50 disabled:opacity-40 dark:border-zinc-700 dark:hover:bg-zinc-800" aria-label="Next page" data-testid="pager-next">
        <ChevronRight className="h-3.5 w-3.5" />
      </button>
    </div>
  );
}
