import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ReadOnlyView } from "@/components/viewer/ReadOnlyView";
import { modelOptions } from "@/lib/server/models";
import { sharedRunView } from "@/lib/server/sharing";

export const metadata: Metadata = { title: "Shared run — Trellis", robots: { index: false } };
export const dynamic = "force-dynamic";

/** A run link: the run replayed on the canvas of the document it ran. */
export default async function SharedRunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const view = await sharedRunView(id);
  if (!view) notFound();
  const started = view.run.startedAt.slice(0, 16).replace("T", " ");
  return <ReadOnlyView document={view.document} models={modelOptions()} badge={`Run of ${started} UTC`} run={view.run} fork={{ from: "run", id }} />;
}
