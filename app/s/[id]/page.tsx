import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ReadOnlyView } from "@/components/viewer/ReadOnlyView";
import { modelOptions } from "@/lib/server/models";
import { sharedView } from "@/lib/server/sharing";

export const metadata: Metadata = { title: "Shared workflow — Trellis", robots: { index: false } };
export const dynamic = "force-dynamic";

/** A share link: the saved version read-only, with its latest run replayed; fork, export, and run when allowed. */
export default async function SharedPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const view = await sharedView(id);
  // Revoked, deleted with its workflow, or never existed: ./not-found.tsx says so, with a 404.
  if (view.status !== "ok") notFound();
  return (
    <ReadOnlyView
      document={view.document}
      models={modelOptions()}
      badge={`Shared · v${view.version}`}
      run={view.run}
      noRun="This version has not been run yet."
      fork={{ from: "link", id }}
      runLink={view.allowRun ? id : undefined}
    />
  );
}
