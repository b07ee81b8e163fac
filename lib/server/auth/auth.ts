import "server-only";
import { createHash } from "node:crypto";
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { APIError } from "better-auth/api";
import { nextCookies } from "better-auth/next-js";
import { genericOAuth } from "better-auth/plugins";
import { readServerConfig, type SecurityConfig } from "../config";
import type { Db } from "../db/connect";
import { countUsers, takeClaim, useInvite } from "../db/queries";
import { authAccounts, authRateLimits, authSessions, authUsers, authVerifications } from "../db/schema";

/**
 * Accounts for team mode, by Better Auth: a maintained library does the parts that are easy to get
 * subtly wrong (password hashing with scrypt, session tokens and their revocation, OAuth state and
 * PKCE, CSRF and origin checks, rate limits), while users and sessions live in Trellis's own
 * database through its Drizzle adapter, on PGlite and PostgreSQL alike. What is Trellis's own is who
 * may sign up: the first account (which becomes the admin), holders of an invitation, and addresses
 * at the operator's allowed domains.
 */

export const hashInviteToken = (token: string) => createHash("sha256").update(token).digest("hex");

/** Attempts per client address and minute on the sign-in and sign-up endpoints. */
export const SIGN_IN_ATTEMPTS_PER_MINUTE = 5;

export class SignUpRefused extends APIError {
  constructor() {
    super("FORBIDDEN", { message: "Sign-up is by invitation only: ask an admin of this Trellis for an invitation link.", code: "INVITE_REQUIRED" });
  }
}

function domainOf(email: string): string {
  return email.slice(email.lastIndexOf("@") + 1).toLowerCase();
}

/** Whether a new account may be created, and with which role; throws SignUpRefused otherwise. */
async function admitSignUp(db: Db, security: SecurityConfig, { email, inviteToken }: { email: string; inviteToken?: string }): Promise<"admin" | "member"> {
  const address = email.toLowerCase();
  // The first account is the admin. The claim is taken once, atomically, so two first sign-ups
  // racing on an empty server cannot both become admin (the loser needs an invitation).
  if ((await countUsers(db)) === 0 && (await takeClaim(db, { key: "first-admin", value: address }))) return "admin";
  if (inviteToken && (await useInvite(db, { tokenHash: hashInviteToken(inviteToken), email: address }))) return "member";
  // GitHub, Google and OIDC sign-ups carry no token: an invitation for exactly their address.
  if (!inviteToken && (await useInvite(db, { email: address }))) return "member";
  if (security.allowedEmailDomains.includes(domainOf(address))) return "member";
  throw new SignUpRefused();
}

export function createAuth(db: Db, security: SecurityConfig) {
  if (!security.origin || !security.authSecret) throw new Error("team mode needs TRELLIS_ORIGIN and TRELLIS_AUTH_SECRET");
  const { github, google, oidc } = security;
  return betterAuth({
    appName: "Trellis",
    baseURL: security.origin,
    basePath: "/api/auth",
    secret: security.authSecret,
    trustedOrigins: [security.origin],
    telemetry: { enabled: false },
    database: drizzleAdapter(db, {
      provider: "pg",
      schema: { user: authUsers, session: authSessions, account: authAccounts, verification: authVerifications, rateLimit: authRateLimits },
    }),
    emailAndPassword: { enabled: true, minPasswordLength: 10, maxPasswordLength: 128, autoSignIn: true },
    user: { additionalFields: { role: { type: "string", input: false, defaultValue: "member", required: false } } },
    // Sessions are looked up in the database on every request (no cookie cache), so revoking one
    // (sign out, sign out everywhere, a removed account) takes effect at once.
    session: { expiresIn: 60 * 60 * 24 * 7, updateAge: 60 * 60 * 24 },
    rateLimit: {
      enabled: true,
      storage: "database",
      window: 60,
      max: 100,
      customRules: {
        "/sign-in/*": { window: 60, max: SIGN_IN_ATTEMPTS_PER_MINUTE },
        "/sign-up/*": { window: 60, max: SIGN_IN_ATTEMPTS_PER_MINUTE },
      },
    },
    advanced: {
      cookiePrefix: "trellis",
      // Secure cookies whenever the public origin is HTTPS (TLS at a reverse proxy).
      useSecureCookies: security.origin.startsWith("https:"),
      // Checked in every environment (the library skips it under NODE_ENV=test by default).
      disableOriginCheck: false,
      ipAddress: { trustedProxies: security.trustedProxies },
    },
    socialProviders: {
      ...(github ? { github: { clientId: github.clientId, clientSecret: github.clientSecret } } : {}),
      ...(google ? { google: { clientId: google.clientId, clientSecret: google.clientSecret } } : {}),
    },
    plugins: [
      ...(oidc
        ? [genericOAuth({ config: [{ providerId: "oidc", discoveryUrl: oidc.discoveryUrl, clientId: oidc.clientId, clientSecret: oidc.clientSecret, scopes: ["openid", "email", "profile"], pkce: true }] })]
        : []),
      // Lets server actions set the session cookie.
      nextCookies(),
    ],
    databaseHooks: {
      user: {
        create: {
          before: async (user, context) => {
            const body = context?.body as { inviteToken?: unknown } | undefined;
            const inviteToken = typeof body?.inviteToken === "string" && body.inviteToken.length <= 100 ? body.inviteToken : undefined;
            const role = await admitSignUp(db, security, { email: user.email, inviteToken });
            return { data: { ...user, role } };
          },
        },
      },
    },
  });
}

export type Auth = ReturnType<typeof createAuth>;

const KEY = Symbol.for("trellis.auth");
type Holder = { [KEY]?: { db: Db; auth: Auth } };
const holder = globalThis as Holder;

/** The server's auth, built once per database (route handlers, actions and pages are bundled apart). */
export function authFor(db: Db): Auth {
  const current = holder[KEY];
  if (current?.db === db) return current.auth;
  const auth = createAuth(db, readServerConfig().security);
  holder[KEY] = { db, auth };
  return auth;
}

/** Which sign-in methods this server offers besides email and password. */
export function signInProviders(security: SecurityConfig = readServerConfig().security): Array<{ id: "github" | "google" | "oidc"; label: string }> {
  return [
    ...(security.github ? [{ id: "github" as const, label: "GitHub" }] : []),
    ...(security.google ? [{ id: "google" as const, label: "Google" }] : []),
    ...(security.oidc ? [{ id: "oidc" as const, label: security.oidc.name }] : []),
  ];
}
