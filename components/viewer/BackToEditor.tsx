import Link from "next/link";

/** The way back from a read-only page of the owner's (a version, a run) to the workflow's editor. */
export function BackToEditor({ id }: { id: string }) {
  return (
    <Link href={`/w/${id}`} data-testid="back-to-editor" className="inline-flex h-8 items-center rounded-md px-3 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800">
      Back to the editor
    </Link>
  );
}
