import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { ShareRunButton } from "@/components/editor/SharingDialogs";
import { BackToEditor } from "@/components/viewer/BackToEditor";
import { RecordedRunFrom } from "@/components/editor/run/RunFrom";
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
    // Run from here on a node of this run continues in the editor.
    <RecordedRunFrom workflowId={id} runId={run.id}>
    <ReadOnlyView
      document={record.document}
      models={modelOptions()}
      badge={`Run of ${what} · ${run.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`}
      run={replayRecord(record)}
      actions={
        <>
          {run.status !== "running" && <ShareRunButton runId={run.id} inHeader />}
          <BackToEditor id={id} />
        </>
      }
    />
    </RecordedRunFrom>
  );
}
