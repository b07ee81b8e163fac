import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { Editor } from "@/components/editor/Editor";
import { modelOptions } from "@/lib/server/models";
import { loadWorkflow } from "@/lib/server/workflows";

export const metadata: Metadata = { title: "Editor — Trellis" };
export const dynamic = "force-dynamic";

/** A saved workflow, opened on its latest version. Someone else's id is a 404, like a missing one. */
export default async function SavedWorkflowPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const found = await loadWorkflow(id);
  if (!found) notFound();
  const models = modelOptions();
  return <Editor initial={found.document} saved={{ id, version: found.version }} models={models} />;
}
