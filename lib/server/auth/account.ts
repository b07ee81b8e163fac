import "server-only";
import { randomBytes } from "node:crypto";
import { headers } from "next/headers";
import { z } from "zod";
import { readServerConfig } from "../config";
import { getDatabase } from "../db";
import { claimWorkflows, countWorkflows, createInvite, listInvites, listMembers, revokeInvite, tokenUsage } from "../db/queries";
import { browserIdentity, currentAccount, isTeamMode, readIdentity, type Account } from "../identity";
import { authFor, hashInviteToken } from "./auth";

/** What the account bar, the team page and the claim offer need; the actions behind them check who asks first. */

export type ActionResult<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string } };

const NOT_ADMIN = { ok: false, error: { code: "forbidden", message: "only an admin of this Trellis can manage invitations" } } as const;
const SIGN_IN = { ok: false, error: { code: "sign-in-required", message: "sign in first" } } as const;
const INVITE_DAYS = 7;

export type Usage = { today: number; month: number; sharedToday: number; sharedMonth: number; dailyTokens: number; sharedDailyTokens: number };

export type AccountSummary = {
  mode: "local" | "team";
  account: Pick<Account, "email" | "name" | "role"> | null;
  usage: Usage | null;
  /** Workflows this browser made before signing in, which the account may take over. */
  claimable: number;
};

export async function accountSummary(): Promise<AccountSummary> {
  const mode = isTeamMode() ? "team" : "local";
  const account = await currentAccount();
  const payer = await readIdentity();
  const { db } = await getDatabase();
  const { admission } = readServerConfig();
  const usage = payer ? { ...(await tokenUsage(db, { payer })), dailyTokens: admission.dailyTokens, sharedDailyTokens: admission.sharedDailyTokens } : null;
  const browser = account ? await browserIdentity() : null;
  const claimable = browser ? await countWorkflows(db, { owner: browser }) : 0;
  return { mode, account: account && { email: account.email, name: account.name, role: account.role }, usage, claimable };
}

/** Moves the workflows this browser made (in local mode, before signing in) into the signed-in account. */
export async function claimLocalWorkflows(): Promise<ActionResult<{ moved: number }>> {
  const account = await currentAccount();
  if (!account) return SIGN_IN;
  const browser = await browserIdentity();
  if (!browser) return { ok: true, data: { moved: 0 } };
  const { db } = await getDatabase();
  return { ok: true, data: { moved: await claimWorkflows(db, { from: browser, to: account.owner }) } };
}

export type InviteInfo = { id: string; email: string | null; createdAt: string; expiresAt: string; status: "open" | "used" | "revoked" | "expired"; usedBy: string | null };
export type Member = { name: string; email: string; role: string; createdAt: string };

export async function teamOverview(): Promise<ActionResult<{ invites: InviteInfo[]; members: Member[] }>> {
  const account = await currentAccount();
  if (!account) return SIGN_IN;
  if (account.role !== "admin") return NOT_ADMIN;
  const { db } = await getDatabase();
  const now = Date.now();
  const invites = (await listInvites(db)).map((invite) => ({
    id: invite.id,
    email: invite.email,
    createdAt: invite.createdAt.toISOString(),
    expiresAt: invite.expiresAt.toISOString(),
    usedBy: invite.usedBy,
    status: invite.usedAt ? "used" : invite.revokedAt ? "revoked" : invite.expiresAt.getTime() < now ? "expired" : "open",
  })) satisfies InviteInfo[];
  const members = (await listMembers(db)).map((member) => ({ name: member.name, email: member.email, role: member.role, createdAt: member.createdAt.toISOString() }));
  return { ok: true, data: { invites, members } };
}

export const CreateInviteRequest = z.strictObject({ email: z.union([z.literal(""), z.string().trim().toLowerCase().email().max(254)]).optional() });

/** A new invitation link; the token in it is shown this once (only its hash is stored). */
export async function inviteMember(raw: unknown): Promise<ActionResult<{ url: string; expiresAt: string }>> {
  const account = await currentAccount();
  if (!account) return SIGN_IN;
  if (account.role !== "admin") return NOT_ADMIN;
  const request = CreateInviteRequest.safeParse(raw);
  if (!request.success) return { ok: false, error: { code: "invalid-request", message: "that is not an e-mail address" } };
  const token = randomBytes(24).toString("base64url");
  const expiresAt = new Date(Date.now() + INVITE_DAYS * 86_400_000);
  const { db } = await getDatabase();
  await createInvite(db, { createdBy: account.userId, email: request.data.email || undefined, tokenHash: hashInviteToken(token), expiresAt });
  const url = new URL("/sign-up", readServerConfig().security.origin);
  url.searchParams.set("invite", token);
  return { ok: true, data: { url: url.toString(), expiresAt: expiresAt.toISOString() } };
}

export async function withdrawInvite(raw: unknown): Promise<ActionResult<{ id: string }>> {
  const account = await currentAccount();
  if (!account) return SIGN_IN;
  if (account.role !== "admin") return NOT_ADMIN;
  const request = z.strictObject({ id: z.string().uuid() }).safeParse(raw);
  if (!request.success) return { ok: false, error: { code: "invalid-request", message: "no such invitation" } };
  const { db } = await getDatabase();
  return (await revokeInvite(db, { id: request.data.id })) ? { ok: true, data: request.data } : { ok: false, error: { code: "not-found", message: "this invitation is used, withdrawn or unknown" } };
}

/** Ends every session of the signed-in account (other browsers and devices too). */
export async function signOutEverywhere(): Promise<ActionResult<{ signedOut: true }>> {
  const account = await currentAccount();
  if (!account) return SIGN_IN;
  const { db } = await getDatabase();
  await authFor(db).api.revokeSessions({ headers: await headers() });
  return { ok: true, data: { signedOut: true } };
}
