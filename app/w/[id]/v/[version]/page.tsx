import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { BackToEditor } from "@/components/viewer/BackToEditor";
import { ReadOnlyView } from "@/components/viewer/ReadOnlyView";
import { RestoreVersionButton } from "@/components/viewer/RestoreVersionButton";
import { modelOptions } from "@/lib/server/models";
import { replayRecord } from "@/lib/server/sharing";
import { versionRun, workflowVersion } from "@/lib/server/workflows";

export const metadata: Metadata = { title: "Version — Trellis" };
export const dynamic = "force-dynamic";

/** One stored version of the owner's workflow, open read-only in the full editor view. */
export default async function VersionPage({ params }: { params: Promise<{ id: string; version: string }> }) {
  const { id, version } = await params;
  const found = await workflowVersion(id, Number(version));
  if (!found) notFound();
  const run = await versionRun(id, found.version);
  const latest = found.version === found.latestVersion;
  return (
    <ReadOnlyView
      document={found.document}
      models={modelOptions()}
      badge={`Version ${found.version} of ${found.latestVersion}`}
      run={run && replayRecord(run)}
      noRun="This version has not been run."
      actions={
        <>
          {!latest && <RestoreVersionButton id={id} latestVersion={found.latestVersion} document={found.document} />}
          <BackToEditor id={id} />
        </>
      }
    />
  );
}
