import Link from "next/link";

/** What a revoked or unknown link opens: a plain page that says so, with a way on. */
export function NotShared({ what }: { what: "workflow" | "run" }) {
  return (
    <main className="mx-auto flex min-h-screen max-w-lg flex-col items-center justify-center px-6 text-center" data-testid="not-shared">
      <h1 className="text-xl font-semibold">This {what} is no longer shared</h1>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">
        Its owner revoked the link, or it never existed. If you expected to see something here, ask them for a new link.
      </p>
      <Link href="/" className="mt-6 rounded-md bg-sky-600 px-4 py-2 text-sm font-medium text-white hover:bg-sky-700">
        Go to Trellis
      </Link>
    </main>
  );
}
