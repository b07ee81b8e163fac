"use client";

import { Check, Copy } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { inviteMemberAction, withdrawInviteAction, type InviteInfo, type Member } from "@/app/account/actions";

const day = (iso: string) => new Date(iso).toLocaleDateString("en", { day: "numeric", month: "short", year: "numeric" });

const STATUS: Record<InviteInfo["status"], string> = {
  open: "bg-sky-50 text-sky-700 dark:bg-sky-950 dark:text-sky-300",
  used: "bg-emerald-50 text-emerald-700 dark:bg-emerald-950 dark:text-emerald-300",
  revoked: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400",
  expired: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-400",
};

/** An admin's invitations: make a link (optionally for one address), see who used which, withdraw open ones. */
export function TeamPanel({ invites, members }: { invites: InviteInfo[]; members: Member[] }) {
  const router = useRouter();
  const [created, setCreated] = useState<{ url: string; expiresAt: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const email = String(new FormData(event.currentTarget).get("email") ?? "");
    setBusy(true);
    setError(null);
    const result = await inviteMemberAction({ email });
    setBusy(false);
    if (!result.ok) return setError(result.error.message);
    setCreated(result.data);
    setCopied(false);
    router.refresh();
  };

  const withdraw = async (id: string) => {
    const result = await withdrawInviteAction({ id });
    if (!result.ok) setError(result.error.message);
    router.refresh();
  };

  const copy = async () => {
    if (!created) return;
    await navigator.clipboard.writeText(created.url).catch(() => undefined);
    setCopied(true);
  };

  return (
    <div className="space-y-10">
      <section aria-labelledby="invite" className="rounded-lg border border-zinc-200 p-5 dark:border-zinc-800">
        <h2 id="invite" className="text-base font-semibold">
          Invite someone
        </h2>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          An invitation link works once and for 7 days. Bound to an address, it works only for that address — also when they sign in with GitHub, Google or single sign-on.
        </p>
        <form onSubmit={(event) => void create(event)} className="mt-4 flex flex-wrap items-end gap-3">
          <label className="min-w-64 flex-1 text-sm font-medium">
            E-mail address <span className="font-normal text-zinc-500">(optional)</span>
            <input
              name="email"
              type="email"
              maxLength={254}
              placeholder="name@example.com"
              className="mt-1 block h-10 w-full rounded-md border border-zinc-300 bg-white px-3 text-sm shadow-sm outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 dark:border-zinc-700 dark:bg-zinc-900"
              data-testid="invite-email"
            />
          </label>
          <button type="submit" disabled={busy} className="h-10 rounded-md bg-sky-600 px-4 text-sm font-medium text-white shadow-sm hover:bg-sky-700 disabled:opacity-60" data-testid="invite-create">
            Create invitation link
          </button>
        </form>
        {error && (
          <p role="alert" className="mt-3 text-sm text-red-700 dark:text-red-300">
            {error}
          </p>
        )}
        {created && (
          <div className="mt-4 rounded-md bg-zinc-50 p-3 dark:bg-zinc-900" data-testid="invite-created">
            <p className="mb-2 text-xs text-zinc-600 dark:text-zinc-400">Send this link; it is shown only now. It expires {day(created.expiresAt)}.</p>
            <div className="flex gap-2">
              <input readOnly value={created.url} onFocus={(event) => event.currentTarget.select()} className="h-9 min-w-0 flex-1 rounded-md border border-zinc-300 bg-white px-2 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-950" data-testid="invite-url" />
              <button type="button" onClick={() => void copy()} className="inline-flex h-9 items-center gap-1.5 rounded-md border border-zinc-300 px-3 text-sm hover:bg-white dark:border-zinc-700 dark:hover:bg-zinc-800">
                {copied ? <Check className="h-4 w-4" aria-hidden /> : <Copy className="h-4 w-4" aria-hidden />} {copied ? "Copied" : "Copy"}
              </button>
            </div>
          </div>
        )}
      </section>

      <section aria-labelledby="invitations">
        <h2 id="invitations" className="mb-3 text-sm font-medium uppercase tracking-wide text-zinc-500">
          Invitations
        </h2>
        {invites.length === 0 ? (
          <p className="text-sm text-zinc-500">None yet.</p>
        ) : (
          <ul className="divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
            {invites.map((invite) => (
              <li key={invite.id} className="flex flex-wrap items-center gap-3 px-4 py-2.5 text-sm" data-testid="invite-row" data-status={invite.status}>
                <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${STATUS[invite.status]}`}>{invite.status}</span>
                <span className="min-w-0 flex-1 truncate">{invite.email ?? <span className="text-zinc-500">anyone with the link</span>}</span>
                <span className="text-xs text-zinc-500">{invite.status === "used" ? `used by ${invite.usedBy}` : `created ${day(invite.createdAt)}`}</span>
                {invite.status === "open" && (
                  <button type="button" onClick={() => void withdraw(invite.id)} className="rounded px-2 py-1 text-xs font-medium text-red-700 hover:bg-red-50 dark:text-red-300 dark:hover:bg-red-950" data-testid="invite-withdraw">
                    Withdraw
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="members">
        <h2 id="members" className="mb-3 text-sm font-medium uppercase tracking-wide text-zinc-500">
          Members
        </h2>
        <ul className="divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
          {members.map((member) => (
            <li key={member.email} className="flex items-center gap-3 px-4 py-2.5 text-sm" data-testid="member-row">
              <span className="font-medium">{member.name}</span>
              <span className="min-w-0 flex-1 truncate text-zinc-600 dark:text-zinc-400">{member.email}</span>
              {member.role === "admin" && <span className="rounded bg-sky-50 px-1.5 py-0.5 text-xs font-medium text-sky-700 dark:bg-sky-950 dark:text-sky-300">admin</span>}
              <span className="text-xs text-zinc-500">since {day(member.createdAt)}</span>
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
