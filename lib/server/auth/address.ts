/**
 * The client address of a request, for per-address limits on anonymous shared-link runs. Next.js
 * fills X-Forwarded-For from the socket only when the client sent none, so the header is only as
 * trustworthy as what stands in front of the server: behind a reverse proxy that appends the
 * address it saw, list that proxy in TRELLIS_TRUSTED_PROXIES and the nearest address it did not
 * add is the client's. (SECURITY.md says so to operators.)
 */

function ipv4(value: string): number | null {
  const parts = value.split(".");
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return null;
  return parts.reduce((sum, part) => sum * 256 + Number(part), 0);
}

/** Whether `address` is one of `proxies` (addresses, or IPv4 ranges like 10.0.0.0/8). */
function isTrusted(address: string, proxies: ReadonlyArray<string>): boolean {
  const bits = ipv4(address);
  return proxies.some((proxy) => {
    const [network, prefix] = proxy.split("/");
    if (prefix === undefined || bits === null) return proxy.toLowerCase() === address.toLowerCase();
    const base = ipv4(network);
    const length = Number(prefix);
    if (base === null || !Number.isInteger(length) || length < 0 || length > 32) return false;
    const size = 2 ** (32 - length);
    return Math.floor(bits / size) === Math.floor(base / size);
  });
}

/** IPv6 clients are counted by their /64 (one household or host gets many addresses). */
function normalise(address: string): string {
  const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare.startsWith("::ffff:") && ipv4(bare.slice(7)) !== null) return bare.slice(7);
  if (!bare.includes(":")) return bare;
  const [head] = bare.split("::");
  const groups = head.split(":").filter(Boolean);
  return `${groups.slice(0, 4).join(":")}::/64`;
}

export function clientAddress(forwardedFor: string | null, trustedProxies: ReadonlyArray<string>): string | null {
  const hops = (forwardedFor ?? "")
    .split(",")
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (i > 0 && isTrusted(hops[i], trustedProxies)) continue;
    return normalise(hops[i]).slice(0, 64);
  }
  return null;
}
