import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
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
          <Link href={`/w/${id}`} data-testid="back-to-editor" className="inline-flex h-8 items-center rounded-md px-3 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800">
            Back to the editor
          </Link>
        </>
      }
    />
  );
}
