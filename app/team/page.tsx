import { ArrowLeft } from "lucide-react";
import Link from "next/link";
import { notFound } from "next/navigation";
import { TeamPanel } from "@/components/auth/TeamPanel";
import { teamOverview } from "@/lib/server/auth/account";

export const dynamic = "force-dynamic";

/** Invitations and members: admins only (anyone else gets the 404 an unknown page gets). */
export default async function TeamPage() {
  const overview = await teamOverview();
  if (!overview.ok) notFound();
  return (
    <main className="mx-auto max-w-3xl px-6 py-12">
      <Link href="/" className="mb-6 inline-flex items-center gap-1.5 text-sm text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100">
        <ArrowLeft className="h-4 w-4" aria-hidden /> Your workflows
      </Link>
      <h1 className="mb-8 text-2xl font-semibold tracking-tight">Invitations</h1>
      <TeamPanel invites={overview.data.invites} members={overview.data.members} />
    </main>
  );
}
