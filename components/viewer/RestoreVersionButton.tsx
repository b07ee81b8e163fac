"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { saveWorkflowAction } from "@/app/editor/actions";
import type { WorkflowDocument } from "@/lib/workflow";

/** Restores an old version by saving it as the new latest one (the history keeps everything). */
export function RestoreVersionButton({ id, latestVersion, document }: { id: string; latestVersion: number; document: WorkflowDocument }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      {error && <span className="text-xs text-red-600">{error}</span>}
      <button
        type="button"
        data-testid="restore-version"
        onClick={async () => {
          const result = await saveWorkflowAction({ id, baseVersion: latestVersion, document });
          if (result.ok) router.push(`/w/${id}`);
          else setError(result.error.code === "conflict" ? "A newer version was saved meanwhile; reload to see it." : `Not restored: ${result.error.message}.`);
        }}
        className="inline-flex h-8 items-center rounded-md bg-sky-600 px-3 text-sm font-medium text-white hover:bg-sky-700"
      >
        Restore as the latest version
      </button>
    </>
  );
}
