import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SecurityConfig } from "../config";
import { openDatabase, type Database } from "../db/connect";
import * as q from "../db/queries";
import { createAuth, hashInviteToken, SIGN_IN_ATTEMPTS_PER_MINUTE, type Auth } from "./auth";

/**
 * Team-mode accounts through Better Auth's own HTTP handler (so its origin checks and rate limits
 * apply), on Trellis's database: invite-only sign-up, the first account as admin, allowed domains,
 * sign-in, sign-out revoking the session.
 */

const ORIGIN = "http://trellis.test";
const security: SecurityConfig = {
  mode: "team",
  origin: ORIGIN,
  authSecret: "unit-test-auth-secret-0123456789abcdef",
  allowedEmailDomains: ["allowed.example"],
  trustedProxies: [],
};

let database: Database;
let auth: Auth;
let clients = 0;

beforeAll(async () => {
  database = await openDatabase({});
  auth = createAuth(database.db, security);
}, 30_000);
afterAll(async () => database?.close());

/** A browser: its own address (rate limits are per address) and cookie jar. */
function browser() {
  const address = `198.51.100.${++clients}`;
  let cookie = "";
  const call = async (path: string, body?: object, extra: Record<string, string> = {}) => {
    const response = await auth.handler(
      new Request(`${ORIGIN}/api/auth${path}`, {
        method: body ? "POST" : "GET",
        headers: { "content-type": "application/json", origin: ORIGIN, "x-forwarded-for": address, ...(cookie ? { cookie } : {}), ...extra },
        body: body ? JSON.stringify(body) : undefined,
      }),
    );
    const set = response.headers.getSetCookie().map((c) => c.split(";")[0]);
    if (set.length) cookie = set.join("; ");
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };
  return {
    call,
    signUp: (email: string, extra: object = {}) => call("/sign-up/email", { name: email.split("@")[0], email, password: "correct horse battery", ...extra }),
    signIn: (email: string, password = "correct horse battery") => call("/sign-in/email", { email, password }),
    session: () => call("/get-session"),
    get cookie() {
      return cookie;
    },
  };
}

async function invite(email?: string): Promise<string> {
  const [admin] = await q.listMembers(database.db);
  const token = `invite-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  await q.createInvite(database.db, { createdBy: admin.id, email, tokenHash: hashInviteToken(token), expiresAt: new Date(Date.now() + 60_000) });
  return token;
}

describe("team-mode accounts", () => {
  it("makes the first account the admin; later sign-ups need an invitation", async () => {
    const first = browser();
    expect((await first.signUp("ada@first.example")).status).toBe(200);
    expect((await first.session()).json).toMatchObject({ user: { email: "ada@first.example", role: "admin" } });
    // A role in the request is not an input.
    const sneaky = await browser().signUp("mallory@evil.example", { role: "admin" });
    expect(sneaky.status).toBe(403);
    expect(sneaky.json).toMatchObject({ code: "INVITE_REQUIRED" });
    expect((await q.listMembers(database.db)).map((m) => m.email)).toEqual(["ada@first.example"]);
  });

  it("signs up with an invitation once; a used, unknown or other-address invitation does not work", async () => {
    const token = await invite();
    const bob = browser();
    expect((await bob.signUp("bob@team.example", { inviteToken: token })).status).toBe(200);
    expect((await bob.session()).json).toMatchObject({ user: { email: "bob@team.example", role: "member" } });
    expect((await browser().signUp("carol@team.example", { inviteToken: token })).status).toBe(403);
    expect((await browser().signUp("carol@team.example", { inviteToken: "made-up" })).status).toBe(403);
    const forDan = await invite("dan@team.example");
    expect((await browser().signUp("erin@team.example", { inviteToken: forDan })).status).toBe(403);
    expect((await browser().signUp("dan@team.example", { inviteToken: forDan })).status).toBe(200);
  });

  it("lets addresses at an allowed domain sign up without an invitation", async () => {
    expect((await browser().signUp("frank@allowed.example")).status).toBe(200);
    expect((await browser().signUp("frank@notallowed.example")).status).toBe(403);
  });

  it("signs in and out; signing out revokes the session on the server, not only the cookie", async () => {
    const ada = browser();
    expect((await ada.signIn("ada@first.example", "wrong password!!")).status).toBe(401);
    expect((await ada.signIn("ada@first.example")).status).toBe(200);
    const cookie = ada.cookie;
    expect((await ada.session()).json).toMatchObject({ user: { email: "ada@first.example" } });
    expect((await ada.call("/sign-out", {})).status).toBe(200);
    // The old cookie, replayed, no longer opens a session.
    const replay = await auth.api.getSession({ headers: new Headers({ cookie }) });
    expect(replay).toBeNull();
    // Nor does a minted one.
    expect(await auth.api.getSession({ headers: new Headers({ cookie: "trellis.session_token=forged.value" }) })).toBeNull();
  });

  it("rate-limits sign-in attempts per client address", async () => {
    const guesser = browser();
    const statuses: number[] = [];
    for (let i = 0; i < SIGN_IN_ATTEMPTS_PER_MINUTE + 2; i++) statuses.push((await guesser.signIn("ada@first.example", `guess number ${i}`)).status);
    expect(statuses.slice(0, SIGN_IN_ATTEMPTS_PER_MINUTE).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(SIGN_IN_ATTEMPTS_PER_MINUTE)).toEqual([429, 429]);
    // Even the right password waits now; another address does not.
    expect((await guesser.signIn("ada@first.example")).status).toBe(429);
    expect((await browser().signIn("ada@first.example")).status).toBe(200);
  });

  it("refuses a sign-in posted from another origin", async () => {
    const response = await browser().call("/sign-in/email", { email: "ada@first.example", password: "correct horse battery" }, { origin: "http://attacker.example" });
    expect(response.status).toBe(403);
  });
});
