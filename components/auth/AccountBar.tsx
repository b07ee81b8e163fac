import Link from "next/link";
import type { AccountSummary } from "@/app/account/actions";
import { ClaimOffer, SignOutButtons } from "./AccountControls";

const tokens = (n: number) => n.toLocaleString("en");

function Meter({ label, used, budget, testId }: { label: string; used: number; budget: number; testId: string }) {
  const share = budget > 0 ? Math.min(1, used / budget) : 0;
  return (
    <div className="min-w-0" data-testid={testId}>
      <div className="flex items-baseline justify-between gap-3 whitespace-nowrap text-xs">
        <span className="truncate text-zinc-500">{label}</span>
        <span className="tabular-nums text-zinc-700 dark:text-zinc-300">
          {tokens(used)}
          {budget > 0 && <span className="text-zinc-400"> / {tokens(budget)}</span>}
        </span>
      </div>
      {budget > 0 && (
        <div className="mt-1 h-1.5 overflow-hidden rounded-full bg-zinc-100 dark:bg-zinc-800">
          <div className={`h-full rounded-full ${share > 0.9 ? "bg-red-500" : share > 0.7 ? "bg-amber-500" : "bg-sky-500"}`} style={{ width: `${Math.round(share * 100)}%` }} />
        </div>
      )}
    </div>
  );
}

/**
 * Who is signed in (team mode) and the tokens their runs used — today against the daily budget,
 * this month — and their shared links' visitors' runs; in local mode, this browser's.
 */
export function AccountBar({ summary }: { summary: AccountSummary }) {
  const { account, usage } = summary;
  return (
    <section aria-label="Account and usage" className="mb-10 rounded-lg border border-zinc-200 px-5 py-4 dark:border-zinc-800" data-testid="account-bar">
      <div className="flex flex-wrap items-center justify-between gap-x-6 gap-y-2">
        <div className="text-sm">
          {account ? (
            <>
              Signed in as <span className="font-medium" data-testid="account-email">{account.email}</span>
              {account.role === "admin" && <span className="ml-2 rounded bg-sky-50 px-1.5 py-0.5 text-xs font-medium text-sky-700 dark:bg-sky-950 dark:text-sky-300">admin</span>}
            </>
          ) : (
            <span className="text-zinc-600 dark:text-zinc-400">Local mode: this browser is your identity.</span>
          )}
        </div>
        {account && (
          <div className="flex items-center gap-1">
            {account.role === "admin" && (
              <Link href="/team" className="rounded-md px-2.5 py-1.5 text-sm font-medium text-sky-700 hover:bg-sky-50 dark:text-sky-400 dark:hover:bg-sky-950" data-testid="team-link">
                Invitations
              </Link>
            )}
            <SignOutButtons />
          </div>
        )}
      </div>
      {usage && (
        <div className="mt-3 grid grid-cols-1 gap-x-8 gap-y-3 border-t border-zinc-100 pt-3 sm:grid-cols-3 dark:border-zinc-800">
          <Meter label="Tokens today" used={usage.today} budget={usage.dailyTokens} testId="usage-today" />
          <Meter label="Tokens this month" used={usage.month} budget={0} testId="usage-month" />
          <Meter label="Your shared links' visitors today" used={usage.sharedToday} budget={usage.sharedDailyTokens} testId="usage-shared" />
        </div>
      )}
      {account && summary.claimable > 0 && <ClaimOffer count={summary.claimable} />}
    </section>
  );
}
