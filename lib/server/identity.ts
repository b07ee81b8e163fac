import "server-only";
import { randomBytes } from "node:crypto";
import { cookies } from "next/headers";

/**
 * Identity without accounts (docs/architecture.md §8): a random, httpOnly, SameSite=Lax cookie identifies a
 * browser; the creator owns what it creates.
 */
const COOKIE = "trellis_id";
const VALID = /^[A-Za-z0-9_-]{32,64}$/;

/** The identity in a raw Cookie header (route handlers that must not depend on request scope). */
export function identityFromCookieHeader(header: string | null): string | null {
  for (const part of header?.split(";") ?? []) {
    const [name, ...value] = part.trim().split("=");
    if (name === COOKIE) {
      const id = value.join("=");
      return VALID.test(id) ? id : null;
    }
  }
  return null;
}

export async function readIdentity(): Promise<string | null> {
  const value = (await cookies()).get(COOKIE)?.value;
  return value && VALID.test(value) ? value : null;
}

/** The caller's identity, created on first use (only server actions and route handlers may set it). */
export async function ensureIdentity(): Promise<string> {
  const existing = await readIdentity();
  if (existing) return existing;
  const id = randomBytes(24).toString("base64url");
  (await cookies()).set(COOKIE, id, { httpOnly: true, sameSite: "lax", path: "/", maxAge: 60 * 60 * 24 * 365 });
  return id;
}
