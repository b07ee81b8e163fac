/** @type {import("next").NextConfig} */
const nextConfig = {
  // PGlite ships WASM that must stay a server-side dependency, not a public static asset.
  serverExternalPackages: ["@electric-sql/pglite"],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default nextConfig;
