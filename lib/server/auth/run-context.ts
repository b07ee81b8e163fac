import "server-only";
import { headers } from "next/headers";
import { securityConfig } from "../config";
import { getDatabase, PROCESS_ID } from "../db";
import { DatabaseUnavailableError, isDatabaseUnavailable } from "../db/errors";
import { currentAccount, ensureIdentity, ensureVisitorIdentity, requestIdentity } from "../identity";
import type { RunContext } from "../runs";
import { clientAddress } from "./address";

/**
 * Who is running, for the run service: from the editor, the identity that owns what it saves (in
 * team mode a signed-in account, else SignInRequiredError); from a shared link, the visitor — an
 * account when signed in, else this browser and its client address (per-address limits).
 */

async function database() {
  return getDatabase().catch((error: unknown) => {
    throw isDatabaseUnavailable(error) ? new DatabaseUnavailableError(error) : error;
  });
}

export async function editorRunContext(): Promise<RunContext> {
  const owner = await ensureIdentity();
  const { db } = await database();
  return { owner, db, processId: PROCESS_ID, account: Boolean(await currentAccount()) };
}

export async function visitorRunContext(): Promise<RunContext> {
  const visitor = await ensureVisitorIdentity();
  const { db } = await database();
  const address = clientAddress((await headers()).get("x-forwarded-for"), securityConfig().trustedProxies);
  return { owner: visitor.owner, db, processId: PROCESS_ID, account: visitor.account, address };
}

/**
 * The same for a request Next.js does not handle (the run listener), from its headers: the editor's
 * context (`shared: false`) or a visitor's; `setCookie` stores a browser identity made for it.
 * `x-forwarded-for` is filled from the socket when the client sent none, as Next.js does.
 */
export async function requestRunContext(requestHeaders: Headers, { shared }: { shared: boolean }): Promise<{ context: RunContext; setCookie?: string }> {
  const identity = await requestIdentity(requestHeaders, { visitor: shared });
  const { db } = await database();
  const context: RunContext = { owner: identity.owner, db, processId: PROCESS_ID, account: identity.account };
  if (shared) context.address = clientAddress(requestHeaders.get("x-forwarded-for"), securityConfig().trustedProxies);
  return { context, setCookie: identity.setCookie };
}
