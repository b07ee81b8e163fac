/**
 * A document may be up to MAX_DOCUMENT_BYTES characters (lib/workflow/schema.ts); saving or running
 * it sends it to a server action, where one character can take up to 3 bytes of UTF-8, plus the
 * run's inputs. Below this, a document that imports could not be saved or run.
 * (A plain number here because next.config.js cannot import TypeScript; next-config.test.ts keeps the two in step.)
 */
const MAX_DOCUMENT_CHARACTERS = 5_000_000;
export const SERVER_ACTION_BODY_LIMIT = 3 * MAX_DOCUMENT_CHARACTERS + 1_000_000;

/**
 * Whether responses are gzipped by this server. A local-mode server answers on the loopback
 * interface only, where compressing saves no time and costs CPU on every streamed chunk of every
 * run (about a tenth of the server's CPU while runs stream); team mode, reachable by others,
 * compresses unless a proxy in front of it does (TRELLIS_COMPRESS=0). TRELLIS_COMPRESS=1 forces it.
 */
export function compressResponses(env = globalThis.process.env) {
  if (env.TRELLIS_COMPRESS === "1" || env.TRELLIS_COMPRESS === "0") return env.TRELLIS_COMPRESS === "1";
  return env.TRELLIS_MODE === "team";
}

/** @type {import("next").NextConfig} */
const nextConfig = {
  // PGlite ships WASM that must stay a server-side dependency, not a public static asset. DBOS
  // (cluster mode) keeps process-wide state: one copy from node_modules, not one per bundle.
  serverExternalPackages: ["@electric-sql/pglite", "@dbos-inc/dbos-sdk"],
  poweredByHeader: false,
  compress: compressResponses(),
  // The browser only checks gate patterns (runs execute on the server, on RE2JS): it gets a syntax
  // check with RE2's rules instead of RE2JS and its Unicode tables (lib/workflow/re2-browser.ts).
  turbopack: { resolveAlias: { re2js: { browser: "./lib/workflow/re2-browser.ts" } } },
  reactStrictMode: true,
  experimental: {
    serverActions: { bodySizeLimit: SERVER_ACTION_BODY_LIMIT },
    // proxy.ts runs before every route, so Next.js buffers each request's body for it, and past this
    // size (10 MB by default) passes the route a truncated body. One byte over the limit: the run
    // routes see a body over their limit, and refuse it as too large (lib/server/run-transport.ts).
    proxyClientMaxBodySize: SERVER_ACTION_BODY_LIMIT + 1,
  },
  // On every response, static files included (pages also get a nonce-based CSP from proxy.ts).
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "no-referrer" },
        ],
      },
    ];
  },
};

export default nextConfig;
