/**
 * The browser-facing checks every request passes (proxy.ts), written as plain functions of the
 * request's headers and the security configuration, so they are unit-tested without a server.
 *
 * - Host allowlist: loopback names in local mode, the public origin's host in team mode. A request
 *   naming any other host (DNS rebinding: attacker.example resolving to 127.0.0.1) is refused.
 * - Origin check: every state-changing request (anything but GET/HEAD/OPTIONS — server actions, the
 *   cancel beacon, sign-in) must come from this server's own origin.
 * - Security headers: a nonce-based Content-Security-Policy without inline script, remote images or
 *   frames; frame-ancestors 'none'; nosniff; no referrer.
 *
 * No "server-only" import here: proxy.ts is bundled on its own; this module reads no environment.
 */

export type GuardSettings = { mode: "local" | "team"; origin?: string };

const LOOPBACK_HOSTNAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** "127.0.0.1:3000" → "127.0.0.1"; "[::1]:3000" → "[::1]". */
export function hostnameOf(host: string): string {
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith("[")) return trimmed.slice(0, trimmed.indexOf("]") + 1);
  const colon = trimmed.lastIndexOf(":");
  return colon >= 0 ? trimmed.slice(0, colon) : trimmed;
}

/** Whether this server answers requests addressed to `host` (the Host header). */
export function isAllowedHost(host: string | null, settings: GuardSettings): boolean {
  if (!host) return false;
  if (settings.mode === "team" && settings.origin) return host.trim().toLowerCase() === new URL(settings.origin).host;
  const name = hostnameOf(host);
  return LOOPBACK_HOSTNAMES.has(name) || /^127(\.\d{1,3}){3}$/.test(name);
}

/** What a request for a host this server does not answer to is told (421), by proxy.ts and the run listener. */
export function misdirectedMessage(settings: GuardSettings): string {
  return settings.mode === "team" ? "This server answers only to its public origin (TRELLIS_ORIGIN)." : "This server answers only to loopback names (localhost, 127.0.0.1).";
}

/**
 * Whether a state-changing request comes from this server's own pages: its Origin must be the
 * public origin (team) or the origin of the (allowed) host it was sent to (local). A request
 * without an Origin header is refused — browsers send one on every POST.
 */
export function isSameOrigin(method: string, originHeader: string | null, host: string | null, settings: GuardSettings): boolean {
  if (SAFE_METHODS.has(method.toUpperCase())) return true;
  if (!originHeader || originHeader === "null") return false;
  let origin: URL;
  try {
    origin = new URL(originHeader);
  } catch {
    return false;
  }
  if (settings.mode === "team" && settings.origin) return origin.origin === new URL(settings.origin).origin;
  return Boolean(host) && origin.host === host!.trim().toLowerCase() && isAllowedHost(origin.host, settings);
}

/** A fresh nonce per response: 128 random bits. */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The Content-Security-Policy of a page: scripts only with this response's nonce (Next.js puts it
 * on its own scripts, read from the request's CSP header), no inline script, no eval outside
 * development; images, fonts and connections only to this origin (data: and blob: images for
 * exports and icons); no frames in either direction; no plugins; forms and <base> pinned here.
 * Styles allow inline attributes: React Flow positions every node with a style attribute.
 */
export function contentSecurityPolicy(nonce: string, { development = false, https = false }: { development?: boolean; https?: boolean } = {}): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "media-src 'none'",
    "object-src 'none'",
    "frame-src 'none'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(https ? ["upgrade-insecure-requests"] : []),
  ].join("; ");
}

/** Headers on every response, pages and API alike. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
});
