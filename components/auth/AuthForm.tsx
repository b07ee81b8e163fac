"use client";

import { useState, type FormEvent } from "react";

/**
 * Sign-in and sign-up against Better Auth's own endpoints (/api/auth/…), so its origin check and
 * its per-address rate limit apply; plain fetch is all four calls need. Errors come back as the
 * library's message, a 429 as the wait.
 */

export type Provider = { id: "github" | "google" | "oidc"; label: string };

type Mode = "sign-in" | "sign-up";

async function post(path: string, body: object): Promise<{ ok: boolean; status: number; message?: string; url?: string; retryAfter?: string | null }> {
  const response = await fetch(`/api/auth${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
  const json = (await response.json().catch(() => ({}))) as { message?: string; url?: string };
  return { ok: response.ok, status: response.status, message: json.message, url: json.url, retryAfter: response.headers.get("x-retry-after") };
}

/** Only a path on this server may be where sign-in leads. */
function safeNext(next: string | undefined): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

const input =
  "mt-1 block h-10 w-full rounded-md border border-zinc-300 bg-white px-3 text-sm shadow-sm outline-none focus:border-sky-500 focus:ring-2 focus:ring-sky-500/30 dark:border-zinc-700 dark:bg-zinc-900";

export function AuthForm({ mode, providers, next, invite }: { mode: Mode; providers: Provider[]; next?: string; invite?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const destination = safeNext(next);

  const explain = (answer: Awaited<ReturnType<typeof post>>) => {
    if (answer.status === 429) return `Too many attempts from this address. Try again in ${answer.retryAfter ?? "a few"} seconds.`;
    if (answer.status === 401) return "That e-mail address and password do not match.";
    return answer.message ?? "That did not work. Try again.";
  };

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email") ?? "");
    const password = String(form.get("password") ?? "");
    setBusy(true);
    setError(null);
    const answer =
      mode === "sign-in"
        ? await post("/sign-in/email", { email, password })
        : await post("/sign-up/email", { email, password, name: String(form.get("name") ?? "") || email.split("@")[0], ...(invite ? { inviteToken: invite } : {}) });
    if (answer.ok) {
      window.location.assign(destination);
      return;
    }
    setBusy(false);
    setError(explain(answer));
  };

  const social = async (provider: Provider) => {
    setBusy(true);
    setError(null);
    const answer = provider.id === "oidc" ? await post("/sign-in/oauth2", { providerId: "oidc", callbackURL: destination }) : await post("/sign-in/social", { provider: provider.id, callbackURL: destination });
    if (answer.ok && answer.url && new URL(answer.url, window.location.href).protocol === "https:") {
      window.location.assign(answer.url);
      return;
    }
    setBusy(false);
    setError(explain(answer));
  };

  return (
    <div className="space-y-5">
      <form onSubmit={(event) => void submit(event)} className="space-y-4" data-testid={`${mode}-form`}>
        {mode === "sign-up" && (
          <label className="block text-sm font-medium">
            Name
            <input name="name" autoComplete="name" maxLength={80} className={input} data-testid="auth-name" />
          </label>
        )}
        <label className="block text-sm font-medium">
          E-mail
          <input name="email" type="email" required autoComplete="email" maxLength={254} className={input} data-testid="auth-email" />
        </label>
        <label className="block text-sm font-medium">
          Password
          <input
            name="password"
            type="password"
            required
            minLength={mode === "sign-up" ? 10 : undefined}
            maxLength={128}
            autoComplete={mode === "sign-up" ? "new-password" : "current-password"}
            className={input}
            data-testid="auth-password"
          />
          {mode === "sign-up" && <span className="mt-1 block text-xs font-normal text-zinc-500">At least 10 characters.</span>}
        </label>
        {error && (
          <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-950/50 dark:text-red-300" data-testid="auth-error">
            {error}
          </p>
        )}
        <button
          type="submit"
          disabled={busy}
          className="inline-flex h-10 w-full items-center justify-center rounded-md bg-sky-600 px-4 text-sm font-medium text-white shadow-sm hover:bg-sky-700 disabled:opacity-60"
          data-testid="auth-submit"
        >
          {mode === "sign-in" ? "Sign in" : "Create account"}
        </button>
      </form>
      {providers.length > 0 && (
        <div className="space-y-2">
          <div className="flex items-center gap-3 text-xs uppercase tracking-wide text-zinc-400">
            <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" /> or <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
          </div>
          {providers.map((provider) => (
            <button
              key={provider.id}
              type="button"
              disabled={busy}
              onClick={() => void social(provider)}
              className="inline-flex h-10 w-full items-center justify-center rounded-md border border-zinc-300 bg-white px-4 text-sm font-medium hover:bg-zinc-50 disabled:opacity-60 dark:border-zinc-700 dark:bg-zinc-900 dark:hover:bg-zinc-800"
              data-testid={`auth-${provider.id}`}
            >
              Continue with {provider.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
