import type { Metadata } from "next";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { currentAccount, isTeamMode } from "@/lib/server/identity";
import "./globals.css";

export const metadata: Metadata = {
  title: "Trellis — visual editor for LLM workflows",
  description: "Drag pattern nodes, wire them, run, and watch every node stream its own output.",
  // Shared pages and everything else: no referrer leaves for an outside site.
  referrer: "no-referrer",
};

/** Reachable without an account in team mode (proxy.ts keeps the same list for its redirect). */
const PUBLIC = [/^\/sign-(in|up)(\/|$)/, /^\/s\//, /^\/r\//];

/**
 * Every page renders per request: its CSP nonce is new each time (proxy.ts puts it in the request's
 * CSP header, where Next.js reads it for its scripts). In team mode a page other than signing in
 * and shared links needs a valid session — proxy.ts only looked for the cookie.
 */
export default async function RootLayout({ children }: { children: React.ReactNode }) {
  const path = (await headers()).get("x-trellis-path") ?? "/";
  if (isTeamMode() && !PUBLIC.some((pattern) => pattern.test(path)) && !(await currentAccount())) {
    redirect(path === "/" ? "/sign-in" : `/sign-in?next=${encodeURIComponent(path)}`);
  }
  return (
    <html lang="en">
      <body className="min-h-screen bg-white text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">{children}</body>
    </html>
  );
}
