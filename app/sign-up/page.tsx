import Link from "next/link";
import { notFound, redirect } from "next/navigation";
import { AuthCard } from "@/components/auth/AuthCard";
import { AuthForm } from "@/components/auth/AuthForm";
import { signInProviders } from "@/lib/server/auth/auth";
import { currentAccount, isTeamMode } from "@/lib/server/identity";

export const dynamic = "force-dynamic";

export default async function SignUpPage({ searchParams }: { searchParams: Promise<{ invite?: string }> }) {
  if (!isTeamMode()) notFound();
  if (await currentAccount()) redirect("/");
  const { invite } = await searchParams;
  const token = typeof invite === "string" && /^[A-Za-z0-9_-]{16,100}$/.test(invite) ? invite : undefined;
  return (
    <AuthCard
      title={token ? "Accept your invitation" : "Create an account"}
      subtitle={token ? "Choose how you will sign in to this Trellis." : "Sign-up is by invitation, or for addresses at the domains the operator allows."}
      footer={
        <>
          Already have an account?{" "}
          <Link href="/sign-in" className="font-medium text-sky-700 hover:underline dark:text-sky-400">
            Sign in
          </Link>
        </>
      }
    >
      <AuthForm mode="sign-up" providers={token ? [] : signInProviders()} invite={token} />
    </AuthCard>
  );
}
