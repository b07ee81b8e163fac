import { describe, expect, it } from "vitest";
import { clientAddress } from "./address";
import { contentSecurityPolicy, isAllowedHost, isSameOrigin } from "./guard";

const local = { mode: "local" as const };
const team = { mode: "team" as const, origin: "https://trellis.example.com" };

describe("request guard", () => {
  it("answers loopback names only in local mode, and only the public origin's host in team mode (DNS rebinding)", () => {
    for (const host of ["127.0.0.1:3000", "localhost:3000", "[::1]:3000", "localhost"]) expect(isAllowedHost(host, local), host).toBe(true);
    for (const host of ["attacker.example:3000", "attacker.example", "192.168.1.5:3000", "localhost.attacker.example", null]) expect(isAllowedHost(host, local), String(host)).toBe(false);
    expect(isAllowedHost("trellis.example.com", team)).toBe(true);
    expect(isAllowedHost("127.0.0.1:3000", team)).toBe(false);
    expect(isAllowedHost("attacker.example", team)).toBe(false);
  });

  it("lets a state-changing request through only from this server's own origin", () => {
    expect(isSameOrigin("GET", null, "127.0.0.1:3000", local)).toBe(true);
    expect(isSameOrigin("POST", "http://127.0.0.1:3000", "127.0.0.1:3000", local)).toBe(true);
    expect(isSameOrigin("POST", "http://localhost:3000", "127.0.0.1:3000", local)).toBe(false);
    expect(isSameOrigin("POST", "http://attacker.example", "127.0.0.1:3000", local)).toBe(false);
    // Rebinding: Host and Origin agree, but name a host this server does not answer to.
    expect(isSameOrigin("POST", "http://attacker.example:3000", "attacker.example:3000", local)).toBe(false);
    expect(isSameOrigin("POST", null, "127.0.0.1:3000", local)).toBe(false);
    expect(isSameOrigin("POST", "null", "127.0.0.1:3000", local)).toBe(false);
    expect(isSameOrigin("DELETE", "http://127.0.0.1:3001", "127.0.0.1:3000", local)).toBe(false);
    expect(isSameOrigin("POST", "https://trellis.example.com", "trellis.example.com", team)).toBe(true);
    expect(isSameOrigin("POST", "http://trellis.example.com", "trellis.example.com", team)).toBe(false);
    expect(isSameOrigin("POST", "https://evil.example.com", "trellis.example.com", team)).toBe(false);
  });

  it("builds a nonce CSP without inline script, remote images or frames", () => {
    const csp = contentSecurityPolicy("abc123");
    expect(csp).toContain("script-src 'self' 'nonce-abc123' 'strict-dynamic'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).not.toMatch(/unsafe-eval/);
    expect(csp).toContain("img-src 'self' data: blob:");
    expect(csp).toContain("frame-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(contentSecurityPolicy("n", { development: true })).toContain("'unsafe-eval'");
  });

  it("takes the client address from the nearest hop no trusted proxy added", () => {
    expect(clientAddress("203.0.113.7", [])).toBe("203.0.113.7");
    expect(clientAddress("1.2.3.4, 203.0.113.7", [])).toBe("203.0.113.7");
    expect(clientAddress("1.2.3.4, 203.0.113.7, 10.0.0.2", ["10.0.0.0/8"])).toBe("203.0.113.7");
    expect(clientAddress("spoofed, 203.0.113.7, 10.0.0.2", ["10.0.0.2"])).toBe("203.0.113.7");
    expect(clientAddress("2001:db8:1:2:3:4:5:6", [])).toBe("2001:db8:1:2::/64");
    expect(clientAddress("::ffff:198.51.100.9", [])).toBe("198.51.100.9");
    expect(clientAddress(null, [])).toBeNull();
  });
});
