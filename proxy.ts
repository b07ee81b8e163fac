import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy, isAllowedHost, isSameOrigin, misdirectedMessage, newNonce, SECURITY_HEADERS, type GuardSettings } from "@/lib/server/auth/guard";
import { readServerConfig } from "@/lib/server/config";

/**
 * Runs before every route (Next.js 16's proxy, formerly middleware; Node.js runtime):
 * - refuses a request for a host this server does not answer to (DNS rebinding) and a
 *   state-changing request from another origin (CSRF, a same-site page cancelling a run);
 * - in team mode, sends a browser without a session cookie to sign in (pages then check the
 *   session itself: a cookie's presence only decides the redirect);
 * - gives each page a fresh CSP nonce, passed on in the request's CSP header, which is where
 *   Next.js reads it to put on its own scripts, and sets the security headers.
 */

let settings: GuardSettings | undefined;
const guardSettings = (): GuardSettings => {
  if (!settings) {
    const { mode, origin } = readServerConfig().security;
    settings = { mode, origin };
  }
  return settings;
};

/** Reachable without an account in team mode: signing in, shared links, run links, health checks. */
const PUBLIC = [/^\/sign-(in|up)(\/|$)/, /^\/s\//, /^\/r\//, /^\/api\/auth\//, /^\/api\/(health|ready)$/, /^\/api\/runs\//];
/** Liveness and readiness answer any Host: orchestrators probe by pod address. */
const PROBES = /^\/api\/(health|ready)$/;

function refuse(status: number, message: string): NextResponse {
  const response = new NextResponse(message, { status, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" } });
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  return response;
}

export function proxy(request: NextRequest): NextResponse {
  const guard = guardSettings();
  const { pathname } = request.nextUrl;
  const host = request.headers.get("host");
  if (!PROBES.test(pathname) && !isAllowedHost(host, guard)) {
    return refuse(421, misdirectedMessage(guard));
  }
  if (!isSameOrigin(request.method, request.headers.get("origin"), host, guard)) return refuse(403, "Cross-origin request refused.");

  if (guard.mode === "team" && request.method === "GET" && !PUBLIC.some((pattern) => pattern.test(pathname))) {
    const signedIn = request.cookies.has("trellis.session_token") || request.cookies.has("__Secure-trellis.session_token");
    if (!signedIn) {
      const signIn = new URL("/sign-in", guard.origin);
      if (pathname !== "/") signIn.searchParams.set("next", pathname);
      return NextResponse.redirect(signIn);
    }
  }

  const nonce = newNonce();
  const csp = contentSecurityPolicy(nonce, { development: process.env.NODE_ENV === "development", https: guard.origin?.startsWith("https:") });
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("content-security-policy", csp);
  // The path as the proxy saw it, for the layout's sign-in check; whatever a client sent is replaced.
  requestHeaders.set("x-trellis-path", pathname);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", csp);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
  return response;
}

export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"],
};
