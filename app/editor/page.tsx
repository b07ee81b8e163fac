import type { Metadata } from "next";
import { Editor } from "@/components/editor/Editor";
import { blankDocument } from "@/lib/editor/graph";
import { modelOptions } from "@/lib/server/models";
import { findTemplate, parseDocument } from "@/lib/workflow";

export const metadata: Metadata = { title: "Editor — Trellis" };
export const dynamic = "force-dynamic";

/** The editor, opened on a template (`?template=routing`), on an empty canvas, or planning from a task (`?from=task`). */
export default async function EditorPage({ searchParams }: { searchParams: Promise<{ template?: string; from?: string }> }) {
  const { template, from } = await searchParams;
  const found = template ? findTemplate(template) : undefined;
  const parsed = found ? parseDocument(found.json) : undefined;
  const initial = parsed?.ok ? parsed.document : blankDocument();
  const models = modelOptions();
  return <Editor initial={initial} models={models} planFirst={from === "task"} />;
}
