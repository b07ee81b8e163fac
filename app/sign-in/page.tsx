import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { AuthCard } from "@/components/auth/AuthCard";
import { AuthForm } from "@/components/auth/AuthForm";
import { signInProviders } from "@/lib/server/auth/auth";
import { currentAccount, isTeamMode } from "@/lib/server/identity";

export const dynamic = "force-dynamic";

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  if (!isTeamMode()) notFound();
  if (await currentAccount()) redirect("/");
  const { next } = await searchParams;
  return (
    <AuthCard
      title="Sign in"
      subtitle="This Trellis is shared by a team: sign in to build and run workflows."
      footer={
        <>
          Have an invitation? Open its link, or{" "}
          <Link href="/sign-up" className="font-medium text-sky-700 hover:underline dark:text-sky-400">
            create an account
          </Link>{" "}
          with an allowed e-mail address.
        </>
      }
    >
      <AuthForm mode="sign-in" providers={signInProviders()} next={typeof next === "string" ? next : undefined} />
    </AuthCard>
  );
}
