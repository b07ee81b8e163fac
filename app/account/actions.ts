"use server";

import {
  accountSummary,
  claimLocalWorkflows,
  inviteMember,
  signOutEverywhere,
  teamOverview,
  withdrawInvite,
  type AccountSummary,
  type ActionResult,
  type InviteInfo,
  type Member,
} from "@/lib/server/auth/account";

export type { AccountSummary, InviteInfo, Member };

/** The account bar, the claim offer and the team page (invitations); each checks who asks first. */

export async function accountSummaryAction(): Promise<AccountSummary> {
  return accountSummary();
}

export async function claimLocalWorkflowsAction(): Promise<ActionResult<{ moved: number }>> {
  return claimLocalWorkflows();
}

export async function teamOverviewAction(): Promise<ActionResult<{ invites: InviteInfo[]; members: Member[] }>> {
  return teamOverview();
}

export async function inviteMemberAction(request: { email?: string }): Promise<ActionResult<{ url: string; expiresAt: string }>> {
  return inviteMember(request);
}

export async function withdrawInviteAction(request: { id: string }): Promise<ActionResult<{ id: string }>> {
  return withdrawInvite(request);
}

export async function signOutEverywhereAction(): Promise<ActionResult<{ signedOut: true }>> {
  return signOutEverywhere();
}
