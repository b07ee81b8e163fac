"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { claimLocalWorkflowsAction, signOutEverywhereAction } from "@/app/account/actions";

const quiet = "rounded-md px-2.5 py-1.5 text-sm font-medium text-zinc-600 hover:bg-zinc-100 disabled:opacity-60 dark:text-zinc-300 dark:hover:bg-zinc-800";

/** Sign out here (Better Auth's endpoint ends this session), or everywhere (every session of the account). */
export function SignOutButtons() {
  const [busy, setBusy] = useState(false);
  const signOut = async () => {
    setBusy(true);
    await fetch("/api/auth/sign-out", { method: "POST", headers: { "content-type": "application/json" }, body: "{}", credentials: "same-origin" });
    window.location.assign("/sign-in");
  };
  const everywhere = async () => {
    setBusy(true);
    await signOutEverywhereAction();
    window.location.assign("/sign-in");
  };
  return (
    <>
      <button type="button" className={quiet} disabled={busy} onClick={() => void everywhere()} data-testid="sign-out-everywhere" title="End every session of this account, on every device">
        Sign out everywhere
      </button>
      <button type="button" className={quiet} disabled={busy} onClick={() => void signOut()} data-testid="sign-out">
        Sign out
      </button>
    </>
  );
}

/** Workflows this browser made before signing in (local mode) can move into the account, once. */
export function ClaimOffer({ count }: { count: number }) {
  const router = useRouter();
  const [state, setState] = useState<"offer" | "busy" | "failed">("offer");
  const claim = async () => {
    setState("busy");
    const result = await claimLocalWorkflowsAction();
    if (!result.ok) return setState("failed");
    router.refresh();
  };
  return (
    <div className="mt-3 flex flex-wrap items-center justify-between gap-3 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950/40 dark:text-amber-200" data-testid="claim-offer">
      <span>
        This browser has {count} workflow{count === 1 ? "" : "s"} made before you signed in. Move {count === 1 ? "it" : "them"} into your account?
        {state === "failed" && <span className="ml-2 font-medium">That did not work; try again.</span>}
      </span>
      <button
        type="button"
        onClick={() => void claim()}
        disabled={state === "busy"}
        className="rounded-md bg-amber-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-amber-700 disabled:opacity-60"
        data-testid="claim"
      >
        Move into my account
      </button>
    </div>
  );
}
