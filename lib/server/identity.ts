import "server-only";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { cookies, headers } from "next/headers";
import { cache } from "react";
import { authFor } from "./auth/auth";
import { securityConfig } from "./config";
import { getDatabase } from "./db";
import { countWorkflows, settingOrCreate } from "./db/queries";

/**
 * Who is asking (DESIGN §8, §9). In *local* mode a browser is an identity: a random, signed,
 * httpOnly, SameSite=Lax cookie; the creator owns what it creates. In *team* mode an account is:
 * creating, editing and running need a signed-in session (Better Auth, `lib/server/auth`), and its
 * owner key is `user:<id>` — a form no browser identity can take. A visitor of a shared link who is
 * not signed in still gets a browser identity for the runs they start there.
 */

const COOKIE = "trellis_id";
/** A browser identity's cookie lasts a year (seconds). */
const IDENTITY_MAX_AGE = 60 * 60 * 24 * 365;
const ID = /^[A-Za-z0-9_-]{32,64}$/;
const SIGNED = /^([A-Za-z0-9_-]{32,64})\.([A-Za-z0-9_-]{43})$/;

export class SignInRequiredError extends Error {
  readonly code = "sign-in-required";
  constructor() {
    super("sign in to create, edit or run workflows on this server");
    this.name = "SignInRequiredError";
  }
}

export type Account = { userId: string; owner: string; email: string; name: string; role: "admin" | "member" };

export const isTeamMode = () => securityConfig().mode === "team";

let signingKey: Promise<string> | undefined;
/**
 * A random key the database keeps for every process sharing it. Not TRELLIS_AUTH_SECRET: a browser
 * identity made in local mode must still verify after the operator switches to team mode, so its
 * workflows can be claimed into an account.
 */
function identityKey(): Promise<string> {
  signingKey ??= getDatabase()
    .then(({ db }) => settingOrCreate(db, { key: "identity-signing-key", create: () => randomBytes(32).toString("base64url") }))
    .catch((error: unknown) => {
      signingKey = undefined;
      throw error;
    });
  return signingKey;
}

const signature = (id: string, key: string) => createHmac("sha256", key).update(`trellis-identity:${id}`).digest("base64url");

// Cookies from before identities were signed are still honoured for browsers that own something
// (a minted value owns nothing, so it is not an identity); remembered so it costs one query.
const legacyOwners = new Set<string>();

/** The browser identity a cookie value proves, or null: a forged or minted value is no identity. */
async function verifyBrowserCookie(value: string | undefined): Promise<string | null> {
  if (!value) return null;
  const signed = SIGNED.exec(value);
  if (signed) {
    const expected = Buffer.from(signature(signed[1], await identityKey()));
    const given = Buffer.from(signed[2]);
    return expected.length === given.length && timingSafeEqual(expected, given) ? signed[1] : null;
  }
  if (!ID.test(value)) return null;
  if (legacyOwners.has(value)) return value;
  const { db } = await getDatabase();
  if ((await countWorkflows(db, { owner: value })) === 0) return null;
  legacyOwners.add(value);
  return value;
}

function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

async function accountFrom(requestHeaders: Headers): Promise<Account | null> {
  const { db } = await getDatabase();
  const session = await authFor(db).api.getSession({ headers: requestHeaders });
  if (!session) return null;
  const { id, email, name } = session.user;
  const role = (session.user as { role?: unknown }).role === "admin" ? "admin" : "member";
  return { userId: id, owner: `user:${id}`, email, name, role };
}

/** The signed-in account of this request (team mode), looked up once per request. */
export const currentAccount = cache(async (): Promise<Account | null> => (isTeamMode() ? accountFrom(await headers()) : null));

/** This browser's identity, if it has a valid one (in team mode: what a claim would move). */
export async function browserIdentity(): Promise<string | null> {
  return verifyBrowserCookie((await cookies()).get(COOKIE)?.value);
}

/** The identity whose things the caller may read: the account when signed in, else the browser. */
export async function readIdentity(): Promise<string | null> {
  const account = await currentAccount();
  return account ? account.owner : browserIdentity();
}

/** The identity in a raw Cookie header (route handlers that take the header rather than request scope). */
export async function identityFromCookieHeader(header: string | null): Promise<string | null> {
  if (isTeamMode()) {
    const account = await accountFrom(new Headers(header ? { cookie: header } : {}));
    if (account) return account.owner;
  }
  return verifyBrowserCookie(cookieValue(header, COOKIE));
}

/**
 * Who sends a request that Next.js does not handle (the run listener, `scripts/serve.ts`), from its
 * headers: as ensureIdentity (`visitor: false`) or ensureVisitorIdentity (`visitor: true`). A new
 * browser identity comes with the Set-Cookie header value that stores it, for the caller's response.
 */
export async function requestIdentity(requestHeaders: Headers, { visitor }: { visitor: boolean }): Promise<{ owner: string; account: boolean; setCookie?: string }> {
  if (isTeamMode()) {
    const account = await accountFrom(requestHeaders);
    if (account) return { owner: account.owner, account: true };
    if (!visitor) throw new SignInRequiredError();
  }
  const known = await verifyBrowserCookie(cookieValue(requestHeaders.get("cookie"), COOKIE));
  if (known) return { owner: known, account: false };
  const id = randomBytes(24).toString("base64url");
  const secure = securityConfig().origin?.startsWith("https:") || requestHeaders.get("x-forwarded-proto") === "https";
  const setCookie = `${await browserIdentityCookie(id)}; Path=/; Max-Age=${IDENTITY_MAX_AGE}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
  return { owner: id, account: false, setCookie };
}

/** The Cookie header value that proves browser identity `id` (for tests and tools that act as a browser). */
export async function browserIdentityCookie(id: string): Promise<string> {
  return `${COOKIE}=${id}.${signature(id, await identityKey())}`;
}

/** Over HTTPS (the public origin, or a proxy that says so) cookies are Secure. */
async function servedOverHttps(): Promise<boolean> {
  return securityConfig().origin?.startsWith("https:") || (await headers()).get("x-forwarded-proto") === "https";
}

async function issueBrowserIdentity(): Promise<string> {
  const id = randomBytes(24).toString("base64url");
  (await cookies()).set(COOKIE, `${id}.${signature(id, await identityKey())}`, {
    httpOnly: true,
    sameSite: "lax",
    secure: await servedOverHttps(),
    path: "/",
    maxAge: IDENTITY_MAX_AGE,
  });
  return id;
}

/**
 * The identity that will own what the caller creates (only server actions and route handlers may
 * call it: it may set a cookie). In team mode that is the signed-in account, or SignInRequiredError.
 */
export async function ensureIdentity(): Promise<string> {
  if (isTeamMode()) {
    const account = await currentAccount();
    if (!account) throw new SignInRequiredError();
    return account.owner;
  }
  return (await browserIdentity()) ?? issueBrowserIdentity();
}

/** A visitor on a shared link: their account when signed in, else this browser (created on first use). */
export async function ensureVisitorIdentity(): Promise<{ owner: string; account: boolean }> {
  const account = await currentAccount();
  if (account) return { owner: account.owner, account: true };
  return { owner: (await browserIdentity()) ?? (await issueBrowserIdentity()), account: false };
}
