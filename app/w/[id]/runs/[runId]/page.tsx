import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ShareRunButton } from "@/components/editor/SharingDialogs";
import { ReadOnlyView } from "@/components/viewer/ReadOnlyView";
import { modelOptions } from "@/lib/server/models";
import { replayRecord } from "@/lib/server/sharing";
import { runRecord } from "@/lib/server/workflows";

export const metadata: Metadata = { title: "Run — Trellis" };
export const dynamic = "force-dynamic";

/** One of the owner's recorded runs, replayed on the canvas of the document that ran. */
export default async function RunPage({ params }: { params: Promise<{ id: string; runId: string }> }) {
  const { id, runId } = await params;
  const record = await runRecord(runId);
  if (!record || record.run.workflowId !== id) notFound();
  const { run } = record;
  const what = run.version ? `v${run.version}${run.edited ? " + unsaved edits" : ""}` : "unsaved";
  return (
    <ReadOnlyView
      document={record.document}
      models={modelOptions()}
      badge={`Run of ${what} · ${run.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`}
      run={replayRecord(record)}
      actions={
        <>
          {run.status !== "running" && <ShareRunButton runId={run.id} inHeader />}
          <Link href={`/w/${id}`} data-testid="back-to-editor" className="inline-flex h-8 items-center rounded-md px-3 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800">
            Back to the editor
          </Link>
        </>
      }
    />
  );
}
